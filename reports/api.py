"""REST API of reports: the OCDS release package of a round (public once awarded)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from reports import ocds, selectors


def ocds_response(request: Any, round_: Any, run: Any) -> HttpResponse:
    uri = request.build_absolute_uri(reverse("api-round-ocds", args=[round_.code]))
    document = ocds.release_package(round_=round_, run=run, uri=uri)
    response = HttpResponse(ocds.dumps(document), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{round_.code}-ocds.json"'
    return response


class RoundOcdsView(APIView):
    """The OCDS 1.1 release package of a round: public once the award is final; before
    that, only the round's own office (token or session) from the opening on."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="OCDS release package of a round",
        responses={200: OpenApiResponse(description="OCDS 1.1 release package (JSON)")},
    )
    def get(self, request: Request, code: str) -> HttpResponse:
        user = request.user if request.user.is_authenticated else None
        round_, run = selectors.round_get_for_open_data(user=user, code=code)
        return ocds_response(request, round_, run)

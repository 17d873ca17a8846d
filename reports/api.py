"""REST API of reports: the OCDS release package of a round (public once awarded)."""

from __future__ import annotations

from typing import Any

from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from reports import open_data, selectors


def ocds_response(request: Any, round_: Any, run: Any) -> HttpResponseBase:
    """The stored package, streamed (built by a task, never by this request when a
    broker is configured: ``reports.open_data``)."""
    return open_data.serve_ocds(round_, run)


class RoundOcdsView(APIView):
    """The OCDS 1.1 release package of a round: public once the award is final; before
    that, only the round's own office (token or session) from the opening on."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="OCDS release package of a round",
        responses={200: OpenApiResponse(description="OCDS 1.1 release package (JSON)")},
    )
    def get(self, request: Request, code: str) -> HttpResponseBase:
        user = request.user if request.user.is_authenticated else None
        round_, run = selectors.round_get_for_open_data(user=user, code=code)
        return ocds_response(request, round_, run)

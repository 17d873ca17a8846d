"""REST API of the award (token auth), described in the OpenAPI schema: a party's own
hospital allocations; the office starts an evaluation and reads its runs.

Every list is filtered by the same selectors as the pages: a hospital reads only its own
allocations, a manufacturer only its own, the office only the rounds it runs.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization
from awards import selectors, services
from awards.models import EvaluationRun, HospitalAllocation


class RoleIs(BasePermission):
    """Signed in for an organization of one of ``kinds`` (each endpoint's subclass)."""

    kinds: tuple[str, ...] = ()
    message = "This endpoint is not available to your organization."

    def has_permission(self, request: Request, view: Any) -> bool:
        organization = getattr(request.user, "organization", None)
        return bool(
            request.user
            and request.user.is_authenticated
            and organization is not None
            and organization.kind in self.kinds
        )


class IsParty(RoleIs):
    kinds = (Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)


class IsOffice(RoleIs):
    kinds = (Organization.Kind.OFFICE,)
    message = "This endpoint is available to the procurement office only."


# --- serializers --------------------------------------------------------------------------


class AllocationSerializer(serializers.ModelSerializer):
    round = serializers.CharField(source="run.round.code")
    item = serializers.CharField(source="round_item.item.code")
    region = serializers.CharField(source="region.code")
    hospital = serializers.CharField(source="hospital.social_credit_code")
    manufacturer = serializers.CharField(source="manufacturer.social_credit_code")
    provisional = serializers.SerializerMethodField()

    class Meta:
        model = HospitalAllocation
        fields = [
            "round",
            "item",
            "region",
            "hospital",
            "manufacturer",
            "quantity",
            "unit_price",
            "provisional",
        ]

    def get_provisional(self, obj: HospitalAllocation) -> bool:
        """True while the figures may still change (objection period, or a drug round's
        province selection not finished); one check per round of the response."""
        known: dict[int, bool] = self.context.setdefault("provisional_rounds", {})
        round_id = obj.run.round_id
        if round_id not in known:
            known[round_id] = bool(selectors.provisional_rounds(round_ids=[round_id]))
        return known[round_id]


class RunSerializer(serializers.ModelSerializer):
    round = serializers.CharField(source="round.code")
    rule_set = serializers.CharField(source="rule_set.name")

    class Meta:
        model = EvaluationRun
        fields = [
            "id",
            "round",
            "rule_set",
            "rule_set_version",
            "is_scenario",
            "is_official",
            "status",
            "progress",
            "stage",
            "input_hash",
            "solver_status",
            "total_cost",
            "same_as",
            "error",
            "requested_at",
            "finished_at",
        ]


ErrorsSerializer = inline_serializer(
    name="Errors", fields={"errors": serializers.ListField(child=serializers.CharField())}
)


# --- views --------------------------------------------------------------------------------


class AllocationListView(ListAPIView):
    """Your hospital allocations of published awards (a hospital's own, a winner's own)."""

    permission_classes = [IsParty]
    serializer_class = AllocationSerializer

    def get_queryset(self) -> QuerySet[HospitalAllocation]:
        return selectors.hospital_allocations_list_for_user(user=self.request.user)  # type: ignore[arg-type]

    def paginate_queryset(self, queryset: Any) -> list[Any] | None:
        """The page, and which of its rounds are provisional: one check for all of them
        (read by ``AllocationSerializer.get_provisional``), not one per round."""
        page = super().paginate_queryset(queryset)
        if page is not None:
            round_ids = {a.run.round_id for a in page}
            provisional = selectors.provisional_rounds(round_ids=round_ids)
            self.provisional_rounds = {pk: pk in provisional for pk in round_ids}
        return page

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        known = getattr(self, "provisional_rounds", None)
        if known is not None:
            context["provisional_rounds"] = dict(known)
        return context


class EvaluationView(APIView):
    """The office starts the official evaluation of a round (202, poll the run)."""

    permission_classes = [IsOffice]

    @extend_schema(request=None, responses={202: RunSerializer, 400: ErrorsSerializer})
    def post(self, request: Request, round_id: int) -> Response:
        round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
        try:
            run = services.evaluation_request(round_=round_, by=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            return Response({"errors": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetailView(APIView):
    permission_classes = [IsOffice]

    @extend_schema(responses=RunSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        run = selectors.run_get_for_office(user=request.user, run_id=run_id)  # type: ignore[arg-type]
        return Response(RunSerializer(run).data)

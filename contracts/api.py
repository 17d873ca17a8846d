"""REST API of contracts and their execution (token auth), described in the OpenAPI
schema.

Every list is filtered by the same selectors as the pages: a hospital reads only its own
contracts, purchases and progress; a manufacturer only its own; the office only the
rounds it runs. Money is a decimal string.
"""

from __future__ import annotations

import base64
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization, User
from accounts.signing_api import SignatureSerializer, signature_of
from awards.api import RoleIs
from common.api_schema import ERROR_SCHEMA, FIELD_ERRORS_SCHEMA
from common.uploads import RowsRefused
from contracts import selectors, services
from contracts.models import Contract, ContractLine, Purchase
from contracts.signatures import contract_signed_content, party_of


class IsAnyRole(RoleIs):
    kinds = (
        Organization.Kind.OFFICE,
        Organization.Kind.HOSPITAL,
        Organization.Kind.MANUFACTURER,
    )


class IsHospital(RoleIs):
    kinds = (Organization.Kind.HOSPITAL,)
    message = "This endpoint is available to hospitals only."


# --- serializers --------------------------------------------------------------------------


class ContractLineSerializer(serializers.Serializer):
    item = serializers.CharField(source="round_item.item.code")
    region = serializers.CharField(source="region.code")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=24, decimal_places=6)
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    term_years = serializers.IntegerField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()


class ContractSerializer(serializers.ModelSerializer):
    round = serializers.CharField(source="round.code")
    hospital = serializers.CharField(source="hospital.social_credit_code")
    manufacturer = serializers.CharField(source="manufacturer.social_credit_code")
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Contract
        fields = [
            "id",
            "number",
            "round",
            "hospital",
            "manufacturer",
            "status",
            "starts_on",
            "current_version",
            "total",
            "hospital_confirmed_at",
            "manufacturer_confirmed_at",
            "lines",
        ]

    @extend_schema(responses=ContractLineSerializer(many=True))
    def get_lines(self, contract: Contract) -> list[dict[str, Any]]:
        # Prefetched by the views (``with_current_lines``): one query for a page of contracts.
        lines = getattr(contract, "current_lines", None)
        if lines is None:
            lines = services.contract_lines(contract)
        return ContractLineSerializer(lines, many=True).data  # type: ignore[return-value]


def with_current_lines(contracts: QuerySet[Contract]) -> QuerySet[Contract]:
    """Each contract's lines of its current version, as ``contract.current_lines``, read
    in one query for all the contracts (the lines ``services.contract_lines`` returns)."""
    return contracts.prefetch_related(
        Prefetch(
            "lines",
            queryset=ContractLine.objects.filter(version=F("contract__current_version"))
            .select_related(
                "round_item__item", "region", "opened_bid__product", "opened_bid__specification"
            )
            .order_by("round_item__item__code"),
            to_attr="current_lines",
        )
    )


@extend_schema_field(
    {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "example": "2026-11"}
)
class MonthField(serializers.DateField):
    """A month as the API writes it, "2026-11" (declared so: it is not a date)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m", **kwargs)


class PurchaseSerializer(serializers.ModelSerializer):
    contract_number = serializers.CharField(source="contract.number")
    item_code = serializers.CharField(source="round_item.item.code")
    month = MonthField()

    class Meta:
        model = Purchase
        fields = ["contract_number", "item_code", "month", "quantity", "channel", "recorded_at"]


class PurchaseLineSerializer(serializers.Serializer):
    contract_number = serializers.CharField(max_length=40)
    item_code = serializers.CharField(max_length=32)
    month = serializers.CharField(max_length=10, help_text="e.g. 2027-03")
    quantity = serializers.JSONField(help_text="a whole number of smallest units, above 0")


PURCHASE_ROW_ERRORS = {
    "type": "object",
    "properties": {"errors": {"type": "array", "items": {"type": "string"}}},
    "required": ["errors"],
}


class PurchaseBatchSerializer(serializers.Serializer):
    lines = PurchaseLineSerializer(many=True, allow_empty=False)

    def validate_lines(self, value: list[Any]) -> list[Any]:
        if len(value) > MAX_LINES:
            raise serializers.ValidationError(
                f"At most {MAX_LINES} lines per request; upload a spreadsheet for more."
            )
        return value


class PurchaseOutcomeSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    changed = serializers.IntegerField()
    unchanged = serializers.IntegerField()


MAX_LINES = 10_000


class ProgressSerializer(serializers.Serializer):
    """One current line of a confirmed contract (a ``LineProgress``), in whole units."""

    contract_number = serializers.CharField()
    item = serializers.CharField(source="item.code", help_text="the item code")
    agreed = serializers.IntegerField(
        source="progress.agreed", help_text="agreed volume of the line (current version)"
    )
    bought = serializers.IntegerField(
        source="progress.bought", help_text="recorded purchases of the contract's item"
    )
    expected_by_today = serializers.IntegerField(
        source="progress.expected",
        help_text="pro-rata volume by today: agreed x days begun / days of the term, "
        "rounded half up",
    )
    beyond_agreed = serializers.IntegerField(
        source="progress.beyond_agreed", help_text="units bought beyond the agreed volume"
    )
    behind_schedule = serializers.BooleanField(
        source="progress.behind",
        help_text="at least 30 days into the term and under 80% of expected_by_today",
    )


# --- views --------------------------------------------------------------------------------


class ContractListView(ListAPIView):
    """Your contracts (the office: those of its rounds)."""

    permission_classes = [IsAnyRole]
    serializer_class = ContractSerializer

    def get_queryset(self) -> QuerySet[Contract]:
        return with_current_lines(
            selectors.contract_list_for_user(user=self.request.user).order_by("number")  # type: ignore[arg-type]
        )


class ContractDetailView(RetrieveAPIView):
    permission_classes = [IsAnyRole]
    serializer_class = ContractSerializer
    lookup_url_kwarg = "contract_id"

    def get_queryset(self) -> QuerySet[Contract]:
        return with_current_lines(selectors.contract_list_for_user(user=self.request.user))  # type: ignore[arg-type]


class PurchaseView(APIView):
    """Your purchases; a hospital records months of purchases, all lines or none."""

    permission_classes = [IsAnyRole]

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "POST":
            return [IsHospital()]
        return [IsAnyRole()]

    @extend_schema(responses=PurchaseSerializer(many=True))
    def get(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        purchases = selectors.purchase_list_for_user(user=user).order_by(
            "contract__number", "round_item__item__code", "month"
        )[:5000]
        return Response(PurchaseSerializer(purchases, many=True).data)

    @extend_schema(
        request=PurchaseBatchSerializer,
        responses={
            201: PurchaseOutcomeSerializer,
            400: OpenApiResponse(
                {"anyOf": [PURCHASE_ROW_ERRORS, ERROR_SCHEMA, FIELD_ERRORS_SCHEMA]},
                description="Nothing written: the lines' errors (``errors``, one text per "
                "row), or the request's fields (field name -> messages), or a body that "
                "is not valid JSON or over the limits (``detail``).",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        batch = PurchaseBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        try:
            outcome = services.purchases_record(
                hospital=user.organization,  # type: ignore[arg-type]
                by=user,
                lines=[services.PurchaseLine(**line) for line in batch.validated_data["lines"]],
                channel=Purchase.Channel.API,
            )
        except RowsRefused as exc:
            return Response({"errors": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {
                "created": outcome.created,
                "changed": outcome.changed,
                "unchanged": outcome.unchanged,
            },
            status=status.HTTP_201_CREATED,
        )


class ProgressView(GenericAPIView):
    """Bought against agreed and the pro-rata schedule, per current line of your confirmed
    contracts (the office: of its rounds), by contract number and item, a page at a time.

    The same aggregate queries as the progress page (``selectors.progress_line_rows``):
    what was bought is summed in the database for the lines of the page only, so a
    national round's million lines are never read into Python."""

    permission_classes = [IsAnyRole]
    serializer_class = ProgressSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "round",
                str,
                description="a round code: only the lines of that round's contracts",
            )
        ],
        responses=ProgressSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        contracts = selectors.contract_list_for_user(user=request.user).filter(  # type: ignore[arg-type]
            status=Contract.Status.CONFIRMED
        )
        if code := request.query_params.get("round", "").strip():
            contracts = contracts.filter(round__code=code)
        lines = selectors.current_lines(contracts=contracts)
        schedule = selectors.progress_schedule(lines=lines, today=timezone.localdate())
        page = self.paginate_queryset(selectors.progress_line_rows(lines=lines, schedule=schedule))
        rows = selectors.line_progress_rows(page or [])
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


# --- signed confirmations (docs/signatures.md) ----------------------------------------------


class IsParty(RoleIs):
    kinds = (Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
    message = "This endpoint is available to hospitals and manufacturers only."


class SigningContentSerializer(serializers.Serializer):
    party = serializers.CharField(help_text="hospital or manufacturer: who signs")
    version = serializers.IntegerField(help_text="The contract version the content is of.")
    content = serializers.CharField(help_text="The exact bytes to sign, base64.")
    text = serializers.CharField(help_text="The same bytes as UTF-8 text (canonical JSON).")


class ConfirmSerializer(serializers.Serializer):
    signature = SignatureSerializer(
        required=False,
        help_text="Your signature of the bytes GET .../signing-content/ gives; required "
        "when the round requires signatures.",
    )


class ContractSigningContentView(APIView):
    permission_classes = [IsParty]

    @extend_schema(
        responses=SigningContentSerializer,
        summary="The canonical content of a contract your organization signs to confirm it",
    )
    def get(self, request: Request, contract_id: int) -> Response:
        user: User = request.user  # type: ignore[assignment]
        contract = selectors.contract_get_for_user(user=user, contract_id=contract_id)
        party = party_of(contract=contract, user=user)
        assert party is not None  # the selector gives only the user's own contracts
        content = contract_signed_content(contract=contract, party=party)
        return Response(
            {
                "party": party,
                "version": contract.current_version,
                "content": base64.b64encode(content).decode("ascii"),
                "text": content.decode("utf-8"),
            }
        )


class ContractConfirmView(APIView):
    permission_classes = [IsParty]

    @extend_schema(
        request=ConfirmSerializer,
        responses={200: ContractSerializer, 400: ERROR_SCHEMA},
        summary="Confirm a contract (signed when the round requires it)",
    )
    def post(self, request: Request, contract_id: int) -> Response:
        user: User = request.user  # type: ignore[assignment]
        contract = selectors.contract_get_for_user(user=user, contract_id=contract_id)
        data = ConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.contract_confirm(
                contract=contract,
                by=user,
                signature=signature_of(data.validated_data.get("signature")),
            )
        except DjangoValidationError as exc:
            return Response(
                {"detail": " ".join(exc.messages), "code": exc.code or ""},
                status=status.HTTP_400_BAD_REQUEST,
            )
        fresh = with_current_lines(selectors.contract_list_for_user(user=user)).get(pk=contract.pk)
        return Response(ContractSerializer(fresh).data)

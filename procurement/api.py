"""REST API v1 for rounds and demand declaration (token auth; see docs/rounds-and-demand.md).

The demand endpoint calls the same service as the web table and the spreadsheet upload
(``procurement.services.demand_declare``), so the rules and messages are the same.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from accounts.models import User
from common.uploads import RowsRefused
from procurement import selectors, services
from procurement.models import DemandChange, DemandDeclaration, Round, RoundItem


class IsHospital(permissions.IsHospital):
    message = "Only hospitals declare demand."


def _round_for(request: Request, code: str) -> Round:
    try:
        return selectors.round_get_for_user(user=request.user, code=code)  # type: ignore[arg-type]
    except Round.DoesNotExist as exc:
        raise Http404 from exc


# --- serializers ---------------------------------------------------------------------------


class RoundSerializer(serializers.ModelSerializer):
    # Plain strings (values listed in the help text) rather than enums: "kind" and "status"
    # are enum names other apps' serializers use too.
    kind = serializers.CharField(read_only=True, help_text="drugs | consumables")
    status = serializers.CharField(
        read_only=True,
        help_text=" | ".join(Round.Status.values),
    )
    regions: serializers.SlugRelatedField = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="code"
    )
    rule_set: serializers.StringRelatedField = serializers.StringRelatedField()

    class Meta:
        model = Round
        fields = [
            "code",
            "name",
            "name_en",
            "kind",
            "status",
            "regions",
            "rule_set",
            "demand_opens_at",
            "demand_closes_at",
            "bid_deadline",
            "opening_at",
            "objection_ends_at",
            "contract_starts_on",
        ]


class LineSerializer(serializers.Serializer):
    """What a hospital can declare on: a specification (drugs) or a product (consumables)."""

    specification_code = serializers.CharField(allow_blank=True)
    specification_label = serializers.CharField(allow_blank=True)
    registration_number = serializers.CharField(allow_blank=True)
    model_number = serializers.CharField(allow_blank=True)
    product_name = serializers.CharField(allow_blank=True)
    max_valid_bid_price = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)


class RoundItemSerializer(serializers.Serializer):
    item_code = serializers.CharField(source="item.code")
    name = serializers.CharField(source="item.name")
    name_en = serializers.CharField(source="item.name_en")
    unit_of_count = serializers.CharField(source="item.unit_of_count")
    reference_price = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    lines = serializers.SerializerMethodField()

    @extend_schema_field(LineSerializer(many=True))
    def get_lines(self, round_item: RoundItem) -> list[dict[str, Any]]:
        ceilings = {c.specification_id: c.max_valid_bid_price for c in round_item.ceilings.all()}
        if round_item.round.kind == Round.Kind.DRUGS:
            lines = [
                {
                    "specification_code": s.code,
                    "specification_label": s.label,
                    "registration_number": "",
                    "model_number": "",
                    "product_name": "",
                    "max_valid_bid_price": ceilings.get(s.pk),
                }
                for s in round_item.item.specifications.all()
            ]
        else:
            lines = [
                {
                    "specification_code": "",
                    "specification_label": "",
                    "registration_number": p.registration_number,
                    "model_number": p.model_number,
                    "product_name": p.name,
                    "max_valid_bid_price": ceilings.get(p.specification_id),
                }
                for p in round_item.item.products.all()
            ]
        return LineSerializer(lines, many=True).data  # type: ignore[return-value]


class RoundDetailSerializer(RoundSerializer):
    items = serializers.SerializerMethodField()

    class Meta(RoundSerializer.Meta):
        fields = [*RoundSerializer.Meta.fields, "items"]

    @extend_schema_field(RoundItemSerializer(many=True))
    def get_items(self, round_: Round) -> list[dict[str, Any]]:
        round_items = round_.items.select_related("item", "round").prefetch_related(
            "item__specifications", "item__products", "ceilings"
        )
        return RoundItemSerializer(round_items, many=True).data  # type: ignore[return-value]


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}], "example": 1200}
)
class QuantityField(serializers.Field):
    """Passed through as sent: the demand service checks it (whole number > 0) and says why."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or data is None or isinstance(data, list | dict):
            raise serializers.ValidationError("Send the quantity as a whole number.")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class DemandLineSerializer(serializers.Serializer):
    item_code = serializers.CharField(max_length=32)
    specification_code = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text="Drugs: the specification code (see the round's items).",
    )
    registration_number = serializers.CharField(
        max_length=60,
        required=False,
        allow_blank=True,
        default="",
        help_text="Consumables: the product's registration certificate number.",
    )
    model_number = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="Consumables: the product's model, if it has one.",
    )
    hospital_code = serializers.CharField(
        max_length=18,
        required=False,
        allow_blank=True,
        default="",
        help_text="Optional; if sent it must be your own unified social credit code.",
    )
    quantity = QuantityField(help_text="Annual quantity in smallest units, a whole number > 0.")


MAX_API_LINES = 50_000


class DemandSubmitSerializer(serializers.Serializer):
    # minItems 1 and maxItems 50,000 in the schema, as enforced (an empty request is
    # refused: it would change nothing and is most likely a client's mistake).
    lines = serializers.ListField(
        child=DemandLineSerializer(),
        min_length=1,
        max_length=MAX_API_LINES,
        error_messages={
            "min_length": "Send at least one line.",
            "max_length": "At most {max_length} lines per request; upload a spreadsheet for more.",
            "not_a_list": "Send the lines as a list.",
        },
    )


class DemandErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="1 = the first line sent.")
    field = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class DemandResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    changed = serializers.IntegerField()
    unchanged = serializers.IntegerField()


DemandRefusedSerializer = inline_serializer(
    "DemandRefused",
    {"detail": serializers.CharField(), "errors": DemandErrorSerializer(many=True)},
)


def demand_refused(detail: str, errors: list[dict[str, Any]]) -> Response:
    """Every 400 of the demand endpoint has one shape (``DemandRefused``)."""
    return Response({"detail": detail, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)


def _line_errors(detail: Any) -> list[dict[str, Any]]:
    """DRF's nested errors of ``lines`` as ``DemandRefused`` errors (line 1 = the first)."""
    errors: list[dict[str, Any]] = []
    for field, problems in detail.items() if isinstance(detail, dict) else []:
        if field == "lines" and isinstance(problems, dict):  # {index: {field: [...]}}
            for index, fields in sorted(problems.items()):
                for name, messages in fields.items():
                    errors += [
                        {"line": int(index) + 1, "field": name, "message": str(m)}
                        for m in (messages if isinstance(messages, list) else [messages])
                    ]
        else:
            errors += [
                {"line": None, "field": field, "message": str(m)}
                for m in (problems if isinstance(problems, list) else [problems])
            ]
    return errors


class DeclarationSerializer(serializers.ModelSerializer):
    item_code = serializers.CharField(source="round_item.item.code")
    specification_code = serializers.SerializerMethodField()
    registration_number = serializers.SerializerMethodField()
    model_number = serializers.SerializerMethodField()
    hospital_code = serializers.CharField(source="hospital.social_credit_code")

    class Meta:
        model = DemandDeclaration
        fields = [
            "id",
            "hospital_code",
            "item_code",
            "specification_code",
            "registration_number",
            "model_number",
            "quantity",
            "updated_at",
        ]

    def get_specification_code(self, obj: DemandDeclaration) -> str:
        return obj.specification.code if obj.specification else ""

    def get_registration_number(self, obj: DemandDeclaration) -> str:
        return obj.product.registration_number if obj.product else ""

    def get_model_number(self, obj: DemandDeclaration) -> str:
        return obj.product.model_number if obj.product else ""


# --- views ---------------------------------------------------------------------------------


@extend_schema(tags=["rounds"], summary="Rounds you can see")
class RoundListView(ListAPIView):
    serializer_class = RoundSerializer

    def get_queryset(self) -> Any:
        return selectors.round_list_for_user(user=self.request.user)  # type: ignore[arg-type]


@extend_schema(tags=["rounds"], summary="A round with its items and the lines to declare on")
class RoundDetailView(RetrieveAPIView):
    serializer_class = RoundDetailSerializer
    lookup_field = "code"

    def get_object(self) -> Round:
        return _round_for(self.request, self.kwargs["code"])


class DemandView(GenericAPIView):
    permission_classes = [IsAuthenticated, IsHospital]
    serializer_class = DeclarationSerializer

    @extend_schema(
        tags=["demand"],
        summary="Your hospital's declarations in the round",
        responses=DeclarationSerializer(many=True),
    )
    def get(self, request: Request, code: str) -> Response:
        round_ = _round_for(request, code)
        queryset = selectors.declaration_list_for_user(user=request.user, round_=round_)  # type: ignore[arg-type]
        page = self.paginate_queryset(queryset.order_by("id"))
        return self.get_paginated_response(DeclarationSerializer(page, many=True).data)

    @extend_schema(
        tags=["demand"],
        summary="Declare or change annual quantities (all lines or none)",
        request=DemandSubmitSerializer,
        responses={
            200: DemandResultSerializer,
            400: OpenApiResponse(
                DemandRefusedSerializer,
                description="Nothing written: invalid lines (each with its line number), "
                "no line or more than 50,000, or a body that is not valid JSON or over the "
                "size limit (then ``errors`` is empty).",
            ),
            409: OpenApiResponse(
                inline_serializer("WindowClosed", {"detail": serializers.CharField()}),
                description="The demand window is not open.",
            ),
        },
        examples=[
            OpenApiExample(
                "Drug round",
                value={
                    "lines": [
                        {"item_code": "D-ATV-OS", "specification_code": "20MG", "quantity": 120000},
                        {"item_code": "D-CLO-OS", "specification_code": "75MG", "quantity": 36000},
                    ]
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, code: str) -> Response:
        try:
            data = request.data
        except ParseError as exc:  # malformed JSON, a body or nesting over the limits
            return demand_refused(str(exc.detail), [])
        round_ = _round_for(request, code)
        serializer = DemandSubmitSerializer(data=data)
        if not serializer.is_valid():
            errors = _line_errors(serializer.errors)
            if len(errors) == 1 and errors[0]["line"] is None:
                return demand_refused(errors[0]["message"], errors)
            return demand_refused("Some lines are invalid; nothing was written.", errors)
        user: User = request.user  # type: ignore[assignment]
        lines = [services.DemandLine(**line) for line in serializer.validated_data["lines"]]
        try:
            outcome = services.demand_declare(
                hospital=user.organization,  # type: ignore[arg-type]
                round_=round_,
                lines=lines,
                channel=DemandChange.Channel.API,
                by=user,
            )
        except RowsRefused as exc:
            return demand_refused(
                "Some lines are invalid; nothing was written.",
                [{"line": e.row, "field": e.column, "message": e.message} for e in exc.row_errors],
            )
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(
            {"created": outcome.created, "changed": outcome.changed, "unchanged": outcome.unchanged}
        )


class DemandLineView(APIView):
    permission_classes = [IsAuthenticated, IsHospital]

    @extend_schema(
        tags=["demand"],
        summary="Remove one of your lines (its history is kept)",
        responses={204: None, 409: OpenApiTypes.OBJECT},
    )
    def delete(self, request: Request, code: str, pk: int) -> Response:
        round_ = _round_for(request, code)
        user: User = request.user  # type: ignore[assignment]
        if not DemandDeclaration.objects.filter(
            pk=pk, hospital=user.organization, round_item__round=round_
        ).exists():
            raise Http404
        try:
            services.demand_remove(
                hospital=user.organization,  # type: ignore[arg-type]
                round_=round_,
                declaration_id=pk,
                channel=DemandChange.Channel.API,
                by=user,
            )
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)

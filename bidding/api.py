"""REST API of sealed bidding (token auth), described in the OpenAPI schema.

Changes need an ``Idempotency-Key`` header: a retried request with the same key returns
the first answer (the same receipt) and never creates a second bid or version.
Listing never decrypts; a bidder reads its own terms through the receipt endpoint, which
is audited like the page.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import IsManufacturer
from accounts.signing_api import SignatureSerializer, signature_of
from bidding import selectors
from bidding.models import Bid, DecryptionAudit, OpenedBid
from bidding.services import BidReceipt, bid_revise, bid_submit, bid_version_receipt, bid_withdraw
from bidding.services.statements import bid_target
from catalog.models import Product, Specification
from common.api import PriceField, WholeNumberField
from procurement.models import Ceiling, RoundItem

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "A unique key per logical submission (e.g. a UUID). Repeating a request with the "
        "same key returns the first receipt; reusing it for a different request is refused."
    ),
)


# --- serializers --------------------------------------------------------------------------


class BidSerializer(serializers.ModelSerializer):
    """A bid without its terms (they are sealed)."""

    round = serializers.CharField(source="round.code")
    item = serializers.CharField(source="round_item.item.code")
    specification = serializers.CharField(source="specification.code")
    current_receipt_hash = serializers.SerializerMethodField()

    class Meta:
        model = Bid
        fields = [
            "id",
            "round",
            "item",
            "specification",
            "lineage_product",
            "status",
            "current_version",
            "created_at",
            "updated_at",
            "locked_at",
            "current_receipt_hash",
        ]

    def get_current_receipt_hash(self, bid: Bid) -> str:
        return selectors.bid_current_version(bid).receipt_hash


class BidSubmitSerializer(serializers.Serializer):
    round = serializers.CharField(help_text="Round code, e.g. DEMO-2026-D1.")
    item = serializers.CharField(help_text="Procurement item code.")
    specification = serializers.CharField(help_text="Specification code within the item.")
    product = serializers.IntegerField(help_text="Id of your own eligible product.")
    # The one number policy of common.numbers (as the demand and purchases APIs).
    unit_price = PriceField(help_text="Yuan per unit of count, up to 4 decimals.")
    annual_capacity = WholeNumberField(minimum=0, help_text="Units per year.")
    signature = SignatureSerializer(
        required=False,
        help_text="Your signature of the bid's canonical content for the version it becomes (1 "
        "for a new bid; current_version + 1 when bidding again after withdrawing) "
        "(docs/signatures.md); required when the round requires signatures.",
    )


class BidReviseSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    unit_price = PriceField()
    annual_capacity = WholeNumberField(minimum=0)
    signature = SignatureSerializer(
        required=False,
        help_text="Your signature of the canonical content of the new version (the bid's "
        "current_version + 1); required when the round requires signatures.",
    )


class ReceiptContentSerializer(serializers.Serializer):
    round = serializers.CharField()
    item = serializers.CharField()
    specification = serializers.CharField()
    manufacturer = serializers.CharField()
    product = serializers.CharField(allow_null=True)
    bid = serializers.IntegerField()
    version = serializers.IntegerField()
    action = serializers.CharField()
    unit_price = serializers.CharField(allow_null=True)
    annual_capacity = serializers.CharField(allow_null=True)


class ReceiptLogSerializer(serializers.Serializer):
    """The version's entry in the round's bid log and the log head right after it
    (docs/sealed-bidding.md, "Bid log"); not covered by the receipt hash."""

    format = serializers.CharField()
    position = serializers.IntegerField()
    ciphertext_sha256 = serializers.CharField()
    previous_root = serializers.CharField()
    leaf_hash = serializers.CharField()
    tree_size = serializers.IntegerField()
    # The metaclass takes declared fields off the class: this does not shadow Field.root.
    root = serializers.CharField()  # type: ignore[assignment]


class ReceiptSignatureSerializer(serializers.Serializer):
    """A signed version's signature on its receipt (covered by the receipt hash)."""

    key = serializers.CharField(help_text="SHA-256 fingerprint of the signing key.")
    sha256 = serializers.CharField(help_text="SHA-256 of the signature bytes.")


class ReceiptSerializer(serializers.Serializer):
    """The receipt document; ``hash`` is SHA-256 over the canonical JSON of the rest
    except ``log`` (the bid log section, absent on versions sealed before the log)."""

    format = serializers.CharField()
    content = ReceiptContentSerializer()
    server_time = serializers.CharField()
    salt = serializers.CharField(help_text='"sealed" when the platform cannot show it')
    hash = serializers.CharField()
    log = ReceiptLogSerializer(required=False)
    sealed = serializers.BooleanField(
        required=False,
        help_text="Present on the platform's record of a stored version: true before the "
        'opening (price, capacity and salt read "sealed"), false after it.',
    )
    ciphertext_sha256 = serializers.CharField(required=False)
    signature = ReceiptSignatureSerializer(required=False)


class SubmitResponseSerializer(serializers.Serializer):
    bid = serializers.IntegerField()
    version = serializers.IntegerField()
    receipt_id = serializers.IntegerField()
    receipt = ReceiptSerializer()
    warnings = serializers.ListField(child=serializers.CharField())
    replayed = serializers.BooleanField()


class OpenedBidSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="round_item.item.code")
    specification = serializers.CharField(source="specification.code")
    manufacturer = serializers.CharField(source="manufacturer.name")
    manufacturer_code = serializers.CharField(source="manufacturer.social_credit_code")
    product = serializers.CharField(source="product.name", allow_null=True, default=None)

    class Meta:
        model = OpenedBid
        fields = [
            "item",
            "specification",
            "manufacturer",
            "manufacturer_code",
            "product",
            "unit_price",
            "unit_comparable_price",
            "max_valid_bid_price",
            "validity",
            "reasons",
            "receipt_hash",
            "signature",
            "signature_key",
        ]


class OpeningSerializer(serializers.Serializer):
    round = serializers.CharField()
    opened_at = serializers.DateTimeField()
    bid_count = serializers.IntegerField()
    valid_count = serializers.IntegerField()
    tampered_count = serializers.IntegerField()
    bids = OpenedBidSerializer(many=True)


# --- helpers ------------------------------------------------------------------------------


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # IsManufacturer refused anyone else
    return user


def _idempotency_key(request: Request) -> str:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 100:
        raise serializers.ValidationError(
            {"Idempotency-Key": ["Send an Idempotency-Key header (1 to 100 characters)."]}
        )
    return key


def _answer(receipt: BidReceipt) -> Response:
    body = {
        "bid": receipt.version.bid_id,
        "version": receipt.version.number,
        "receipt_id": receipt.version.pk,
        "receipt": receipt.document,
        "warnings": receipt.warnings,
        "replayed": receipt.replayed,
    }
    return Response(
        body, status=status.HTTP_200_OK if receipt.replayed else status.HTTP_201_CREATED
    )


def _refusal(exc: ValidationError) -> Response:
    code = getattr(exc, "code", None) or ""
    if hasattr(exc, "error_dict"):
        return Response(
            {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()},
            status=status.HTTP_400_BAD_REQUEST,
        )
    http = {
        "deadline": status.HTTP_409_CONFLICT,
        "not_open": status.HTTP_409_CONFLICT,
        "idempotency_conflict": status.HTTP_422_UNPROCESSABLE_ENTITY,
        "already_submitted": status.HTTP_409_CONFLICT,
    }.get(code, status.HTTP_400_BAD_REQUEST)
    return Response({"detail": " ".join(str(m) for m in exc.messages), "code": code}, status=http)


def _own_product(request: Request, product_id: int) -> Product:
    product = Product.objects.filter(
        pk=product_id,
        manufacturer=request.user.organization,  # type: ignore[union-attr]
    ).first()
    if product is None:
        raise serializers.ValidationError({"product": ["No such product of your organization."]})
    return product


def _bid_target(
    request: Request, v: dict[str, Any]
) -> tuple[RoundItem, Specification, Product, Ceiling | None]:
    """What a new bid names: in one statement when everything matches (the usual case),
    else each looked up on its own for a precise refusal (the service refuses a product of
    another specification, or a specification the round does not procure)."""
    user = _user(request)
    assert user.organization is not None
    target = bid_target(
        round_code=v["round"],
        item_code=v["item"],
        specification_code=v["specification"],
        product_id=v["product"],
        manufacturer_id=user.organization.pk,
    )
    if target is not None:
        return target.round_item, target.specification, target.product, target.ceiling
    round_item = (
        RoundItem.objects.select_related("round", "item")
        .filter(round__code=v["round"], item__code=v["item"])
        .first()
    )
    if round_item is None:
        raise Http404("no such round item")
    specification = Specification.objects.filter(
        item=round_item.item, code=v["specification"]
    ).first()
    if specification is None:
        raise serializers.ValidationError({"specification": ["No such specification."]})
    return round_item, specification, _own_product(request, v["product"]), None


# --- views --------------------------------------------------------------------------------


@method_decorator(sensitive_post_parameters(), name="dispatch")
class BidListCreateView(ListAPIView):
    """Your organization's bids (no terms: they are sealed) and new submissions."""

    permission_classes = [IsManufacturer]
    serializer_class = BidSerializer

    def get_queryset(self) -> Any:
        return selectors.bid_list_for_user(user=self.request.user)

    @extend_schema(
        request=BidSubmitSerializer,
        responses={201: SubmitResponseSerializer, 200: SubmitResponseSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Submit a sealed bid",
    )
    def post(self, request: Request) -> Response:
        key = _idempotency_key(request)
        data = BidSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        round_item, specification, product, ceiling = _bid_target(request, v)
        try:
            receipt = bid_submit(
                round_item=round_item,
                specification=specification,
                product=product,
                unit_price=v["unit_price"],
                annual_capacity=v["annual_capacity"],
                by=_user(request),
                idempotency_key=key,
                ceiling=ceiling,
                signature=signature_of(v.get("signature")),
            )
        except ValidationError as exc:
            return _refusal(exc)
        return _answer(receipt)


class BidDetailView(APIView):
    permission_classes = [IsManufacturer]

    @extend_schema(responses=BidSerializer, summary="One of your bids (no terms)")
    def get(self, request: Request, bid_id: int) -> Response:
        bid = selectors.bid_get_for_user(user=request.user, bid_id=bid_id)
        return Response(BidSerializer(bid).data)


@method_decorator(sensitive_post_parameters(), name="dispatch")
class BidReviseView(APIView):
    permission_classes = [IsManufacturer]

    @extend_schema(
        request=BidReviseSerializer,
        responses={201: SubmitResponseSerializer, 200: SubmitResponseSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Revise a bid (a new sealed version; the latest counts)",
    )
    def post(self, request: Request, bid_id: int) -> Response:
        key = _idempotency_key(request)
        bid = selectors.bid_get_for_user(user=request.user, bid_id=bid_id)
        data = BidReviseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        product = _own_product(request, v["product"])
        try:
            receipt = bid_revise(
                bid=bid,
                product=product,
                unit_price=v["unit_price"],
                annual_capacity=v["annual_capacity"],
                by=_user(request),
                idempotency_key=key,
                signature=signature_of(v.get("signature")),
            )
        except ValidationError as exc:
            return _refusal(exc)
        return _answer(receipt)


class BidWithdrawView(APIView):
    permission_classes = [IsManufacturer]

    @extend_schema(
        request=None,
        responses={201: SubmitResponseSerializer, 200: SubmitResponseSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        summary="Withdraw a bid before the deadline",
    )
    def post(self, request: Request, bid_id: int) -> Response:
        key = _idempotency_key(request)
        bid = selectors.bid_get_for_user(user=request.user, bid_id=bid_id)
        try:
            receipt = bid_withdraw(bid=bid, by=_user(request), idempotency_key=key)
        except ValidationError as exc:
            return _refusal(exc)
        return _answer(receipt)


class ReceiptView(APIView):
    permission_classes = [IsManufacturer]

    @extend_schema(
        responses=ReceiptSerializer,
        summary="The platform's record of one of your bid versions' receipt (sealed "
        "before the opening; the full receipt is the one returned at submission)",
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = selectors.bid_version_get_for_user(user=request.user, version_id=version_id)
        document = bid_version_receipt(
            version=version,
            by=_user(request),
            purpose=DecryptionAudit.Purpose.RECEIPT,
        )
        return Response(document)


class OpeningView(APIView):
    """The public opening record of a round; 404 until its bids are opened."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        responses=OpeningSerializer,
        summary="Public opening record of a round",
        examples=[],
    )
    def get(self, request: Request, code: str) -> Response:
        round_ = selectors.round_get_by_code(code=code)
        record = selectors.opening_record(round_=round_)
        if record is None:
            raise Http404("not opened yet")
        return Response(
            OpeningSerializer(
                {
                    "round": round_.code,
                    "opened_at": record.opening.opened_at,
                    "bid_count": record.opening.bid_count,
                    "valid_count": record.opening.valid_count,
                    "tampered_count": record.opening.tampered_count,
                    "bids": list(record.all_bids()),
                }
            ).data
        )


__all__ = [
    "BidDetailView",
    "BidListCreateView",
    "BidReviseView",
    "BidWithdrawView",
    "OpeningView",
    "ReceiptView",
]

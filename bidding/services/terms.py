"""What a bid says and the checks on it: the terms, a sheet's line, the receipt handed
back; who may bid with which product; price and capacity rules and warnings.

No price and no capacity appear in any exception message or log line here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import Organization, User
from accounts.signing import SignatureInput
from bidding import sealing
from bidding.models import BidVersion
from catalog.models import Product, ProductKind, Specification
from procurement.models import Ceiling, RoundItem


def server_time_text(moment: datetime.datetime) -> str:
    """The receipt's server timestamp: ISO 8601 in UTC with microseconds."""
    return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def product_code(product: Product | None) -> str | None:
    """The public identifier of a product on a receipt (approval or registration number)."""
    if product is None:
        return None
    if product.kind == ProductKind.DRUG:
        return product.approval_number
    return f"{product.registration_number} {product.model_number}".strip()


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BidTerms:
    """Decrypted terms of one bid version (only ever handed to the bidder, or after opening)."""

    product: Product | None
    unit_price: Decimal | None
    annual_capacity: int | None


@dataclass
class BidReceipt:
    """What a bidder gets back for one version: the receipt document and any warnings."""

    version: BidVersion
    document: dict[str, object]
    warnings: list[str] = field(default_factory=list)
    replayed: bool = False

    @property
    def hash(self) -> str:
        return self.version.receipt_hash


@dataclass(frozen=True)
class BidLine:
    """One line of a bid sheet: what to seal for one specification (or product)."""

    round_item: RoundItem
    specification: Specification
    product: Product
    unit_price: Decimal
    annual_capacity: int
    # The specification's ceiling in the round, when the caller read it already (the API
    # reads it with the round item, specification and product in one statement).
    ceiling: Ceiling | None = None
    signature: SignatureInput | None = None  # bidding.signatures (docs/signatures.md)


def _manufacturer_of(by: User) -> Organization:
    organization = by.organization
    if organization is None or organization.kind != Organization.Kind.MANUFACTURER:
        raise ValidationError(_("Only a manufacturer can bid."), code="not_manufacturer")
    return organization


def _ceiling_for(
    *, round_item: RoundItem, specification: Specification, known: Ceiling | None = None
) -> Ceiling:
    if specification.item_id != round_item.item_id:
        raise ValidationError(
            _("Specification %(spec)s does not belong to item %(item)s.")
            % {"spec": specification.code, "item": round_item.item.code},
            code="wrong_specification",
        )
    if (
        known is not None
        and known.round_item_id == round_item.pk
        and known.specification_id == specification.pk
    ):
        return known
    ceiling = Ceiling.objects.filter(round_item=round_item, specification=specification).first()
    if ceiling is None:
        raise ValidationError(
            _("Specification %(spec)s is not procured in this round.")
            % {"spec": specification.code},
            code="specification_not_procured",
        )
    return ceiling


def _check_product(
    *, product: Product, manufacturer: Organization, round_item: RoundItem, spec: Specification
) -> None:
    if product.manufacturer_id != manufacturer.pk:
        raise ValidationError(
            _("You can only bid with your own organization's products."), code="foreign_product"
        )
    if product.item_id != round_item.item_id or product.specification_id != spec.pk:
        raise ValidationError(
            _("Product %(product)s is not registered under item %(item)s, specification %(spec)s.")
            % {
                "product": product.display_name,
                "item": round_item.item.code,
                "spec": spec.code,
            },
            code="product_mismatch",
        )
    if not product.is_eligible:
        raise ValidationError(
            _(
                "Product %(product)s is not eligible: a drug must be the originator or have "
                "passed the consistency evaluation."
            )
            % {"product": product.display_name},
            code="ineligible_product",
        )


@sensitive_variables()  # no price in a traceback's local variables
def bid_terms_validate(*, unit_price: Decimal, annual_capacity: int) -> None:
    """Check a price and a capacity; the messages never repeat the values."""
    errors: dict[str, str] = {}
    if not isinstance(unit_price, Decimal) or not unit_price.is_finite():
        errors["unit_price"] = _("Enter the unit price in yuan.")
    elif unit_price <= 0:
        errors["unit_price"] = _("The unit price must be greater than zero.")
    elif unit_price != unit_price.quantize(sealing.PRICE_QUANTUM):
        errors["unit_price"] = _("The unit price can have at most 4 decimal places.")
    elif unit_price > sealing.MAX_PRICE:
        errors["unit_price"] = _("The unit price is too large.")
    if isinstance(annual_capacity, bool) or not isinstance(annual_capacity, int):
        errors["annual_capacity"] = _("Enter the annual supply capacity as a whole number.")
    elif annual_capacity < 0 or annual_capacity > sealing.MAX_CAPACITY:
        errors["annual_capacity"] = _(
            "The annual supply capacity must be a whole number between 0 and 10^15."
        )
    if errors:
        raise ValidationError(errors)


@sensitive_variables()  # no price in a traceback's local variables
def bid_warnings(*, ceiling: Ceiling, unit_price: Decimal, annual_capacity: int) -> list[str]:
    """Warnings shown to the bidder before sealing; the bid is still accepted."""
    warnings = []
    if unit_price > ceiling.max_valid_bid_price:
        warnings.append(
            _(
                "The unit price is above the maximum valid bid price of specification "
                "%(spec)s: the bid will be accepted but judged invalid at the opening."
            )
            % {"spec": ceiling.specification.label}
        )
    if annual_capacity == 0:
        warnings.append(
            _(
                "No annual supply capacity is declared for specification %(spec)s: the bid "
                "will be judged invalid at the opening."
            )
            % {"spec": ceiling.specification.label}
        )
    return warnings

"""State changes of sealed bidding: submit, revise, withdraw, decrypt (audited), open.

Concurrency and the deadline
----------------------------
Every bid change first takes the round row in share mode (``SELECT ... FOR SHARE`` on
PostgreSQL), then, for an existing bid, the bid row ``FOR UPDATE``: always in that order,
so services cannot deadlock, and bidders do not queue behind one another. The deadline
sweep (``procurement.services.round_deadline_check``) and the opening change that round
row (an ``UPDATE``, and ``FOR UPDATE`` for the opening), which conflicts with the share
lock: they wait for every bid transaction in flight, and a bid transaction arriving after
them waits, then reads the new status and is refused.

The deadline is judged by the server's clock inside the transaction, twice: once after
the lock is taken, and again as the very last statement before the commit. A bid whose
transaction reaches its commit after ``bid_deadline`` is rolled back and refused, even if
its form was opened (or its request started) before the deadline.

No price and no capacity appear in any exception message or log line here.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import Organization, User
from bidding import sealing
from bidding.keys import round_key_ensure, round_key_get
from bidding.models import Bid, BidVersion, DecryptionAudit, OpenedBid, Opening
from catalog.comparable_price import ComparablePriceCoefficients, unit_comparable_price
from catalog.models import Product, ProductKind, Specification
from procurement.models import Ceiling, Round, RoundItem
from procurement.services import round_advance, round_close_bidding

logger = logging.getLogger(__name__)

S = Round.Status
_T = TypeVar("_T")


def _now() -> datetime.datetime:
    """The server's clock, as the deadline checks read it (one place, so tests can step it)."""
    return timezone.now()


def _when(moment: datetime.datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i:s")


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


# --- checks -------------------------------------------------------------------------------


def _deadline_message(round_: Round) -> str:
    return _(
        "Bidding for round %(code)s closed at %(when)s (server time); this bid was not accepted."
    ) % {"code": round_.code, "when": _when(round_.bid_deadline)}


def _require_bidding_open(round_: Round) -> None:
    if round_.status != S.BIDDING_OPEN:
        if round_.status not in {S.DRAFT, S.DEMAND_OPEN, S.DEMAND_CLOSED, S.CANCELLED}:
            raise ValidationError(_deadline_message(round_), code="deadline")
        raise ValidationError(
            _("Round %(code)s is not open for bidding (%(status)s).")
            % {"code": round_.code, "status": round_.get_status_display()},
            code="not_open",
        )
    if _now() >= round_.bid_deadline:
        raise ValidationError(_deadline_message(round_), code="deadline")


def _lock_round(round_id: int, *, exclusive: bool = False) -> Round:
    """Lock the round row that orders every bid change against the deadline.

    Bid transactions take it in share mode (``FOR SHARE`` on PostgreSQL), so bidders do
    not wait for one another, while the deadline sweep's and the opening's ``UPDATE`` of
    the row (and the opening's ``FOR UPDATE``, ``exclusive``) wait for every bid
    transaction in flight, and bid transactions arriving later wait for them and then
    read the new status. SQLite has no row locks; it serializes writers anyway.
    """
    rounds = Round.objects.select_related("rule_set")
    if exclusive or connection.vendor != "postgresql":
        return rounds.select_for_update(of=("self",)).get(pk=round_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {connection.ops.quote_name(Round._meta.db_table)} "  # noqa: S608
            "WHERE id = %s FOR SHARE",
            [round_id],
        )
    return rounds.get(pk=round_id)


def _manufacturer_of(by: User) -> Organization:
    organization = by.organization
    if organization is None or organization.kind != Organization.Kind.MANUFACTURER:
        raise ValidationError(_("Only a manufacturer can bid."), code="not_manufacturer")
    return organization


def _ceiling_for(*, round_item: RoundItem, specification: Specification) -> Ceiling:
    if specification.item_id != round_item.item_id:
        raise ValidationError(
            _("Specification %(spec)s does not belong to item %(item)s.")
            % {"spec": specification.code, "item": round_item.item.code},
            code="wrong_specification",
        )
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


# --- identity, sealing, receipts ----------------------------------------------------------


def _identity(
    *, bid: Bid, number: int, action: str, product: Product | None
) -> sealing.BidIdentity:
    round_ = bid.round
    return sealing.BidIdentity(
        round_code=round_.code,
        round_id=round_.pk,
        bid_id=bid.pk,
        version=number,
        manufacturer_id=bid.manufacturer_id,
        manufacturer_code=bid.manufacturer.social_credit_code,
        item_code=bid.round_item.item.code,
        specification_code=bid.specification.code,
        product_id=product.pk if product is not None else None,
        product_code=product_code(product),
        action=action,
    )


def _version_identity(version: BidVersion) -> sealing.BidIdentity:
    return _identity(
        bid=version.bid, number=version.number, action=version.action, product=version.product
    )


@sensitive_variables()  # no price in a traceback's local variables
def _receipt_document(
    *, identity: sealing.BidIdentity, terms: sealing.SealedTerms, server_time: datetime.datetime
) -> dict[str, object]:
    document: dict[str, object] = dict(
        sealing.receipt_document(
            identity=identity, terms=terms, server_time=server_time_text(server_time)
        )
    )
    document["hash"] = sealing.receipt_hash(document)  # type: ignore[arg-type]
    return document


@sensitive_variables()  # no price in a traceback's local variables
def _write_version(
    *,
    round_: Round,
    bid: Bid,
    action: str,
    product: Product | None,
    unit_price: Decimal | None,
    annual_capacity: int | None,
    by: User,
    idempotency_key: str,
) -> BidReceipt:
    """Seal and store one version of ``bid``; the caller holds the round and bid locks."""
    data_key = round_key_ensure(round_=round_)
    number = (
        BidVersion.objects.filter(bid=bid).order_by("-number").values_list("number", flat=True)
    ).first() or 0
    number += 1
    identity = _identity(bid=bid, number=number, action=action, product=product)
    terms = sealing.SealedTerms(
        unit_price=unit_price, annual_capacity=annual_capacity, salt=sealing.new_salt()
    )
    sealed = sealing.seal(terms=terms, identity=identity, data_key=data_key)
    server_time = timezone.now()
    document = _receipt_document(identity=identity, terms=terms, server_time=server_time)
    version = BidVersion.objects.create(
        bid=bid,
        number=number,
        action=action,
        product=product,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        receipt_hash=str(document["hash"]),
        server_time=server_time,
        submitted_by=by,
        idempotency_key=idempotency_key,
        manufacturer=bid.manufacturer,
    )
    bid.current_version = number
    bid.status = Bid.Status.WITHDRAWN if action == BidVersion.Action.WITHDRAW else Bid.Status.ACTIVE
    bid.save(update_fields=["current_version", "status", "updated_at"])
    logger.info(
        "bid %s version %s %s by user %s (round %s)", bid.pk, number, action, by.pk, round_.code
    )
    return BidReceipt(version=version, document=document)


@sensitive_variables()  # no price in a traceback's local variables
def _decrypt(
    *, version: BidVersion, data_key: bytes, by: User | None, purpose: str, note: str = ""
) -> sealing.SealedTerms:
    """Decrypt one version, recording the access first (the record stays if it fails)."""
    DecryptionAudit.objects.create(
        by=by,
        organization=getattr(by, "organization", None),
        bid_version=version,
        purpose=purpose,
        note=note,
    )
    return sealing.unseal(
        sealed=sealing.Sealed(nonce=bytes(version.nonce), ciphertext=bytes(version.ciphertext)),
        identity=_version_identity(version),
        data_key=data_key,
    )


@sensitive_variables()  # no price in a traceback's local variables
def _replay(
    *,
    manufacturer: Organization,
    idempotency_key: str,
    by: User,
    bid: Bid | None,
    round_item: RoundItem | None,
    specification: Specification | None,
    action: str,
    product: Product | None,
    unit_price: Decimal | None,
    annual_capacity: int | None,
) -> BidReceipt | None:
    """The stored answer to a repeated request with the same Idempotency-Key, if any.

    The stored version is decrypted (audited) and compared with the repeated request: the
    same request gets the original receipt, a different one with the same key is refused.
    """
    if not idempotency_key:
        return None
    version = (
        BidVersion.objects.select_related(
            "bid__round", "bid__round_item__item", "bid__specification", "bid__manufacturer"
        )
        .filter(manufacturer=manufacturer, idempotency_key=idempotency_key)
        .first()
    )
    if version is None:
        return None
    data_key = round_key_get(round_=version.bid.round)
    assert data_key is not None  # a stored version implies its round key
    terms = _decrypt(
        version=version, data_key=data_key, by=by, purpose=DecryptionAudit.Purpose.IDEMPOTENT_REPLAY
    )
    same_target = (bid is not None and version.bid_id == bid.pk) or (
        bid is None
        and round_item is not None
        and version.bid.round_item_id == round_item.pk
        and version.bid.specification_id == getattr(specification, "pk", None)
    )
    same_action = (action == BidVersion.Action.WITHDRAW) == (
        version.action == BidVersion.Action.WITHDRAW
    )
    same_terms = (
        version.product_id == getattr(product, "pk", None)
        and terms.unit_price == unit_price
        and terms.annual_capacity == annual_capacity
    )
    if not (same_target and same_action and same_terms):
        raise ValidationError(
            _(
                "This Idempotency-Key was already used for a different request; use a new "
                "key for a new submission."
            ),
            code="idempotency_conflict",
        )
    document = _receipt_document(
        identity=_version_identity(version), terms=terms, server_time=version.server_time
    )
    return BidReceipt(version=version, document=document, replayed=True)


def _finish_before_deadline(round_: Round) -> None:
    """The last statement of a bid transaction: refuse (roll back) if the deadline passed."""
    if _now() >= round_.bid_deadline:
        raise ValidationError(_deadline_message(round_), code="deadline")


def _existing_bid(
    *,
    round_item: RoundItem,
    specification: Specification,
    manufacturer: Organization,
    product: Product,
) -> Bid | None:
    qs = Bid.objects.select_for_update(of=("self",)).filter(
        round_item=round_item, specification=specification, manufacturer=manufacturer
    )
    if round_item.round.kind == Round.Kind.CONSUMABLES:
        qs = qs.filter(lineage_product=product)
    else:
        qs = qs.filter(lineage_product__isnull=True)
    return qs.first()


@sensitive_variables()  # no price in a traceback's local variables
def _validate_line(*, round_: Round, line: BidLine, manufacturer: Organization) -> Ceiling:
    """Everything about a line that does not depend on locked state (ceilings and the
    item's specifications are frozen once bidding opens)."""
    if line.round_item.round_id != round_.pk:
        raise ValidationError(_("This item is not part of the round."), code="wrong_round")
    ceiling = _ceiling_for(round_item=line.round_item, specification=line.specification)
    _check_product(
        product=line.product,
        manufacturer=manufacturer,
        round_item=line.round_item,
        spec=line.specification,
    )
    bid_terms_validate(unit_price=line.unit_price, annual_capacity=line.annual_capacity)
    return ceiling


@sensitive_variables()  # no price in a traceback's local variables
def _submit_line(
    *,
    round_: Round,
    line: BidLine,
    manufacturer: Organization,
    by: User,
    idempotency_key: str,
    allow_revise: bool,
) -> BidReceipt:
    round_item = line.round_item
    ceiling = _validate_line(round_=round_, line=line, manufacturer=manufacturer)
    bid = _existing_bid(
        round_item=round_item,
        specification=line.specification,
        manufacturer=manufacturer,
        product=line.product,
    )
    if bid is None:
        bid = Bid.objects.create(
            round=round_,
            round_item=round_item,
            specification=line.specification,
            manufacturer=manufacturer,
            lineage_product=line.product if round_.kind == Round.Kind.CONSUMABLES else None,
        )
        action = BidVersion.Action.SUBMIT
    elif bid.status == Bid.Status.WITHDRAWN:
        action = BidVersion.Action.SUBMIT
    elif allow_revise:
        action = BidVersion.Action.REVISE
    else:
        raise ValidationError(
            _("You have already bid on specification %(spec)s; revise that bid instead.")
            % {"spec": line.specification.code},
            code="already_submitted",
        )
    bid.round = round_
    receipt = _write_version(
        round_=round_,
        bid=bid,
        action=action,
        product=line.product,
        unit_price=line.unit_price,
        annual_capacity=line.annual_capacity,
        by=by,
        idempotency_key=idempotency_key,
    )
    receipt.warnings = bid_warnings(
        ceiling=ceiling, unit_price=line.unit_price, annual_capacity=line.annual_capacity
    )
    return receipt


def _with_retry(attempt: Callable[[], _T]) -> _T:
    """Run one bid transaction; if it lost a race on a unique constraint (the same
    Idempotency-Key, or the same new bid sent twice at once), run it once more: the second
    run sees the winner's committed row and answers with its receipt or a clear refusal."""
    try:
        return attempt()
    except IntegrityError:
        pass
    try:
        return attempt()
    except IntegrityError:
        raise ValidationError(
            _(
                "Another submission for this bid was saved at the same moment; reload the "
                "page and check your bids."
            ),
            code="concurrent",
        ) from None


# --- services -----------------------------------------------------------------------------


@sensitive_variables()  # no price in a traceback's local variables
def bid_submit(
    *,
    round_item: RoundItem,
    specification: Specification,
    product: Product,
    unit_price: Decimal,
    annual_capacity: int,
    by: User,
    idempotency_key: str = "",
) -> BidReceipt:
    """Seal a new bid for one specification (or consumable product) of a round item.

    Concurrency: the round row is held in share mode while the bid is written (see the
    module docstring); a repeated request with the same ``idempotency_key`` returns the
    first receipt, even when both arrive at once (``_with_retry``).
    """
    manufacturer = _manufacturer_of(by)
    line = BidLine(round_item, specification, product, unit_price, annual_capacity)

    def replay() -> BidReceipt | None:
        return _replay(
            manufacturer=manufacturer,
            idempotency_key=idempotency_key,
            by=by,
            bid=None,
            round_item=round_item,
            specification=specification,
            action=BidVersion.Action.SUBMIT,
            product=product,
            unit_price=unit_price,
            annual_capacity=annual_capacity,
        )

    def attempt() -> BidReceipt:
        with transaction.atomic():
            first = replay()
            if first is not None:
                return first
            _validate_line(round_=round_item.round, line=line, manufacturer=manufacturer)
            round_ = _lock_round(round_item.round_id)
            _require_bidding_open(round_)
            try:
                receipt = _submit_line(
                    round_=round_,
                    line=line,
                    manufacturer=manufacturer,
                    by=by,
                    idempotency_key=idempotency_key,
                    allow_revise=False,
                )
            except ValidationError as exc:
                # The same request, sent twice at once, may have committed between our
                # first look and now: then its bid exists, and so does its version.
                if exc.code == "already_submitted" and (first := replay()) is not None:
                    return first
                raise
            _finish_before_deadline(round_)
            return receipt

    return _with_retry(attempt)


@sensitive_variables()  # no price in a traceback's local variables
def bid_sheet_submit(*, round_: Round, lines: Sequence[BidLine], by: User) -> list[BidReceipt]:
    """Seal a whole bid sheet in one transaction: new lines are submitted, existing ones
    revised. All lines are stored, or (past the deadline, or any line invalid) none.
    Bid rows are locked in the sheet's fixed order, so two users of one manufacturer
    sending the same sheet at once cannot deadlock."""
    manufacturer = _manufacturer_of(by)
    if not lines:
        raise ValidationError(_("Enter at least one bid."), code="empty")
    for line in lines:
        _validate_line(round_=round_, line=line, manufacturer=manufacturer)

    def attempt() -> list[BidReceipt]:
        with transaction.atomic():
            locked = _lock_round(round_.pk)
            _require_bidding_open(locked)
            receipts = [
                _submit_line(
                    round_=locked,
                    line=line,
                    manufacturer=manufacturer,
                    by=by,
                    idempotency_key="",
                    allow_revise=True,
                )
                for line in lines
            ]
            _finish_before_deadline(locked)
            return receipts

    return _with_retry(attempt)


def _lock_own_bid(*, bid: Bid, manufacturer: Organization) -> tuple[Round, Bid]:
    round_ = _lock_round(bid.round_id)
    # ``of=("self",)``: lock the bid row only. Without it PostgreSQL would also lock the
    # joined round row FOR UPDATE, which conflicts with the share lock other bidders hold
    # on it, and two revisions would deadlock.
    locked = (
        Bid.objects.select_for_update(of=("self",))
        .select_related("round", "round_item__item", "specification", "manufacturer")
        .get(pk=bid.pk)
    )
    if locked.manufacturer_id != manufacturer.pk:
        raise ValidationError(_("This bid belongs to another organization."), code="not_owner")
    return round_, locked


@sensitive_variables()  # no price in a traceback's local variables
def bid_revise(
    *,
    bid: Bid,
    product: Product,
    unit_price: Decimal,
    annual_capacity: int,
    by: User,
    idempotency_key: str = "",
) -> BidReceipt:
    """Seal a new version of ``bid``; the latest version is the one that counts.

    Concurrency: the round row in share mode, then the bid row ``FOR UPDATE`` (always in
    that order), so two revisions of one bid are numbered one after the other.
    """
    manufacturer = _manufacturer_of(by)
    if bid.manufacturer_id != manufacturer.pk:
        raise ValidationError(_("This bid belongs to another organization."), code="not_owner")
    if bid.lineage_product_id is not None and product.pk != bid.lineage_product_id:
        raise ValidationError(
            _("A consumable bid is for one product; withdraw it and bid the other."),
            code="product_mismatch",
        )

    def attempt() -> BidReceipt:
        with transaction.atomic():
            line = BidLine(bid.round_item, bid.specification, product, unit_price, annual_capacity)
            ceiling = _validate_line(round_=bid.round, line=line, manufacturer=manufacturer)
            round_, locked = _lock_own_bid(bid=bid, manufacturer=manufacturer)
            # After the bid row lock: a same-key request that got there first is committed.
            replay = _replay(
                manufacturer=manufacturer,
                idempotency_key=idempotency_key,
                by=by,
                bid=locked,
                round_item=None,
                specification=None,
                action=BidVersion.Action.REVISE,
                product=product,
                unit_price=unit_price,
                annual_capacity=annual_capacity,
            )
            if replay is not None:
                return replay
            _require_bidding_open(round_)
            action = (
                BidVersion.Action.SUBMIT
                if locked.status == Bid.Status.WITHDRAWN
                else BidVersion.Action.REVISE
            )
            locked.round = round_
            receipt = _write_version(
                round_=round_,
                bid=locked,
                action=action,
                product=product,
                unit_price=unit_price,
                annual_capacity=annual_capacity,
                by=by,
                idempotency_key=idempotency_key,
            )
            receipt.warnings = bid_warnings(
                ceiling=ceiling, unit_price=unit_price, annual_capacity=annual_capacity
            )
            _finish_before_deadline(round_)
            return receipt

    return _with_retry(attempt)


def bid_withdraw(*, bid: Bid, by: User, idempotency_key: str = "") -> BidReceipt:
    """Withdraw ``bid`` before the deadline (a sealed, receipted version with no terms).
    Locks as ``bid_revise`` does."""
    manufacturer = _manufacturer_of(by)
    if bid.manufacturer_id != manufacturer.pk:
        raise ValidationError(_("This bid belongs to another organization."), code="not_owner")

    def attempt() -> BidReceipt:
        with transaction.atomic():
            round_, locked = _lock_own_bid(bid=bid, manufacturer=manufacturer)
            # After the bid row lock: a same-key request that got there first is committed.
            replay = _replay(
                manufacturer=manufacturer,
                idempotency_key=idempotency_key,
                by=by,
                bid=locked,
                round_item=None,
                specification=None,
                action=BidVersion.Action.WITHDRAW,
                product=None,
                unit_price=None,
                annual_capacity=None,
            )
            if replay is not None:
                return replay
            _require_bidding_open(round_)
            if locked.status == Bid.Status.WITHDRAWN:
                raise ValidationError(_("This bid is already withdrawn."), code="already_withdrawn")
            locked.round = round_
            receipt = _write_version(
                round_=round_,
                bid=locked,
                action=BidVersion.Action.WITHDRAW,
                product=None,
                unit_price=None,
                annual_capacity=None,
                by=by,
                idempotency_key=idempotency_key,
            )
            _finish_before_deadline(round_)
            return receipt

    return _with_retry(attempt)


# --- reading sealed terms (audited) -------------------------------------------------------


@sensitive_variables()  # no price in a traceback's local variables
def bid_version_unseal(*, version: BidVersion, by: User | None, purpose: str) -> BidTerms:
    """Decrypt one version for an allowed reader. Access checks are the selectors' job;
    this records the decryption in the append-only audit log before decrypting, so an
    attempt that fails authentication is on record too."""
    data_key = round_key_get(round_=version.bid.round)
    if data_key is None:
        raise sealing.UnsealError("round key missing")
    terms = _decrypt(version=version, data_key=data_key, by=by, purpose=purpose)
    return BidTerms(
        product=version.product, unit_price=terms.unit_price, annual_capacity=terms.annual_capacity
    )


@sensitive_variables()  # no price in a traceback's local variables
def bid_version_receipt(*, version: BidVersion, by: User | None, purpose: str) -> dict[str, object]:
    """Rebuild the full receipt document of a stored version (decrypts, audited)."""
    data_key = round_key_get(round_=version.bid.round)
    if data_key is None:
        raise sealing.UnsealError("round key missing")
    terms = _decrypt(version=version, data_key=data_key, by=by, purpose=purpose)
    return _receipt_document(
        identity=_version_identity(version), terms=terms, server_time=version.server_time
    )


# --- the opening --------------------------------------------------------------------------


@dataclass
class _Judgement:
    validity: str
    reasons: list[str]
    terms: sealing.SealedTerms | None


@sensitive_variables()  # no price in a traceback's local variables
def _judge(*, version: BidVersion, data_key: bytes | None, ceiling: Ceiling | None) -> _Judgement:
    """Decrypt, check the receipt, judge validity. Tampering is reported, never hidden."""
    R = OpenedBid.Reason
    if data_key is None:
        return _Judgement(OpenedBid.Validity.TAMPERED, [R.CIPHERTEXT_FAILED], None)
    try:
        # The opening's audit entries are written in bulk by the caller, before this.
        terms = sealing.unseal(
            sealed=sealing.Sealed(nonce=bytes(version.nonce), ciphertext=bytes(version.ciphertext)),
            identity=_version_identity(version),
            data_key=data_key,
        )
    except sealing.SealingError:
        logger.warning(
            "opening: bid %s version %s failed authentication", version.bid_id, version.number
        )
        return _Judgement(OpenedBid.Validity.TAMPERED, [R.CIPHERTEXT_FAILED], None)
    document = sealing.receipt_document(
        identity=_version_identity(version),
        terms=terms,
        server_time=server_time_text(version.server_time),
    )
    if not sealing.receipt_verify({**document, "hash": version.receipt_hash}):
        logger.warning(
            "opening: bid %s version %s does not match its receipt", version.bid_id, version.number
        )
        return _Judgement(OpenedBid.Validity.TAMPERED, [R.RECEIPT_MISMATCH], None)
    reasons = []
    if (
        ceiling is None
        or terms.unit_price is None
        or terms.unit_price > ceiling.max_valid_bid_price
    ):
        reasons.append(R.ABOVE_CEILING)
    if version.product is None or not version.product.is_eligible:
        reasons.append(R.INELIGIBLE_PRODUCT)
    if not terms.annual_capacity:
        reasons.append(R.NO_CAPACITY)
    validity = OpenedBid.Validity.INVALID if reasons else OpenedBid.Validity.VALID
    return _Judgement(validity, [str(r) for r in reasons], terms)


def round_open_bids(
    *,
    round_: Round,
    by: User | None,
    trigger: str = Opening.Trigger.OFFICE,
    now: datetime.datetime | None = None,
) -> Opening:
    """Open every latest, non-withdrawn bid of ``round_`` in public.

    At or after ``opening_at`` only. Closes bidding first if the deadline sweep has not yet
    run. Decrypts each bid (audited), checks its receipt, computes the unit comparable
    price with the round's frozen rule set, judges validity, stores the opening record,
    locks the bids and moves the round to "bids opened" — all in one transaction, under
    the round row lock, so a second opening (a double click, the scheduled check) waits
    and then finds the round already opened.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_round(round_.pk, exclusive=True)
        if Opening.objects.filter(round=locked).exists():
            raise ValidationError(
                _("The bids of round %(code)s have already been opened.") % {"code": locked.code},
                code="already_opened",
            )
        if now < locked.opening_at:
            raise ValidationError(
                _("The bids of round %(code)s can be opened from %(when)s.")
                % {"code": locked.code, "when": _when(locked.opening_at)},
                code="too_early",
            )
        if locked.status == S.BIDDING_OPEN:
            round_close_bidding(round_=locked, by=by, now=now, note="closed at the opening")
        if locked.status != S.BIDDING_CLOSED:
            raise ValidationError(
                _("Round %(code)s is %(status)s: its bids cannot be opened.")
                % {"code": locked.code, "status": locked.get_status_display()},
                code="wrong_status",
            )
        opening = Opening.objects.create(round=locked, opened_at=now, opened_by=by, trigger=trigger)
        data_key = round_key_get(round_=locked)
        coefficients = ComparablePriceCoefficients.from_parameters(
            locked.rule_set.parameters.get("comparable_price") or {}
        )
        ceilings = {
            (c.round_item_id, c.specification_id): c
            for c in Ceiling.objects.filter(round_item__round=locked).select_related(
                "specification"
            )
        }
        representatives = {
            s.item_id: s
            for s in Specification.objects.filter(
                item__round_items__round=locked, is_representative=True
            ).select_related("item")
        }
        bids = list(
            Bid.objects.filter(round=locked, status=Bid.Status.ACTIVE)
            .select_related("round", "round_item__item", "specification__item", "manufacturer")
            .order_by("round_item_id", "specification_id", "manufacturer_id", "pk")
        )
        # The counting versions, in one query (bounded by the round's bids).
        versions = {
            v.bid_id: v
            for v in BidVersion.objects.filter(
                bid__round=locked,
                bid__status=Bid.Status.ACTIVE,
                number=F("bid__current_version"),
            ).select_related("product")
        }
        # Every decryption is on record before it happens, in bulk.
        DecryptionAudit.objects.bulk_create(
            [
                DecryptionAudit(
                    by=by,
                    organization=getattr(by, "organization", None),
                    bid_version=versions[bid.pk],
                    purpose=DecryptionAudit.Purpose.OPENING,
                )
                for bid in bids
                if bid.pk in versions
            ],
            batch_size=500,
        )
        opened: list[OpenedBid] = []
        for bid in bids:
            version = versions.get(bid.pk)
            if version is None:
                continue
            version.bid = bid
            ceiling = ceilings.get((bid.round_item_id, bid.specification_id))
            judgement = _judge(version=version, data_key=data_key, ceiling=ceiling)
            comparable = None
            terms = judgement.terms
            if terms is not None and terms.unit_price is not None:
                representative = representatives.get(bid.round_item.item_id, bid.specification)
                try:
                    comparable = unit_comparable_price(
                        terms.unit_price,
                        bid.specification.as_comparable(),
                        representative.as_comparable(),
                        coefficients,
                    )
                except ValueError:
                    comparable = None
            opened.append(
                OpenedBid(
                    opening=opening,
                    bid=bid,
                    version=version,
                    round_item=bid.round_item,
                    manufacturer=bid.manufacturer,
                    specification=bid.specification,
                    product=version.product,
                    unit_price=terms.unit_price if terms else None,
                    annual_capacity=terms.annual_capacity if terms else None,
                    unit_comparable_price=comparable,
                    max_valid_bid_price=ceiling.max_valid_bid_price if ceiling else None,
                    validity=judgement.validity,
                    reasons=judgement.reasons,
                    receipt_hash=version.receipt_hash,
                )
            )
        OpenedBid.objects.bulk_create(opened, batch_size=500)
        opening.bid_count = len(opened)
        opening.valid_count = sum(o.validity == OpenedBid.Validity.VALID for o in opened)
        opening.tampered_count = sum(o.validity == OpenedBid.Validity.TAMPERED for o in opened)
        opening.save(update_fields=["bid_count", "valid_count", "tampered_count"])
        Bid.objects.filter(round=locked).update(locked_at=now)
        round_advance(round_=locked, to=S.BIDS_OPENED, by=by, note="bids opened")
    logger.info(
        "round %s opened: %s bids, %s valid, %s tampered",
        locked.code,
        opening.bid_count,
        opening.valid_count,
        opening.tampered_count,
    )
    return opening


def opening_due_check(*, now: datetime.datetime) -> int:
    """Open the bids of rounds whose opening time has come (Celery beat; idempotent).

    A round already opened (by the office, or by an earlier sweep) has an ``Opening`` and
    is skipped; two sweeps racing serialize on the round row lock in ``round_open_bids``.
    """
    opened = 0
    due = Round.objects.filter(
        status__in=[S.BIDDING_OPEN, S.BIDDING_CLOSED],
        opening_at__lte=now,
        bid_deadline__lte=now,
        opening__isnull=True,
    ).values_list("pk", flat=True)
    for pk in due:
        try:
            round_open_bids(
                round_=Round.objects.get(pk=pk), by=None, trigger=Opening.Trigger.SCHEDULE, now=now
            )
            opened += 1
        except ValidationError:
            pass  # opened or moved by someone else meanwhile
    return opened

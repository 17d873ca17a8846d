"""Submitting, revising and withdrawing sealed bids (one line, or a whole bid sheet).

Every bid transaction holds the round row in share mode, then its bid row ``FOR UPDATE``,
and reads the server's clock twice, the second time as its very last statement: a bid
whose transaction reaches its commit after the deadline is rolled back and refused
(``bidding.services.deadline`` says why this order is safe). A repeated request with the
same Idempotency-Key gets the first receipt back (``_replay``).

No price and no capacity appear in any exception message or log line here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import Organization, User
from accounts.signing import SignatureInput
from bidding.models import Bid, BidVersion
from bidding.services.deadline import _finish_before_deadline, _lock_round, _require_bidding_open
from bidding.services.log import document_with_log, receipt_logged
from bidding.services.terms import (
    BidLine,
    BidReceipt,
    _ceiling_for,
    _check_product,
    _manufacturer_of,
    bid_terms_validate,
    bid_warnings,
    product_code,
)
from bidding.services.versions import _sealed_receipt, _write_version
from bidding.signatures import BidSignature, version_signature_check
from catalog.models import Product, Specification
from procurement.models import Ceiling, Round, RoundItem
from qualification.selectors import bidder_qualified

_T = TypeVar("_T")


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

    The repeated request is compared with what the server can read of the stored version
    (bid, action, product): the same gets the original receipt's hash back (sealed: the
    server cannot decrypt the terms to rebuild the full receipt), a different one with
    the same key is refused. The terms themselves cannot be compared any more: the server
    holds nothing that opens them before the ceremony (docs/sealed-bidding.md).
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
    del unit_price, annual_capacity  # sealed: not comparable (see above)
    same_target = (bid is not None and version.bid_id == bid.pk) or (
        bid is None
        and round_item is not None
        and version.bid.round_item_id == round_item.pk
        and version.bid.specification_id == getattr(specification, "pk", None)
    )
    same_action = (action == BidVersion.Action.WITHDRAW) == (
        version.action == BidVersion.Action.WITHDRAW
    )
    same_terms = version.product_id == getattr(product, "pk", None)
    if not (same_target and same_action and same_terms):
        raise ValidationError(
            _(
                "This Idempotency-Key was already used for a different request; use a new "
                "key for a new submission."
            ),
            code="idempotency_conflict",
        )
    return BidReceipt(
        version=version,
        document=document_with_log(_sealed_receipt(version), version),
        replayed=True,
    )


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
def _validate_line(
    *, round_: Round, line: BidLine, manufacturer: Organization, by: User | None = None
) -> Ceiling:
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
    refusal = bidder_qualified(
        round_=round_, manufacturer=manufacturer, product=line.product, at=timezone.now(), by=by
    )
    if refusal is not None:
        raise ValidationError(refusal.message, code=refusal.code)
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
    ceiling = _validate_line(round_=round_, line=line, manufacturer=manufacturer, by=by)
    bid = _existing_bid(
        round_item=round_item,
        specification=line.specification,
        manufacturer=manufacturer,
        product=line.product,
    )
    number = 1 if bid is None else bid.current_version + 1  # the version this line becomes
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
    signed = _signature_checked(
        round_=round_,
        manufacturer=manufacturer,
        line=line,
        version=number,
        by=by,
    )
    receipt = _logged(
        round_,
        _write_version(
            round_=round_,
            bid=bid,
            action=action,
            product=line.product,
            unit_price=line.unit_price,
            annual_capacity=line.annual_capacity,
            by=by,
            idempotency_key=idempotency_key,
            signed=signed,
        ),
    )
    receipt.warnings = bid_warnings(
        ceiling=ceiling, unit_price=line.unit_price, annual_capacity=line.annual_capacity
    )
    return receipt


@sensitive_variables()  # no price in a traceback's local variables
def _signature_checked(
    *, round_: Round, manufacturer: Organization, line: BidLine, version: int, by: User
) -> BidSignature | None:
    """The line's verified signature (``bidding.signatures``; no query when the round
    does not require one and none was sent)."""
    return version_signature_check(
        round_=round_,
        manufacturer_code=manufacturer.social_credit_code,
        item_code=line.round_item.item.code,
        specification_code=line.specification.code,
        product_code=product_code(line.product),
        version=version,
        unit_price=line.unit_price,
        annual_capacity=line.annual_capacity,
        by=by,
        signature=line.signature,
    )


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
    signature: SignatureInput | None = None,
) -> BidReceipt:
    """Seal a new bid for one specification (or consumable product) of a round item.

    Concurrency: the round row is held in share mode while the bid is written (see the
    module docstring); a repeated request with the same ``idempotency_key`` returns the
    first receipt, even when both arrive at once (``_with_retry``).
    """
    manufacturer = _manufacturer_of(by)
    line = BidLine(round_item, specification, product, unit_price, annual_capacity, signature)

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
            _validate_line(round_=round_item.round, line=line, manufacturer=manufacturer, by=by)
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
        _validate_line(round_=round_, line=line, manufacturer=manufacturer, by=by)

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
    signature: SignatureInput | None = None,
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
            line = BidLine(
                bid.round_item, bid.specification, product, unit_price, annual_capacity, signature
            )
            ceiling = _validate_line(round_=bid.round, line=line, manufacturer=manufacturer, by=by)
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
            signed = _signature_checked(
                round_=round_,
                manufacturer=manufacturer,
                line=line,
                version=locked.current_version + 1,
                by=by,
            )
            receipt = _logged(
                round_,
                _write_version(
                    round_=round_,
                    bid=locked,
                    action=action,
                    product=product,
                    unit_price=unit_price,
                    annual_capacity=annual_capacity,
                    by=by,
                    idempotency_key=idempotency_key,
                    signed=signed,
                ),
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
            receipt = _logged(
                round_,
                _write_version(
                    round_=round_,
                    bid=locked,
                    action=BidVersion.Action.WITHDRAW,
                    product=None,
                    unit_price=None,
                    annual_capacity=None,
                    by=by,
                    idempotency_key=idempotency_key,
                ),
            )
            _finish_before_deadline(round_)
            return receipt

    return _with_retry(attempt)


def _logged(round_: Round, receipt: BidReceipt) -> BidReceipt:
    """Append the new version to the round's bid log (under the log head's row lock, the
    last lock the bid transaction takes) and put its position and the head on the receipt."""
    return receipt_logged(round_=round_, receipt=receipt)

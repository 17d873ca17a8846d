"""Submitting, revising and withdrawing sealed bids (one line, or a whole bid sheet).

Every bid transaction holds the round row in share mode, then its bid row ``FOR UPDATE``,
and reads the server's clock twice, the second time just before the commit (a new bid on
PostgreSQL: just before its last statement, which carries the ``COMMIT``): a bid whose
transaction reaches its commit after the deadline is rolled back and refused
(``bidding.services.deadline`` says why this order is safe). A repeated request with the
same Idempotency-Key gets the first receipt back (``_replay``).

Statements: a transaction's first attempt does not look the Idempotency-Key up; it relies
on the key's unique index (a reused key fails the insert, and the retry replays) and on a
refusal looking it up before it is returned. ``bidding.services.statements`` lists what
one new bid costs.

Signatures (docs/signatures.md): a version with terms is signed by the bidder over the
version number it becomes; ``_signature_checked`` verifies it before the transaction
writes anything (no statement when the round does not require signatures and none was
sent, one, the key, when one is checked); a bad one is refused and nothing is written.

No price and no capacity appear in any exception message or log line here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import Organization, User
from accounts.signing import SignatureInput
from bidding.keys import round_public_key_checked
from bidding.models import Bid, BidLogHead, BidVersion
from bidding.services.deadline import _finish_before_deadline, _require_bidding_open
from bidding.services.log import document_with_log, receipt_logged
from bidding.services.statements import RoundForBid, bid_and_version_insert, round_for_bid
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
from bidding.services.versions import (
    _logged_version,
    _seal_version,
    _sealed_receipt,
    _stored_next_number,
    _write_version,
)
from bidding.signatures import BidSignature, signatures_required, version_signature_check
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
    # On the key's unique index alone; the version's bid and names only when it is there.
    found = (
        BidVersion.objects.filter(manufacturer=manufacturer, idempotency_key=idempotency_key)
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        return None
    version = BidVersion.objects.select_related(
        "bid__round", "bid__round_item__item", "bid__specification", "bid__manufacturer"
    ).get(pk=found)
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
    round_: Round,
    round_item: RoundItem,
    specification: Specification,
    manufacturer: Organization,
    product: Product,
) -> Bid | None:
    qs = Bid.objects.select_for_update(of=("self",)).filter(
        round_item=round_item, specification=specification, manufacturer=manufacturer
    )
    if round_.kind == Round.Kind.CONSUMABLES:
        qs = qs.filter(lineage_product=product)
    else:
        qs = qs.filter(lineage_product__isnull=True)
    return qs.first()


@sensitive_variables()  # no price in a traceback's local variables
def _validate_line(
    *, locked: RoundForBid, line: BidLine, manufacturer: Organization, by: User
) -> Ceiling:
    """Everything about a line checked once, under the round lock, from what the lock's
    statement read with the round (its qualification and authorisation-letter rule);
    returns the ceiling. Statements only for what the caller did not read already (the
    ceiling) and the qualification documents when the round requires them or an
    authorisation letter for ``by``."""
    round_ = locked.round
    if line.round_item.round_id != round_.pk:
        raise ValidationError(_("This item is not part of the round."), code="wrong_round")
    ceiling = _ceiling_for(
        round_item=line.round_item, specification=line.specification, known=line.ceiling
    )
    _check_product(
        product=line.product,
        manufacturer=manufacturer,
        round_item=line.round_item,
        spec=line.specification,
    )
    bid_terms_validate(unit_price=line.unit_price, annual_capacity=line.annual_capacity)
    refusal = bidder_qualified(
        round_=round_,
        manufacturer=manufacturer,
        product=line.product,
        at=timezone.now(),
        by=by,
        required=locked.requires_qualification,
        authorisation=locked.authorisation_required,
    )
    if refusal is not None:
        raise ValidationError(refusal.message, code=refusal.code)
    return ceiling


def _public_key(locked: RoundForBid) -> bytes:
    """The key to seal to, as read with the round row; a clear refusal without one."""
    return round_public_key_checked(round_=locked.round, stored=locked.public_key)


@sensitive_variables()  # no price in a traceback's local variables
def _signature_checked(
    *, round_: Round, manufacturer: Organization, line: BidLine, version: int, by: User
) -> BidSignature | None:
    """The line's signature of ``version``, verified (``bidding.signatures``) before the
    caller writes anything; None when the round does not require one and none was sent
    (no statement: the requirement is a column of the locked round row). One statement,
    the key by its fingerprint, when one is checked."""
    if line.signature is None and not signatures_required(round_=round_):
        return None
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


@sensitive_variables()  # no price in a traceback's local variables
def _new_bid(
    *, locked: RoundForBid, line: BidLine, manufacturer: Organization, by: User, key: str
) -> tuple[BidReceipt, BidLogHead | None] | None:
    """A new bid and its first version in one statement (its id reserved by the round
    lock's statement) that also locks the bid log head, returned with the receipt (the
    caller appends the log entry last); None, with nothing written, when the bid exists
    already.

    Its signature is verified first, for version 1. One that does not verify for version
    1 may be a bid again after a withdrawal, signed for that bid's next version: then
    None, nothing written, and ``_submit_line`` (which finds the bid) checks it for its
    number and refuses it if it does not verify there either."""
    round_ = locked.round
    assert locked.new_bid_id is not None
    try:
        signed = _signature_checked(
            round_=round_, manufacturer=manufacturer, line=line, version=1, by=by
        )
    except ValidationError as exc:
        if getattr(exc, "code", None) == "bad_signature":
            return None
        raise
    bid = Bid(
        pk=locked.new_bid_id,
        round=round_,
        round_item=line.round_item,
        specification=line.specification,
        manufacturer=manufacturer,
        lineage_product=line.product if round_.kind == Round.Kind.CONSUMABLES else None,
        status=Bid.Status.ACTIVE,
        current_version=1,
    )
    receipt = _seal_version(
        round_=round_,
        bid=bid,
        number=1,
        action=BidVersion.Action.SUBMIT,
        product=line.product,
        unit_price=line.unit_price,
        annual_capacity=line.annual_capacity,
        by=by,
        idempotency_key=key,
        public_key=_public_key(locked),
        signed=signed,
    )
    inserted = bid_and_version_insert(bid=bid, version=receipt.version)
    if not inserted.written:
        return None
    _logged_version(receipt, round_=round_, by=by)
    return receipt, inserted.head


@sensitive_variables()  # no price in a traceback's local variables
def _submit_line(
    *,
    locked: RoundForBid,
    line: BidLine,
    manufacturer: Organization,
    by: User,
    idempotency_key: str,
    allow_revise: bool,
    ceiling: Ceiling,
) -> BidReceipt:
    """A line whose bid may exist: lock it, verify the line's signature of the version it
    becomes, insert the bid if new, then seal that version."""
    round_ = locked.round
    round_item = line.round_item
    bid = _existing_bid(
        round_=round_,
        round_item=round_item,
        specification=line.specification,
        manufacturer=manufacturer,
        product=line.product,
    )
    new_bid = bid is None
    # The version this line becomes (the locked bid row's next), as the bidder signed it.
    number = 1 if bid is None else bid.current_version + 1
    if bid is None or bid.status == Bid.Status.WITHDRAWN:
        action = BidVersion.Action.SUBMIT
    elif allow_revise:
        action = BidVersion.Action.REVISE
    else:
        raise ValidationError(
            _("You have already bid on specification %(spec)s; revise that bid instead.")
            % {"spec": line.specification.code},
            code="already_submitted",
        )
    signed = _signature_checked(
        round_=round_, manufacturer=manufacturer, line=line, version=number, by=by
    )
    if bid is None:  # after the signature check: a refusal writes nothing
        bid = Bid.objects.create(
            round=round_,
            round_item=round_item,
            specification=line.specification,
            manufacturer=manufacturer,
            lineage_product=line.product if round_.kind == Round.Kind.CONSUMABLES else None,
            status=Bid.Status.ACTIVE,
            current_version=1,
        )
    bid.round = round_
    bid.manufacturer = manufacturer
    bid.round_item = round_item
    bid.specification = line.specification
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
            public_key=_public_key(locked),
            number=number,
            new_bid=new_bid,
            signed=signed,
        ),
    )
    receipt.warnings = bid_warnings(
        ceiling=ceiling, unit_price=line.unit_price, annual_capacity=line.annual_capacity
    )
    return receipt


def _with_retry(attempt: Callable[[bool], _T]) -> _T:
    """Run one bid transaction (``attempt(False)``); if it lost a race on a unique
    constraint (the same Idempotency-Key, or the same new bid sent twice at once), run it
    once more (``attempt(True)``: it looks the key up first): the second run sees the
    winner's committed row and answers with its receipt or a clear refusal."""
    try:
        return attempt(False)
    except IntegrityError:
        pass
    try:
        return attempt(True)
    except IntegrityError:
        raise ValidationError(
            _(
                "Another submission for this bid was saved at the same moment; reload the "
                "page and check your bids."
            ),
            code="concurrent",
        ) from None


def _replayed_or_raise(exc: ValidationError, replay: Callable[[], BidReceipt | None]) -> BidReceipt:
    """A refused request that repeats an earlier one (its Idempotency-Key is stored) gets
    the first receipt, as it would have before any check; otherwise the refusal stands."""
    if getattr(exc, "code", None) != "idempotency_conflict":
        first = replay()
        if first is not None:
            return first
    raise exc


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
    ceiling: Ceiling | None = None,
    signature: SignatureInput | None = None,
) -> BidReceipt:
    """Seal a new bid for one specification (or consumable product) of a round item.

    Concurrency: the round row is held in share mode while the bid is written (see the
    module docstring); a repeated request with the same ``idempotency_key`` returns the
    first receipt, even when both arrive at once (``_with_retry``). ``ceiling``: the
    specification's ceiling in the round when the caller read it already; ``signature``:
    the bidder's signature of the bid's content for the version it becomes (required when
    the round requires signatures; docs/signatures.md).
    """
    manufacturer = _manufacturer_of(by)
    line = BidLine(
        round_item,
        specification,
        product,
        unit_price,
        annual_capacity,
        ceiling=ceiling,
        signature=signature,
    )

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

    def attempt(retry: bool) -> BidReceipt:
        with transaction.atomic():
            if retry and (first := replay()) is not None:
                return first
            locked = round_for_bid(round_item.round_id, new_bid=True)
            round_ = locked.round
            try:
                ceiling = _validate_line(locked=locked, line=line, manufacturer=manufacturer, by=by)
                _require_bidding_open(round_)
                receipt = None
                new = None
                if locked.new_bid_id is not None:
                    new = _new_bid(
                        locked=locked,
                        line=line,
                        manufacturer=manufacturer,
                        by=by,
                        key=idempotency_key,
                    )
                    if new is not None:
                        receipt = new[0]
                        receipt.warnings = bid_warnings(
                            ceiling=ceiling, unit_price=unit_price, annual_capacity=annual_capacity
                        )
                if receipt is None:  # the bid exists (or no id was reserved: not PostgreSQL)
                    receipt = _submit_line(
                        locked=locked,
                        line=line,
                        manufacturer=manufacturer,
                        by=by,
                        idempotency_key=idempotency_key,
                        allow_revise=False,
                        ceiling=ceiling,
                    )
            except ValidationError as exc:
                # The same request may have been answered before (or, sent twice at once,
                # committed between our first look and now): then its version exists.
                return _replayed_or_raise(exc, replay)
            _finish_before_deadline(round_)
            if new is not None:
                # A new bid's last statement, right after the clock was read: its log entry
                # and the head the insert locked (an older round without one gets it
                # created here), with the COMMIT in the same round trip.
                receipt_logged(round_=round_, receipt=receipt, head=new[1], commit=True)
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

    def attempt(retry: bool) -> list[BidReceipt]:
        with transaction.atomic():
            locked = round_for_bid(round_.pk)
            checked = [
                _validate_line(locked=locked, line=line, manufacturer=manufacturer, by=by)
                for line in lines
            ]
            _require_bidding_open(locked.round)
            receipts = [
                _submit_line(
                    locked=locked,
                    line=line,
                    manufacturer=manufacturer,
                    by=by,
                    idempotency_key="",
                    allow_revise=True,
                    ceiling=ceiling,
                )
                for line, ceiling in zip(lines, checked, strict=True)
            ]
            _finish_before_deadline(locked.round)
            return receipts

    return _with_retry(attempt)


def _lock_own_bid(*, bid: Bid, manufacturer: Organization) -> Bid:
    """Lock the bid row ``FOR UPDATE`` (after the round row); its round item,
    specification and manufacturer are taken from ``bid`` (they never change)."""
    # ``of=("self",)``: lock the bid row only. Without it PostgreSQL would also lock the
    # joined round row FOR UPDATE, which conflicts with the share lock other bidders hold
    # on it, and two revisions would deadlock.
    ceilings = Ceiling.objects.filter(
        round_item_id=OuterRef("round_item_id"), specification_id=OuterRef("specification_id")
    )
    locked = (
        Bid.objects.select_for_update(of=("self",))
        .annotate(
            ceiling_pk=Subquery(ceilings.values("pk")[:1]),
            ceiling_price=Subquery(ceilings.values("max_valid_bid_price")[:1]),
        )
        .get(pk=bid.pk)
    )
    if locked.manufacturer_id != manufacturer.pk:
        raise ValidationError(_("This bid belongs to another organization."), code="not_owner")
    for relation in ("round_item", "specification"):
        descriptor = getattr(Bid, relation)
        if descriptor.is_cached(bid):
            setattr(locked, relation, getattr(bid, relation))
    locked.manufacturer = manufacturer
    return locked


def _ceiling_of(locked: Bid) -> Ceiling | None:
    """The bid's ceiling as ``_lock_own_bid`` read it with the bid row."""
    pk = getattr(locked, "ceiling_pk", None)
    if pk is None:
        return None
    ceiling = Ceiling(
        pk=pk,
        round_item_id=locked.round_item_id,
        specification_id=locked.specification_id,
        max_valid_bid_price=locked.ceiling_price,  # type: ignore[attr-defined]
    )
    ceiling.specification = locked.specification
    return ceiling


def _next_number(locked: Bid, retry: bool) -> int | None:
    """The locked bid's next version number from its row (None on a retry: then counted
    from the stored versions, in case the row's cache lost a race or was altered)."""
    return None if retry else locked.current_version + 1


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
    ``signature``: the bidder's signature of the new version's content (the bid's
    ``current_version`` + 1), verified before anything is written.

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

    def replay(locked: Bid) -> BidReceipt | None:
        return _replay(
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

    def attempt(retry: bool) -> BidReceipt:
        with transaction.atomic():
            locked_round = round_for_bid(bid.round_id)
            round_ = locked_round.round
            locked = _lock_own_bid(bid=bid, manufacturer=manufacturer)
            line = BidLine(
                locked.round_item,
                locked.specification,
                product,
                unit_price,
                annual_capacity,
                ceiling=_ceiling_of(locked),
                signature=signature,
            )
            # After the bid row lock: a same-key request that got there first is committed.
            if retry and (first := replay(locked)) is not None:
                return first
            number = _next_number(locked, retry) or _stored_next_number(locked)
            try:
                ceiling = _validate_line(
                    locked=locked_round, line=line, manufacturer=manufacturer, by=by
                )
                _require_bidding_open(round_)
                signed = _signature_checked(
                    round_=round_, manufacturer=manufacturer, line=line, version=number, by=by
                )
            except ValidationError as exc:
                return _replayed_or_raise(exc, lambda: replay(locked))
            action = (
                BidVersion.Action.SUBMIT
                if locked.status == Bid.Status.WITHDRAWN
                else BidVersion.Action.REVISE
            )
            locked.round = round_
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
                    public_key=_public_key(locked_round),
                    number=number,
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

    def replay(locked: Bid) -> BidReceipt | None:
        return _replay(
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

    def attempt(retry: bool) -> BidReceipt:
        with transaction.atomic():
            locked_round = round_for_bid(bid.round_id)
            round_ = locked_round.round
            locked = _lock_own_bid(bid=bid, manufacturer=manufacturer)
            # After the bid row lock: a same-key request that got there first is committed.
            if retry and (first := replay(locked)) is not None:
                return first
            try:
                _require_bidding_open(round_)
                if locked.status == Bid.Status.WITHDRAWN:
                    raise ValidationError(
                        _("This bid is already withdrawn."), code="already_withdrawn"
                    )
            except ValidationError as exc:
                return _replayed_or_raise(exc, lambda: replay(locked))
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
                    public_key=_public_key(locked_round),
                    number=_next_number(locked, retry),
                ),
            )
            _finish_before_deadline(round_)
            return receipt

    return _with_retry(attempt)


def _logged(round_: Round, receipt: BidReceipt) -> BidReceipt:
    """Append the new version to the round's bid log (under the log head's row lock, the
    last lock the bid transaction takes) and put its position and the head on the receipt."""
    return receipt_logged(round_=round_, receipt=receipt)

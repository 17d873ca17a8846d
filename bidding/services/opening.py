"""The public opening: every latest, non-withdrawn bid decrypted (audited), checked
against its receipt, priced on the representative specification, judged; and the sweep
that opens rounds whose opening time has come."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from bidding import sealing
from bidding.models import Bid, BidVersion, DecryptionAudit, OpenedBid, Opening
from bidding.services.deadline import _lock_round, _when
from bidding.services.log import LogAudit, log_audit
from bidding.services.terms import server_time_text
from bidding.services.versions import _version_identity, receipt_signature_of
from bidding.signatures import bid_signed_content, opened_signature_status, signatures_required
from catalog.comparable_price import ComparablePriceCoefficients, unit_comparable_price
from catalog.models import Specification
from procurement.models import Ceiling, Round
from procurement.services import round_advance, round_close_bidding
from qualification.selectors import bids_disqualified
from tender.selectors import reconfirmation_index

logger = logging.getLogger("bidding.services")
S = Round.Status


_INTEGRITY_REASONS = (OpenedBid.Reason.CIPHERTEXT_FAILED, OpenedBid.Reason.RECEIPT_MISMATCH)


@dataclass
class _Judgement:
    validity: str
    reasons: list[str]
    terms: sealing.SealedTerms | None


@sensitive_variables()  # no price in a traceback's local variables
def _judge(
    *, version: BidVersion, private_key: X25519PrivateKey, ceiling: Ceiling | None
) -> _Judgement:
    """Decrypt, check the receipt, judge validity. Tampering is reported, never hidden."""
    R = OpenedBid.Reason
    try:
        # The opening's audit entries are written in bulk by the caller, before this.
        terms = sealing.unseal(
            ciphertext=bytes(version.ciphertext),
            identity=_version_identity(version),
            private_key=private_key,
        )
    except sealing.SealingError:
        logger.warning(
            "opening: bid %s version %s failed authentication", version.bid_id, version.number
        )
        return _Judgement(OpenedBid.Validity.TAMPERED, [R.CIPHERTEXT_FAILED], None)
    document: dict[str, object] = dict(
        sealing.receipt_document(
            identity=_version_identity(version),
            terms=terms,
            server_time=server_time_text(version.server_time),
        )
    )
    signature_section = receipt_signature_of(version)
    if signature_section is not None:  # a signed version's receipt covers its signature
        document["signature"] = signature_section
    if not sealing.receipt_verify({**document, "hash": version.receipt_hash}):  # type: ignore[dict-item]
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


@sensitive_variables()  # no key in a traceback's local variables
def round_open_bids(
    *,
    round_: Round,
    by: User | None,
    private_key: X25519PrivateKey,
    trigger: str = Opening.Trigger.OFFICE,
    now: datetime.datetime | None = None,
) -> Opening:
    """Open every latest, non-withdrawn bid of ``round_`` in public (latest and withdrawn
    as the round's bid log says; every bid with a log finding is opened as tampered).

    ``private_key`` is the round's private key, rebuilt in memory from k officials' shares
    by the opening ceremony (``bidding.services.ceremony.ceremony_present``); it is only
    passed down, never stored. At or after ``opening_at`` only. Closes bidding first if
    the deadline sweep has not yet run. Decrypts each bid (audited), checks its receipt,
    computes the unit comparable price with the round's frozen rule set,
    judges validity, stores the opening record,
    locks the bids and moves the round to "bids opened" — all in one transaction, under
    the round row lock, so a second opening (a double click, the scheduled check) waits
    and then finds the round already opened.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_round(round_.pk, exclusive=True)
        _require_openable(locked, by=by, now=now)
        record = _OpeningInputs.of(locked, private_key)  # the bid log is checked first
        opening = Opening.objects.create(
            round=locked,
            opened_at=now,
            opened_by=by,
            trigger=trigger,
            log_report=record.log.report,
        )
        # Every decryption is on record before it happens, in bulk.
        DecryptionAudit.objects.bulk_create(
            [
                DecryptionAudit(
                    by=by,
                    organization=getattr(by, "organization", None),
                    bid_version=record.versions[bid.pk],
                    purpose=DecryptionAudit.Purpose.OPENING,
                )
                for bid in record.bids
                if bid.pk in record.versions
            ],
            batch_size=500,
        )
        opened = [
            _opened_bid(opening=opening, bid=bid, version=record.versions[bid.pk], record=record)
            for bid in record.bids
            if bid.pk in record.versions
        ]
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


def _require_openable(locked: Round, *, by: User | None, now: datetime.datetime) -> None:
    """Refuse a second opening, an early one, or one of a round not in bidding; close
    bidding first if the deadline sweep has not yet run."""
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


@dataclass
class _OpeningInputs:
    """What the opening reads, in a few queries (bounded by the round's bids)."""

    private_key: X25519PrivateKey
    coefficients: ComparablePriceCoefficients
    ceilings: dict[tuple[int, int], Ceiling]
    representatives: dict[int, Specification]
    bids: list[Bid]
    versions: dict[int, BidVersion]  # the version to open of each bid, by bid id (the log's)
    log: LogAudit  # the bid log check (tamper reasons by bid id, the report)
    # Bids whose bidder or product was not qualified on the deadline's day: reason code.
    disqualified: dict[int, str] = field(default_factory=dict)
    # Bids a material amendment touched after their counted version was sealed, and that
    # their bidders did not re-confirm (docs/procurement-document.md §3.2): not counted.
    not_reconfirmed: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, locked: Round, private_key: X25519PrivateKey) -> _OpeningInputs:
        # Every bid, whatever its status column says: which version counts, and whether a
        # bid is withdrawn, comes from the bid log, checked before anything is decrypted.
        bids = list(
            Bid.objects.filter(round=locked)
            .select_related("round", "round_item__item", "specification__item", "manufacturer")
            .order_by("round_item_id", "specification_id", "manufacturer_id", "pk")
        )
        log = log_audit(
            round_=locked,
            bids=bids,
            versions=BidVersion.objects.filter(bid__round=locked).select_related(
                "product", "signing_key"
            ),
        )
        inputs = cls(
            private_key=private_key,
            coefficients=ComparablePriceCoefficients.from_parameters(
                locked.rule_set.parameters.get("comparable_price") or {}
            ),
            ceilings={
                (c.round_item_id, c.specification_id): c
                for c in Ceiling.objects.filter(round_item__round=locked).select_related(
                    "specification"
                )
            },
            representatives={
                s.item_id: s
                for s in Specification.objects.filter(
                    item__round_items__round=locked, is_representative=True
                ).select_related("item")
            },
            bids=bids,
            versions=log.to_open,
            log=log,
        )
        manufacturers = {b.pk: b.manufacturer_id for b in inputs.bids}
        inputs.disqualified = bids_disqualified(
            round_=locked,
            bids=[(b, manufacturers[b], v.product_id) for b, v in inputs.versions.items()],
            at=locked.bid_deadline,
        )
        # The version's server time is covered by the bid log, so it cannot be moved after
        # the amendment to dodge re-confirmation without the opening calling it tampered.
        amendments = reconfirmation_index(round_=locked)
        lines = {b.pk: (b.round_item_id, b.specification_id) for b in inputs.bids}
        for bid_id, version in inputs.versions.items():
            since = amendments.since(*lines[bid_id])
            if (
                since is not None
                and version.action != BidVersion.Action.WITHDRAW
                and version.server_time < since
            ):
                inputs.not_reconfirmed.add(bid_id)
        return inputs


@sensitive_variables()  # no price in a traceback's local variables
def _opened_bid(
    *, opening: Opening, bid: Bid, version: BidVersion, record: _OpeningInputs
) -> OpenedBid:
    """One bid opened: decrypted, judged, priced on the item's representative spec."""
    version.bid = bid
    ceiling = record.ceilings.get((bid.round_item_id, bid.specification_id))
    judgement = _judge(version=version, private_key=record.private_key, ceiling=ceiling)
    if bid.pk in record.disqualified and judgement.validity != OpenedBid.Validity.TAMPERED:
        judgement.validity = OpenedBid.Validity.INVALID
        judgement.reasons.append(record.disqualified[bid.pk])
    if bid.pk in record.not_reconfirmed and judgement.validity != OpenedBid.Validity.TAMPERED:
        judgement.validity = OpenedBid.Validity.INVALID
        judgement.reasons.append(str(OpenedBid.Reason.NOT_RECONFIRMED))
    comparable = None
    terms = judgement.terms
    if terms is not None and terms.unit_price is not None:
        representative = record.representatives.get(bid.round_item.item_id, bid.specification)
        try:
            comparable = unit_comparable_price(
                terms.unit_price,
                bid.specification.as_comparable(),
                representative.as_comparable(),
                record.coefficients,
            )
        except ValueError:
            comparable = None
    validity, reasons = judgement.validity, judgement.reasons
    R = OpenedBid.Reason
    signature, signature_key = _signature_status(version=version, terms=terms)
    if signature == OpenedBid.Signature.INVALID:
        # Altered after it was signed (or signed by somebody else): tampered, the office decides.
        validity = OpenedBid.Validity.TAMPERED
        reasons = [*reasons, R.SIGNATURE_INVALID]
    elif (
        signature == OpenedBid.Signature.ABSENT
        and version.action != BidVersion.Action.WITHDRAW
        and signatures_required(round_=bid.round)
    ):
        if validity == OpenedBid.Validity.VALID:
            validity = OpenedBid.Validity.INVALID
        reasons = [*reasons, R.SIGNATURE_MISSING]
    log_reasons = record.log.reasons.get(bid.pk)
    if log_reasons:  # the office decides (docs/sealed-bidding.md, "Bid log")
        validity = OpenedBid.Validity.TAMPERED
        if version.action == BidVersion.Action.WITHDRAW:  # no terms: nothing to judge
            reasons = [r for r in reasons if r in _INTEGRITY_REASONS]
        reasons = [*log_reasons, *(r for r in reasons if r not in log_reasons)]
    return OpenedBid(
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
        validity=validity,
        reasons=[str(r) for r in reasons],
        receipt_hash=version.receipt_hash,
        signature=signature,
        signature_key=signature_key,
    )


@sensitive_variables()  # no price in a traceback's local variables
def _signature_status(*, version: BidVersion, terms: sealing.SealedTerms | None) -> tuple[str, str]:
    """The opened version's signature (valid / absent / invalid) and its key's fingerprint,
    verified over the content rebuilt from the decrypted terms (``bidding.signatures``)."""
    key = version.signing_key if version.signing_key_id is not None else None
    if not version.signature or key is None:
        return OpenedBid.Signature.ABSENT, ""
    content = None
    if terms is not None and terms.unit_price is not None and terms.annual_capacity is not None:
        identity = _version_identity(version)
        try:
            content = bid_signed_content(
                round_code=identity.round_code,
                manufacturer_code=identity.manufacturer_code,
                item_code=identity.item_code,
                specification_code=identity.specification_code,
                product_code=identity.product_code,
                version=identity.version,
                unit_price=terms.unit_price,
                annual_capacity=terms.annual_capacity,
            )
        except sealing.SealingError:
            content = None
    status = opened_signature_status(signature=bytes(version.signature), key=key, content=content)
    return status, key.fingerprint


def opening_due_check(*, now: datetime.datetime) -> int:
    """Close bidding of rounds whose opening time has come (Celery beat; idempotent).

    The bids themselves are opened only by the opening ceremony, when k officials have
    presented their shares (``bidding.services.ceremony``): no task can open them, since
    no task ever holds the round's private key. Returns how many rounds now wait for
    their ceremony.
    """
    waiting = 0
    due = Round.objects.filter(
        status__in=[S.BIDDING_OPEN, S.BIDDING_CLOSED],
        opening_at__lte=now,
        bid_deadline__lte=now,
        opening__isnull=True,
    ).values_list("pk", flat=True)
    for pk in due:
        with transaction.atomic():
            locked = _lock_round(pk, exclusive=True)
            if locked.status == S.BIDDING_OPEN:
                try:
                    round_close_bidding(
                        round_=locked, by=None, now=now, note="closed at the opening time"
                    )
                except ValidationError:
                    continue  # moved by someone else meanwhile
        logger.info("round %s: opening time reached, waiting for the ceremony", locked.code)
        waiting += 1
    return waiting

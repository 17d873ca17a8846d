"""Amendments (补遗): after publication the only way the document's ceilings, reference
prices and timetable change, each a numbered, published notice listing old -> new.

The rules (``tender.changes`` says which change is material):

* prices change only while bidding is open and before the bid deadline;
* a material amendment must leave the rule set's ``amendment_notice_days`` before the bid
  deadline (招标投标法 Art. 23, 实施条例 Art. 21): if it does not, the deadline moves to
  that many days after its publication (to the next whole minute), and the opening and
  the end of the objection period with it where the order needs it; the notice says so;
* bids on what a material change touches must be re-confirmed
  (``tender.selectors.reconfirmation_required_since``); their bidders are told.

Concurrency: the round row is locked (``select_for_update``) first, so an amendment does not
interleave with a transition, another amendment (the notice numbers), or a bid reading the
deadline; the timetable is written by ``procurement.services.round_timetable_write``, which
checks the state, the order and that new times are in the future.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Notification, User
from accounts.notifications import notify
from catalog.models import Specification
from procurement.models import Round, RoundItem, RoundTransition
from procurement.periods import period_days
from procurement.services import (
    round_is_published,
    round_item_write_prices,
    round_timetable_write,
    when_shown,
)
from tender import selectors
from tender.changes import AMENDABLE_TIMETABLE_FIELDS, ChangeKind, Scope, change_rule
from tender.models import Amendment, AmendmentChange, ProcurementDocumentVersion
from tender.services.documents import document_version_publish
from tender.signals import amendment_published

Moment = datetime.datetime | datetime.date


@dataclass
class AmendmentDraft:
    """What the office asks to change: new values only (ids of the round's items and
    specifications), and why."""

    reason: str
    reason_en: str = ""
    ceilings: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    reference_prices: dict[int, Decimal] = field(default_factory=dict)
    timetable: dict[str, Moment] = field(default_factory=dict)


@dataclass(frozen=True)
class PreviewLine:
    what: str
    old: str
    new: str
    material: bool
    automatic: bool
    numeric: bool


@dataclass(frozen=True)
class AmendmentPreview:
    """What publishing the draft now would do (nothing is written)."""

    number: int
    lines: list[PreviewLine]
    material: bool
    bid_deadline: datetime.datetime
    extended: bool
    notice_days: int


@dataclass
class _Planned:
    kind: str
    field: str
    round_item: RoundItem | None
    specification: Specification | None
    old: str
    new: str
    material: bool
    automatic: bool = False
    price: Decimal | None = None  # the new price of a price change


def _price(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _moment(value: Moment) -> str:
    return when_shown(value) if isinstance(value, datetime.datetime) else value.isoformat()


def _next_minute(moment: datetime.datetime) -> datetime.datetime:
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + datetime.timedelta(minutes=1)


def _check_price(price: Decimal, *, allow_zero: bool) -> None:
    if (
        not price.is_finite()
        or price < 0
        or (price == 0 and not allow_zero)
        or price != price.quantize(Decimal("0.0001"))
    ):
        raise ValidationError(
            _("A price must be greater than zero, with at most 4 decimal places: %(price)s.")
            % {"price": price}
        )


def _locked_published(round_: Round, now: datetime.datetime) -> Round:
    locked = Round.objects.select_for_update().select_related("rule_set").get(pk=round_.pk)
    published = ProcurementDocumentVersion.objects.filter(round=locked, number=1).exists()
    if not (round_is_published(locked) and published):
        raise ValidationError(
            _(
                "The procurement document of round %(code)s is not published yet (it is when "
                "bidding opens): change its ceilings and timetable directly."
            )
            % {"code": locked.code}
        )
    return locked


def _bidding_open(round_: Round, now: datetime.datetime) -> bool:
    return round_.status == Round.Status.BIDDING_OPEN and now < round_.bid_deadline


def _price_changes(locked: Round, draft: AmendmentDraft, now: datetime.datetime) -> list[_Planned]:
    """The ceiling and reference-price changes the draft asks for (unchanged ones left out)."""
    if not (draft.ceilings or draft.reference_prices):
        return []
    if not _bidding_open(locked, now):
        raise ValidationError(
            _(
                "Prices change by amendment only while bidding is open, before the bid "
                "deadline; round %(code)s is %(status)s."
            )
            % {"code": locked.code, "status": locked.get_status_display()}
        )
    round_items = {
        ri.pk: ri
        for ri in locked.items.select_related("item").prefetch_related(
            "item__specifications", "ceilings"
        )
    }
    planned = []
    for (round_item_id, specification_id), price in sorted(draft.ceilings.items()):
        round_item = round_items.get(round_item_id)
        specifications = round_item.item.specifications.all() if round_item is not None else []
        specification = next((s for s in specifications if s.pk == specification_id), None)
        if round_item is None or specification is None:
            raise ValidationError(_("That specification is not one of this round's items."))
        _check_price(price, allow_zero=False)
        current = next(
            (
                c.max_valid_bid_price
                for c in round_item.ceilings.all()
                if c.specification_id == specification_id
            ),
            None,
        )
        if current == price:
            continue
        planned.append(
            _Planned(
                kind=ChangeKind.CEILING,
                field="",
                round_item=round_item,
                specification=specification,
                old=_price(current),
                new=_price(price),
                material=change_rule(ChangeKind.CEILING).material,
                price=price,
            )
        )
    for round_item_id, price in sorted(draft.reference_prices.items()):
        round_item = round_items.get(round_item_id)
        if round_item is None:
            raise ValidationError(_("That item is not one of this round's items."))
        _check_price(price, allow_zero=True)
        if round_item.reference_price == price:
            continue
        planned.append(
            _Planned(
                kind=ChangeKind.REFERENCE_PRICE,
                field="",
                round_item=round_item,
                specification=None,
                old=_price(round_item.reference_price),
                new=_price(price),
                material=change_rule(ChangeKind.REFERENCE_PRICE).material,
                price=price,
            )
        )
    return planned


def _timetable(
    locked: Round, draft: AmendmentDraft, *, material: bool, now: datetime.datetime
) -> tuple[dict[str, Moment], set[str]]:
    """The new timetable values (asked for, and those the minimum notice forces), and which
    of them the rules moved beyond what was asked (the fields are checked by ``_amend``)."""
    new: dict[str, Moment] = {f: v for f, v in draft.timetable.items() if getattr(locked, f) != v}
    forced: set[str] = set()
    if not material:
        return new, forced
    deadline = new.get("bid_deadline", locked.bid_deadline)
    assert isinstance(deadline, datetime.datetime)
    minimum = now + datetime.timedelta(days=period_days(locked.rule_set, "amendment_notice_days"))
    if deadline >= minimum:
        return new, forced
    extended = _next_minute(minimum)
    opening = new.get("opening_at", locked.opening_at)
    assert isinstance(opening, datetime.datetime)
    new["bid_deadline"] = extended
    forced.add("bid_deadline")
    if opening < extended + (opening - deadline):
        new["opening_at"] = extended + (opening - deadline)
        forced.add("opening_at")
    moved_opening = new.get("opening_at", locked.opening_at)
    assert isinstance(moved_opening, datetime.datetime)
    if locked.objection_ends_at <= moved_opening:
        new["objection_ends_at"] = moved_opening + (locked.objection_ends_at - locked.opening_at)
        forced.add("objection_ends_at")
    return new, forced


def _amend(
    *, round_: Round, by: User, draft: AmendmentDraft, now: datetime.datetime
) -> tuple[Round, Amendment, list[AmendmentChange]]:
    """Check and write the draft's changes and the amendment's record (no version, no
    notice, no notification: ``amendment_publish`` adds them; the preview rolls back)."""
    locked = _locked_published(round_, now)
    reason = draft.reason.strip()
    if not reason:
        raise ValidationError(_("Say why the documents change: the reason is published."))
    unknown = sorted(set(draft.timetable) - set(AMENDABLE_TIMETABLE_FIELDS))
    if unknown:
        raise ValidationError(
            _("These times are not changed by an amendment: %(fields)s.")
            % {"fields": ", ".join(unknown)}
        )
    planned = _price_changes(locked, draft, now)
    asked_timetable = {f: v for f, v in draft.timetable.items() if getattr(locked, f) != v}
    # A material change made while bidders can still act (before the deadline) must be
    # re-confirmed and needs the minimum notice; made later it only informs (the contract
    # start of a round already opened).
    bidding_open = _bidding_open(locked, now)
    material = bidding_open and (
        any(p.material for p in planned)
        or any(change_rule(ChangeKind.TIMETABLE, f).material for f in asked_timetable)
    )
    timetable, forced = _timetable(locked, draft, material=material, now=now)
    if not planned and not timetable:
        raise ValidationError(_("Nothing changes: give at least one new value."))
    for f, value in sorted(timetable.items()):
        planned.append(
            _Planned(
                kind=ChangeKind.TIMETABLE,
                field=f,
                round_item=None,
                specification=None,
                old=_moment(getattr(locked, f)),
                new=_moment(value),
                material=bidding_open and change_rule(ChangeKind.TIMETABLE, f).material,
                automatic=f in forced,
            )
        )
    _write_prices(planned)
    if timetable:
        locked = round_timetable_write(
            round_=locked, by=by, timetable=timetable, now=now, history=False
        )
    number = (Amendment.objects.filter(round=locked).aggregate(n=Max("number"))["n"] or 0) + 1
    amendment = Amendment.objects.create(
        round=locked,
        number=number,
        reason=reason,
        reason_en=draft.reason_en.strip(),
        material=any(p.material for p in planned),
        published_at=now,
        published_by=by,
    )
    changes = AmendmentChange.objects.bulk_create(
        [
            AmendmentChange(
                amendment=amendment,
                position=position,
                kind=p.kind,
                field=p.field,
                round_item=p.round_item,
                specification=p.specification,
                old_value=p.old,
                new_value=p.new,
                material=p.material,
                automatic=p.automatic,
            )
            for position, p in enumerate(planned, 1)
        ]
    )
    return locked, amendment, changes


def _write_prices(planned: list[_Planned]) -> None:
    """Write the planned price changes, item by item (``round_item_write_prices``)."""
    by_item: dict[int, tuple[RoundItem, dict[Specification, Decimal], Decimal | None]] = {}
    for p in planned:
        if p.round_item is None or p.price is None:
            continue
        round_item, ceilings, reference = by_item.get(p.round_item.pk, (p.round_item, {}, None))
        if p.kind == ChangeKind.CEILING and p.specification is not None:
            ceilings[p.specification] = p.price
        elif p.kind == ChangeKind.REFERENCE_PRICE:
            reference = p.price
        by_item[p.round_item.pk] = (round_item, ceilings, reference)
    for round_item, ceilings, reference in by_item.values():
        round_item_write_prices(round_item=round_item, ceilings=ceilings, reference_price=reference)


def touched_lines(round_: Round, changes: list[AmendmentChange]) -> list[tuple[int, int | None]]:
    """The (round item, specification or None) lines the material changes touch: bids on
    them must be re-confirmed (a round-wide change touches every item)."""
    lines: set[tuple[int, int | None]] = set()
    for change in changes:
        if not change.material:
            continue
        scope = change_rule(change.kind, change.field).scope
        if scope == Scope.ROUND:
            lines |= {(pk, None) for pk in round_.items.values_list("pk", flat=True)}
        elif change.round_item_id is not None:
            specification = change.specification_id if scope == Scope.LINE else None
            lines.add((change.round_item_id, specification))
    return sorted(lines, key=lambda line: (line[0], line[1] or 0))


def _history_note(amendment: Amendment, changes: list[AmendmentChange]) -> str:
    parts = []
    for change in changes:
        target = change.field or change.kind
        if change.round_item is not None:
            target = f"{change.round_item.item.code}"
            if change.specification is not None:
                target += f" {change.specification.code}"
            target += f" {change.kind}"
        parts.append(f"{target}: {change.old_value or '-'} -> {change.new_value}")
    return f"amendment No. {amendment.number}: " + "; ".join(parts)


def _notify(
    round_: Round,
    amendment: Amendment,
    changes: list[AmendmentChange],
    lines: list[tuple[int, int | None]],
) -> None:
    """Every holder of the documents is told of the notice; the bidders whose bids it
    touches are told to re-confirm them (``selectors.bidders_on_line``)."""
    url = reverse("tender:notice", args=[round_.code, amendment.number])
    extended = any(c.automatic and c.field == "bid_deadline" for c in changes)
    params = {
        "code": round_.code,
        "number": amendment.number,
        "deadline": when_shown(round_.bid_deadline),
        "published": when_shown(amendment.published_at),
    }
    notify(
        organizations=selectors.document_holders(round_=round_),
        kind=Notification.Kind.AMENDMENT_PUBLISHED,
        subject=gettext_noop(
            "Round %(code)s: amendment No. %(number)s to the procurement document"
        ),
        body=(
            gettext_noop(
                "Amendment No. %(number)s to the procurement document of round %(code)s is "
                "published; the bid deadline moved to %(deadline)s to leave bidders the minimum "
                "time. Read what changed before you bid."
            )
            if extended
            else gettext_noop(
                "Amendment No. %(number)s to the procurement document of round %(code)s is "
                "published. Read what changed before you bid."
            )
        ),
        params=params,
        url=url,
        dedupe_key=f"tender-amendment-{amendment.pk}",
    )
    if not lines:
        return
    affected: set[int] = set()
    for round_item_id, specification_id in lines:
        affected |= selectors.bidders_on_line(
            round_item_id=round_item_id, specification_id=specification_id
        )
    notify(
        organizations=affected,
        kind=Notification.Kind.BID_RECONFIRM,
        subject=gettext_noop("Round %(code)s: re-confirm your bids after amendment No. %(number)s"),
        body=gettext_noop(
            "Amendment No. %(number)s changes terms that bids in round %(code)s depend on. A "
            "bid on what it changes sealed before %(published)s is not counted until its "
            "bidder re-confirms it: if you have bid on it, re-confirm your bid before the bid "
            "deadline %(deadline)s."
        ),
        params=params,
        url=url,
        dedupe_key=f"tender-reconfirm-{amendment.pk}",
    )


@transaction.atomic
def amendment_publish(
    *, round_: Round, by: User, draft: AmendmentDraft, now: datetime.datetime | None = None
) -> Amendment:
    """Publish a numbered amendment: write its changes, publish the document's next
    version (its PDFs rendered after commit), record it in the round's history, notify
    the holders of the documents and the bidders who must re-confirm."""
    now = now or timezone.now()
    locked, amendment, changes = _amend(round_=round_, by=by, draft=draft, now=now)
    document_version_publish(round_=locked, amendment=amendment, now=now)
    RoundTransition.objects.create(
        round=locked,
        from_status=locked.status,
        to_status=locked.status,
        by=by,
        note=_history_note(amendment, changes)[:300],
    )
    lines = touched_lines(locked, changes)
    _notify(locked, amendment, changes, lines)
    amendment_published.send(sender=Amendment, amendment=amendment, touched=lines)
    return amendment


class _Rollback(Exception):
    pass


def amendment_preview(
    *, round_: Round, by: User, draft: AmendmentDraft, now: datetime.datetime | None = None
) -> AmendmentPreview:
    """What ``amendment_publish`` would do now, from the very same checks and writes, rolled
    back: the changes with their old and new values, and whether the deadline moves.
    Raises the same ``ValidationError`` the publication would."""
    from tender.presentation import amendment_notice

    now = now or timezone.now()
    preview: AmendmentPreview | None = None
    try:
        with transaction.atomic():
            locked, amendment, changes = _amend(round_=round_, by=by, draft=draft, now=now)
            for change in changes:  # for the notice's labels
                change.amendment = amendment
            amendment._prefetched_objects_cache = {"changes": changes}  # type: ignore[attr-defined]
            notice = amendment_notice(amendment)
            preview = AmendmentPreview(
                number=amendment.number,
                lines=[
                    PreviewLine(
                        what=line.what,
                        old=line.old,
                        new=line.new,
                        material=line.material,
                        automatic=line.automatic,
                        numeric=line.numeric,
                    )
                    for line in notice.changes
                ],
                material=amendment.material,
                bid_deadline=locked.bid_deadline,
                extended=any(c.automatic and c.field == "bid_deadline" for c in changes),
                notice_days=period_days(locked.rule_set, "amendment_notice_days"),
            )
            raise _Rollback
    except _Rollback:
        pass
    assert preview is not None
    return preview

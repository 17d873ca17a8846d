"""The round's lifecycle: creation, its items, every transition, the timetable, the
deadline sweep.

Every lifecycle step is one service. A transition is a conditional
``UPDATE ... WHERE status = <expected>`` whose row count is checked, so two concurrent
requests (or a request racing the deadline sweep) cannot both move a round: the loser gets
the "already moved" refusal instead of a double transition.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Organization, Region, User
from catalog.models import ProcurementItem
from procurement.models import Round, RoundItem, RoundTransition, RuleSet
from procurement.notices import round_transition_notices
from procurement.optimiser.kinds import Family, family_of
from procurement.periods import PERIODS, period_days
from procurement.selectors import hospitals_not_declared
from procurement.services.rule_sets import rule_set_require_fits
from procurement.signals import bidding_closed, round_published

logger = logging.getLogger(__name__)

S = Round.Status

# Which state may follow which (DESIGN.md §2.3). Cancellation is possible before award.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.DEMAND_OPEN, S.CANCELLED}),
    S.DEMAND_OPEN: frozenset({S.DEMAND_CLOSED, S.CANCELLED}),
    S.DEMAND_CLOSED: frozenset({S.BIDDING_OPEN, S.DEMAND_OPEN, S.CANCELLED}),
    S.BIDDING_OPEN: frozenset({S.BIDDING_CLOSED, S.CANCELLED}),
    S.BIDDING_CLOSED: frozenset({S.BIDS_OPENED, S.CANCELLED}),
    S.BIDS_OPENED: frozenset({S.EVALUATED, S.CANCELLED}),
    S.EVALUATED: frozenset({S.OBJECTION, S.EVALUATED, S.CANCELLED}),
    S.OBJECTION: frozenset({S.AWARDED, S.EVALUATED, S.CANCELLED}),
    S.AWARDED: frozenset({S.CONTRACTED}),
    S.CONTRACTED: frozenset({S.IN_EXECUTION}),
    S.IN_EXECUTION: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}


# The round's procurement document (招标文件) is published when bidding opens (the rule set
# is frozen then, and items, ceilings and the pooled demand are final): from then on its
# items, ceilings and timetable change only through a numbered amendment (补遗, the tender
# app), never through the direct edits below. docs/procurement-document.md says why.
PUBLISHED_STATES = frozenset(
    {
        S.BIDDING_OPEN,
        S.BIDDING_CLOSED,
        S.BIDS_OPENED,
        S.EVALUATED,
        S.OBJECTION,
        S.AWARDED,
        S.CONTRACTED,
        S.IN_EXECUTION,
        S.CLOSED,
    }
)
# What the timetable form may still change directly after publication: the objection
# period is not a term bidders price (its rules are the award's).
DIRECT_AFTER_PUBLICATION = frozenset({"objection_ends_at"})


def round_is_published(round_: Round) -> bool:
    """Has the round's procurement document been published (bidding opened)?"""
    return round_.status in PUBLISHED_STATES


def when_shown(moment: datetime.datetime) -> str:
    """A moment as messages show it: local time to the minute."""
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def _next_minute(moment: datetime.datetime) -> datetime.datetime:
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + datetime.timedelta(minutes=1)


def round_require_bid_period(
    round_: Round, *, now: datetime.datetime, publishing: bool = False
) -> None:
    """The bid deadline leaves the rule set's ``bid_preparation_days`` after publication.

    The document is published when bidding opens (``publishing``: now); before that the
    timetable plans it for the close of demand, and it cannot be earlier than now. Checked
    when a round is created, whenever its timetable changes before publication, and when
    bidding opens (``procurement.periods``).
    """
    days = period_days(round_.rule_set, "bid_preparation_days")
    publication = now if publishing else max(now, round_.demand_closes_at)
    earliest = publication + datetime.timedelta(days=days)
    if round_.bid_deadline >= earliest:
        return
    params = {
        "deadline": when_shown(round_.bid_deadline),
        "publication": when_shown(publication),
        "days": days,
        "rule_set": str(round_.rule_set),
        "source": str(PERIODS["bid_preparation_days"].source),
        "earliest": when_shown(_next_minute(earliest)),
    }
    if publishing:
        message = ngettext(
            "Bidding cannot open now: rule set %(rule_set)s requires at least %(days)s day "
            "between publishing the procurement document, which opening bidding does, and the "
            "bid deadline %(deadline)s (%(source)s). Extend the bid deadline to %(earliest)s "
            "or later first.",
            "Bidding cannot open now: rule set %(rule_set)s requires at least %(days)s days "
            "between publishing the procurement document, which opening bidding does, and the "
            "bid deadline %(deadline)s (%(source)s). Extend the bid deadline to %(earliest)s "
            "or later first.",
            days,
        )
    else:
        message = ngettext(
            "The bid deadline %(deadline)s is too early: rule set %(rule_set)s requires at "
            "least %(days)s day between publishing the procurement document, when bidding "
            "opens (at the earliest %(publication)s), and the bid deadline (%(source)s). Set "
            "the bid deadline to %(earliest)s or later.",
            "The bid deadline %(deadline)s is too early: rule set %(rule_set)s requires at "
            "least %(days)s days between publishing the procurement document, when bidding "
            "opens (at the earliest %(publication)s), and the bid deadline (%(source)s). Set "
            "the bid deadline to %(earliest)s or later.",
            days,
        )
    raise ValidationError(message % params, code="bid_period")


@transaction.atomic
def round_create(
    *,
    office: Organization,
    code: str,
    name: str,
    kind: str,
    rule_set: RuleSet,
    regions: Iterable[Region],
    demand_opens_at: datetime.datetime,
    demand_closes_at: datetime.datetime,
    bid_deadline: datetime.datetime,
    opening_at: datetime.datetime,
    objection_ends_at: datetime.datetime,
    contract_starts_on: datetime.date,
    items: Sequence[ProcurementItem] = (),
    name_en: str = "",
    by: User | None = None,
    now: datetime.datetime | None = None,
) -> Round:
    if office.kind != Organization.Kind.OFFICE:
        raise ValidationError(_("Only a procurement office can create a round."))
    rule_set_require_fits(round_kind=kind, rule_set=rule_set)
    round_ = Round(
        office=office,
        code=code.strip(),
        name=name,
        name_en=name_en,
        kind=kind,
        rule_set=rule_set,
        demand_opens_at=demand_opens_at,
        demand_closes_at=demand_closes_at,
        bid_deadline=bid_deadline,
        opening_at=opening_at,
        objection_ends_at=objection_ends_at,
        contract_starts_on=contract_starts_on,
    )
    round_.full_clean()
    round_require_bid_period(round_, now=now or timezone.now())
    round_.save()
    round_.regions.set(list(regions))
    round_add_items(round_=round_, items=items)
    RoundTransition.objects.create(
        round=round_, from_status=S.DRAFT, to_status=S.DRAFT, by=by, note="created"
    )
    return round_


def round_require_editable(round_: Round) -> None:
    """Refuse a direct change of items or ceilings once the procurement document is
    published (bidding opened): while bidding is open an amendment makes it."""
    if round_.status == S.BIDDING_OPEN:
        raise ValidationError(
            _(
                "The procurement document of round %(code)s is published: its items no longer "
                "change, and its ceilings only through a numbered amendment, published to "
                "every bidder (Publish an amendment, on the round page)."
            )
            % {"code": round_.code},
            code="published",
        )
    if round_.status not in {S.DRAFT, S.DEMAND_OPEN, S.DEMAND_CLOSED}:
        raise ValidationError(
            _("Round %(code)s is %(status)s: its items and ceilings can no longer change.")
            % {"code": round_.code, "status": round_.get_status_display()}
        )


@transaction.atomic
def round_add_items(*, round_: Round, items: Sequence[ProcurementItem]) -> list[RoundItem]:
    round_require_editable(round_)
    wrong = [i.code for i in items if i.kind != round_.product_kind]
    if wrong:
        raise ValidationError(
            _("Items %(codes)s are not of this round's kind (%(kind)s).")
            % {"codes": ", ".join(wrong), "kind": round_.get_kind_display()}
        )
    created = []
    for item in items:
        round_item, was_created = RoundItem.objects.get_or_create(round=round_, item=item)
        if was_created:
            created.append(round_item)
    return created


def _transition(
    *,
    round_: Round,
    to: str,
    by: User | None,
    note: str = "",
    extra: dict[str, object] | None = None,
) -> Round:
    """Move ``round_`` to ``to`` if it is still in the state the caller saw."""
    expected = round_.status
    if to not in ALLOWED_TRANSITIONS[expected]:
        raise ValidationError(
            _("Round %(code)s cannot go from “%(from)s” to “%(to)s”.")
            % {"code": round_.code, "from": round_.get_status_display(), "to": S(to).label}
        )
    updated = Round.objects.filter(pk=round_.pk, status=expected).update(status=to, **(extra or {}))
    if updated != 1:
        current = Round.objects.get(pk=round_.pk)
        raise ValidationError(
            _("Round %(code)s has already moved to “%(status)s”; reload the page.")
            % {"code": round_.code, "status": current.get_status_display()}
        )
    RoundTransition.objects.create(
        round=round_, from_status=expected, to_status=to, by=by, note=note
    )
    round_.status = to
    for field, value in (extra or {}).items():
        setattr(round_, field, value)
    if to == S.BIDDING_CLOSED:
        bidding_closed.send(sender=Round, round_=round_, by=by, at=timezone.now())
    round_transition_notices(round_, to)
    return round_


@transaction.atomic
def round_open_demand(
    *, round_: Round, by: User | None, now: datetime.datetime | None = None
) -> Round:
    now = now or timezone.now()
    if not round_.items.exists():
        raise ValidationError(_("Add at least one item before opening demand declaration."))
    if now >= round_.demand_closes_at:
        raise ValidationError(
            _("The demand window closed at %(when)s; move the timetable before opening demand.")
            % {"when": when_shown(round_.demand_closes_at)}
        )
    return _transition(round_=round_, to=S.DEMAND_OPEN, by=by)


@transaction.atomic
def round_close_demand(
    *,
    round_: Round,
    by: User | None,
    note: str = "",
    undeclared_seen: int | None = None,
    now: datetime.datetime | None = None,
) -> Round:
    """Close demand declaration. Closing before the closing time while hospitals of the
    scope have not declared is the office's confirmed choice: the round page names them
    and asks again, and passes ``undeclared_seen``, how many it showed; if more or fewer
    are undeclared now (one declared meanwhile), the service refuses and the page asks
    again with the list as it is."""
    now = now or timezone.now()
    if undeclared_seen is not None and now < round_.demand_closes_at:
        undeclared = hospitals_not_declared(round_=round_).count()
        if undeclared != undeclared_seen:
            raise ValidationError(
                ngettext(
                    "%(n)s hospital has not declared; the list changed since you were asked. "
                    "Check it again before closing demand early.",
                    "%(n)s hospitals have not declared; the list changed since you were "
                    "asked. Check it again before closing demand early.",
                    undeclared,
                )
                % {"n": undeclared}
            )
        early = f"closed early, {undeclared} undeclared"  # shown translated (transition_notes)
        note = f"{note}; {early}" if note else early
    return _transition(round_=round_, to=S.DEMAND_CLOSED, by=by, note=note)


@transaction.atomic
def round_open_bidding(
    *, round_: Round, by: User | None, now: datetime.datetime | None = None
) -> Round:
    """Open bidding: needs a ceiling for every item and a bid deadline the rule set's
    ``bid_preparation_days`` away; freezes the rule set version and publishes the round's
    procurement document (the ``round_published`` signal, received by the tender app in
    the same transaction)."""
    now = now or timezone.now()
    if now >= round_.bid_deadline:
        raise ValidationError(
            _("The bid deadline %(when)s has passed; move the timetable before opening bidding.")
            % {"when": when_shown(round_.bid_deadline)}
        )
    missing = list(
        round_.items.filter(ceilings__isnull=True)
        .values_list("item__code", flat=True)
        .order_by("item__code")
    )
    if missing:
        raise ValidationError(
            _("Set a maximum valid bid price for every item first; missing: %(codes)s.")
            % {"codes": ", ".join(missing)}
        )
    round_require_bid_period(round_, now=now, publishing=True)
    RuleSet.objects.filter(pk=round_.rule_set_id, frozen_at__isnull=True).update(frozen_at=now)
    # The bidding units' own rule sets are published and frozen with the round's.
    RuleSet.objects.filter(
        pk__in=round_.items.filter(rule_set__isnull=False).values("rule_set"),
        frozen_at__isnull=True,
    ).update(frozen_at=now)
    opened = _transition(round_=round_, to=S.BIDDING_OPEN, by=by)
    round_published.send(sender=Round, round_=opened, by=by, at=now)
    return opened


@transaction.atomic
def round_close_bidding(
    *, round_: Round, by: User | None, now: datetime.datetime | None = None, note: str = ""
) -> Round:
    now = now or timezone.now()
    if now < round_.bid_deadline:
        raise ValidationError(
            _("Bidding stays open until the deadline %(when)s.")
            % {"when": when_shown(round_.bid_deadline)}
        )
    return _transition(round_=round_, to=S.BIDDING_CLOSED, by=by, note=note)


@transaction.atomic
def round_advance(*, round_: Round, to: str, by: User | None, note: str = "") -> Round:
    """A later-stage transition (opening, evaluation, award...) made by a higher app's service."""
    return _transition(round_=round_, to=to, by=by, note=note)


# Which timetable fields may still change in each state. Before bidding everything may; once
# bidding is open the deadline can only be extended (bidders keep the time they were
# promised); past the opening only the objection period and the contract start remain.
TIMETABLE_EDITABLE: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset(
        {"demand_opens_at", "demand_closes_at", "bid_deadline", "opening_at"}
        | {"objection_ends_at", "contract_starts_on"}
    ),
    S.DEMAND_OPEN: frozenset(
        {
            "demand_closes_at",
            "bid_deadline",
            "opening_at",
            "objection_ends_at",
            "contract_starts_on",
        }
    ),
    S.DEMAND_CLOSED: frozenset(
        {"bid_deadline", "opening_at", "objection_ends_at", "contract_starts_on"}
    ),
    S.BIDDING_OPEN: frozenset(
        {"bid_deadline", "opening_at", "objection_ends_at", "contract_starts_on"}
    ),
    S.BIDDING_CLOSED: frozenset({"opening_at", "objection_ends_at", "contract_starts_on"}),
    S.BIDS_OPENED: frozenset({"objection_ends_at", "contract_starts_on"}),
    S.EVALUATED: frozenset({"objection_ends_at", "contract_starts_on"}),
    S.OBJECTION: frozenset({"objection_ends_at", "contract_starts_on"}),
}


@transaction.atomic
def round_update_timetable(
    *,
    round_: Round,
    by: User | None,
    timetable: dict[str, datetime.datetime | datetime.date],
    now: datetime.datetime | None = None,
) -> Round:
    """Move a round's timetable directly (the timetable form), within what its state allows.

    Once the procurement document is published (bidding opened) only the objection period
    changes here: every other time is a term of the document and moves only through a
    numbered amendment (``tender.services.amendment_publish``).
    """
    now = now or timezone.now()
    locked = Round.objects.select_for_update().get(pk=round_.pk)
    if round_is_published(locked):
        # What the state still lets move, but not directly (times the state no longer lets
        # move at all are refused as such by round_timetable_write).
        editable = TIMETABLE_EDITABLE.get(locked.status, frozenset())
        amended = sorted(
            f
            for f, v in timetable.items()
            if getattr(locked, f) != v and f in editable - DIRECT_AFTER_PUBLICATION
        )
        if amended:
            raise ValidationError(
                _(
                    "The procurement document of round %(code)s is published: change "
                    "%(fields)s through a numbered amendment, published to every bidder "
                    "(Publish an amendment, on the round page)."
                )
                % {
                    "code": locked.code,
                    "fields": ", ".join(
                        str(getattr(Round._meta.get_field(f), "verbose_name", f)) for f in amended
                    ),
                },
                code="published",
            )
    return round_timetable_write(round_=locked, by=by, timetable=timetable, now=now)


@transaction.atomic
def round_timetable_write(
    *,
    round_: Round,
    by: User | None,
    timetable: dict[str, datetime.datetime | datetime.date],
    now: datetime.datetime,
    history: bool = True,
) -> Round:
    """Change the timetable within what the round's state allows, without the publication
    guard: ``round_update_timetable`` (the form) and the amendment service call it; the
    amendment records its own history and notice (``history=False``).

    The round row is locked (``select_for_update``) so a change cannot interleave with a
    transition or with a bid transaction reading the deadline. Before publication the bid
    deadline is re-checked against the rule set's ``bid_preparation_days``.
    """
    locked = Round.objects.select_for_update().get(pk=round_.pk)
    before = {f: getattr(locked, f) for f in timetable}
    editable = TIMETABLE_EDITABLE.get(locked.status, frozenset())
    changed = {f: v for f, v in timetable.items() if getattr(locked, f) != v}
    if not changed:
        return locked
    labels = {f: str(getattr(Round._meta.get_field(f), "verbose_name", f)) for f in changed}
    frozen = sorted(set(changed) - editable)
    if frozen:
        raise ValidationError(
            _("Round %(code)s is %(status)s: %(fields)s can no longer change.")
            % {
                "code": locked.code,
                "status": locked.get_status_display(),
                "fields": ", ".join(labels[f] for f in frozen),
            }
        )
    new_deadline = changed.get("bid_deadline")
    if (
        locked.status == S.BIDDING_OPEN
        and isinstance(new_deadline, datetime.datetime)
        and new_deadline < locked.bid_deadline
    ):
        raise ValidationError(
            _("While bidding is open the bid deadline can only be extended, not brought forward.")
        )
    new_end = changed.get("objection_ends_at")
    if (
        locked.status == S.OBJECTION
        and isinstance(new_end, datetime.datetime)
        and new_end < locked.objection_ends_at
    ):
        raise ValidationError(
            _(
                "The objection period is published and ends %(when)s: it can only be "
                "extended, not shortened."
            )
            % {"when": when_shown(locked.objection_ends_at)}
        )
    for field in ("demand_closes_at", "bid_deadline", "opening_at"):
        moment = changed.get(field)
        if isinstance(moment, datetime.datetime) and moment <= now:
            raise ValidationError(
                _("The new %(field)s (%(when)s) is already past.")
                % {"field": labels[field], "when": when_shown(moment)}
            )
    for field, value in changed.items():
        setattr(locked, field, value)
    locked.full_clean(exclude=["office", "rule_set", "code", "name", "name_en", "kind", "status"])
    if not round_is_published(locked):
        round_require_bid_period(locked, now=now)
    locked.save(update_fields=sorted(changed))
    if history:
        note = "; ".join(
            f"{f}: {_shown(before[f])} -> {_shown(v)}" for f, v in sorted(changed.items())
        )
        RoundTransition.objects.create(
            round=locked, from_status=locked.status, to_status=locked.status, by=by, note=note[:300]
        )
    return locked


def _shown(value: datetime.datetime | datetime.date) -> str:
    return when_shown(value) if isinstance(value, datetime.datetime) else value.isoformat()


@transaction.atomic
def round_cancel(*, round_: Round, by: User | None, reason: str) -> Round:
    if not reason.strip():
        raise ValidationError(_("Give a reason for cancelling the round."))
    return _transition(
        round_=round_, to=S.CANCELLED, by=by, note=reason, extra={"cancelled_reason": reason}
    )


@transaction.atomic
def round_set_rule_set(*, round_: Round, rule_set: RuleSet) -> Round:
    if round_.status not in {S.DRAFT, S.DEMAND_OPEN, S.DEMAND_CLOSED}:
        raise ValidationError(
            _("The rule set is frozen once bidding opens; round %(code)s is %(status)s.")
            % {"code": round_.code, "status": round_.get_status_display()}
        )
    rule_set_require_fits(round_kind=round_.kind, rule_set=rule_set)
    round_.rule_set = rule_set
    round_.save(update_fields=["rule_set"])
    return round_


@transaction.atomic
def round_item_set_rule_set(
    *, round_item: RoundItem, rule_set: RuleSet | None, by: User | None
) -> RoundItem:
    """Give a consumables round's bidding unit its own rule set (``None``: the round's).

    Stents, joints and lenses of one round are awarded under their own rules; like the
    round's rule set this is decided before bidding opens (the procurement document
    publishes it) and frozen with it."""
    round_ = Round.objects.select_for_update().get(pk=round_item.round_id)
    if round_.kind != Round.Kind.CONSUMABLES:
        raise ValidationError(
            _(
                "Only the bidding units of a consumables round have their own rule sets; "
                "round %(code)s uses one rule set for all its items."
            )
            % {"code": round_.code}
        )
    if round_.status not in {S.DRAFT, S.DEMAND_OPEN, S.DEMAND_CLOSED}:
        raise ValidationError(
            _(
                "The rule set of %(item)s cannot change: rule sets are published with the "
                "procurement document and frozen once bidding opens; round %(code)s is "
                "%(status)s."
            )
            % {
                "item": round_item.item.code,
                "code": round_.code,
                "status": round_.get_status_display(),
            }
        )
    if rule_set is not None:
        rule_set_require_fits(round_kind=round_.kind, rule_set=rule_set)
        if family_of(rule_set.kind) != Family.CONSUMABLE:
            raise ValidationError(
                _(
                    "Rule set %(rule_set)s awards all items of a round together; a bidding "
                    "unit takes a consumables rule set."
                )
                % {"rule_set": str(rule_set)}
            )
        if rule_set.pk == round_.rule_set_id:
            rule_set = None  # the round's own: follows it if the round's changes
    round_item.rule_set = rule_set
    round_item.save(update_fields=["rule_set"])
    logger.info(
        "round %s item %s: rule set %s by %s",
        round_.code,
        round_item.item.code,
        rule_set.pk if rule_set else "of the round",
        by.pk if by else None,
    )
    return round_item


def round_deadline_check(*, now: datetime.datetime) -> int:
    """Close demand and bidding windows whose deadlines have passed (Celery beat, idempotent)."""
    changed = 0
    for round_ in Round.objects.filter(status=S.DEMAND_OPEN, demand_closes_at__lte=now):
        try:
            with transaction.atomic():
                _transition(round_=round_, to=S.DEMAND_CLOSED, by=None, note="deadline")
            changed += 1
        except ValidationError:
            pass  # moved by someone else meanwhile: nothing to do
    for round_ in Round.objects.filter(status=S.BIDDING_OPEN, bid_deadline__lte=now):
        try:
            with transaction.atomic():
                _transition(round_=round_, to=S.BIDDING_CLOSED, by=None, note="deadline")
            changed += 1
        except ValidationError:
            pass
    return changed

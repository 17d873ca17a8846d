"""State changes for rule sets, rounds, round items, ceilings.

Every lifecycle step is one service. A transition is a conditional
``UPDATE ... WHERE status = <expected>`` whose row count is checked, so two concurrent
requests (or a request racing the deadline sweep) cannot both move a round: the loser gets
the "already moved" refusal instead of a double transition.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Organization, Region, User
from catalog.models import ProcurementItem, Specification
from procurement.models import Ceiling, Round, RoundItem, RoundTransition, RuleSet
from procurement.optimiser.presets import PRESETS, validate_rule_set

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


def _when(moment: datetime.datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def _rule_set_errors(kind: str, parameters: dict[str, object]) -> None:
    errors = validate_rule_set(kind, parameters)
    if errors:
        raise ValidationError(
            [
                _("Rule set parameter %(path)s: %(message)s") % {"path": p, "message": m}
                for p, m in errors
            ]
        )


# --- rule sets ----------------------------------------------------------------------------


def rule_set_load_presets() -> int:
    """Create the ready-made rule sets (version 1 of each preset) if missing. Idempotent."""
    created = 0
    for preset in PRESETS.values():
        _, was_created = RuleSet.objects.get_or_create(
            name=preset.name,
            version=1,
            defaults={
                "kind": preset.kind,
                "parameters": preset.copy_parameters(),
                "description": f"{preset.name} ({preset.version})",
                "source": preset.source,
            },
        )
        created += int(was_created)
    return created


@transaction.atomic
def rule_set_revise(
    *, rule_set: RuleSet, parameters: dict[str, object], description: str = ""
) -> RuleSet:
    """Change a rule set's parameters.

    A frozen version (used by a round that has opened bidding) is never changed: the edit
    becomes a new version, and rounds already bidding keep the version they froze.
    """
    _rule_set_errors(rule_set.kind, parameters)
    locked = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    if not locked.is_frozen:
        locked.parameters = parameters
        if description:
            locked.description = description
        locked.save(update_fields=["parameters", "description"])
        return locked
    latest = RuleSet.objects.filter(name=locked.name).aggregate(v=Max("version"))["v"] or 0
    return RuleSet.objects.create(
        name=locked.name,
        version=latest + 1,
        kind=locked.kind,
        parameters=parameters,
        description=description or locked.description,
        source=locked.source,
    )


# --- rounds -------------------------------------------------------------------------------

RULE_KINDS_BY_ROUND_KIND = {
    Round.Kind.DRUGS: {
        "national_drug",
        "national_drug_batch10",
        "national_drug_anchor",
        "optimised_award",
    },
    Round.Kind.CONSUMABLES: {"consumables_groups", "renewal", "optimised_award"},
}


def _require_rule_kind_fits(*, round_kind: str, rule_set: RuleSet) -> None:
    if rule_set.kind not in RULE_KINDS_BY_ROUND_KIND[Round.Kind(round_kind)]:
        raise ValidationError(
            _("Rule set %(rule_set)s (%(kind)s) does not apply to a %(round_kind)s round.")
            % {
                "rule_set": str(rule_set),
                "kind": rule_set.kind,
                "round_kind": Round.Kind(round_kind).label,
            }
        )


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
) -> Round:
    if office.kind != Organization.Kind.OFFICE:
        raise ValidationError(_("Only a procurement office can create a round."))
    _require_rule_kind_fits(round_kind=kind, rule_set=rule_set)
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
    round_.save()
    round_.regions.set(list(regions))
    round_add_items(round_=round_, items=items)
    RoundTransition.objects.create(
        round=round_, from_status=S.DRAFT, to_status=S.DRAFT, by=by, note="created"
    )
    return round_


def _require_editable(round_: Round) -> None:
    if round_.status not in {S.DRAFT, S.DEMAND_OPEN, S.DEMAND_CLOSED}:
        raise ValidationError(
            _("Round %(code)s is %(status)s: its items and ceilings can no longer change.")
            % {"code": round_.code, "status": round_.get_status_display()}
        )


@transaction.atomic
def round_add_items(*, round_: Round, items: Sequence[ProcurementItem]) -> list[RoundItem]:
    _require_editable(round_)
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


@transaction.atomic
def round_item_set_prices(
    *,
    round_item: RoundItem,
    ceilings: dict[Specification, Decimal],
    reference_price: Decimal | None = None,
) -> None:
    """Set maximum valid bid prices (per specification) and the reference price."""
    _require_editable(round_item.round)
    for specification, price in ceilings.items():
        if specification.item_id != round_item.item_id:
            raise ValidationError(
                _("Specification %(spec)s does not belong to item %(item)s.")
                % {"spec": specification.code, "item": round_item.item.code}
            )
        if price <= 0 or price != price.quantize(Decimal("0.0001")):
            raise ValidationError(
                _(
                    "The maximum valid bid price must be positive, with at most 4 decimal "
                    "places: %(price)s."
                )
                % {"price": price}
            )
        Ceiling.objects.update_or_create(
            round_item=round_item,
            specification=specification,
            defaults={"max_valid_bid_price": price},
        )
    if reference_price is not None:
        if reference_price < 0:
            raise ValidationError(_("The reference price cannot be negative."))
        round_item.reference_price = reference_price
        round_item.save(update_fields=["reference_price"])


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
            % {"when": _when(round_.demand_closes_at)}
        )
    return _transition(round_=round_, to=S.DEMAND_OPEN, by=by)


@transaction.atomic
def round_close_demand(*, round_: Round, by: User | None, note: str = "") -> Round:
    return _transition(round_=round_, to=S.DEMAND_CLOSED, by=by, note=note)


@transaction.atomic
def round_open_bidding(
    *, round_: Round, by: User | None, now: datetime.datetime | None = None
) -> Round:
    """Open bidding: needs a ceiling for every item; freezes the rule set version."""
    now = now or timezone.now()
    if now >= round_.bid_deadline:
        raise ValidationError(
            _("The bid deadline %(when)s has passed; move the timetable before opening bidding.")
            % {"when": _when(round_.bid_deadline)}
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
    RuleSet.objects.filter(pk=round_.rule_set_id, frozen_at__isnull=True).update(frozen_at=now)
    return _transition(round_=round_, to=S.BIDDING_OPEN, by=by)


@transaction.atomic
def round_close_bidding(
    *, round_: Round, by: User | None, now: datetime.datetime | None = None, note: str = ""
) -> Round:
    now = now or timezone.now()
    if now < round_.bid_deadline:
        raise ValidationError(
            _("Bidding stays open until the deadline %(when)s.")
            % {"when": _when(round_.bid_deadline)}
        )
    return _transition(round_=round_, to=S.BIDDING_CLOSED, by=by, note=note)


@transaction.atomic
def round_advance(*, round_: Round, to: str, by: User | None, note: str = "") -> Round:
    """A later-stage transition (opening, evaluation, award...) made by a higher app's service."""
    return _transition(round_=round_, to=to, by=by, note=note)


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
    _require_rule_kind_fits(round_kind=round_.kind, rule_set=rule_set)
    round_.rule_set = rule_set
    round_.save(update_fields=["rule_set"])
    return round_


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

"""State changes for rule sets, rounds, round items, ceilings.

Every lifecycle step is one service. A transition is a conditional
``UPDATE ... WHERE status = <expected>`` whose row count is checked, so two concurrent
requests (or a request racing the deadline sweep) cannot both move a round: the loser gets
the "already moved" refusal instead of a double transition.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Organization, Region, User
from catalog.imports import (
    MAX_ROWS_IN_REQUEST,
    PREVIEW_ROWS,
    Action,
    ImportOutcome,
    PreviewRow,
    RowsRefused,
    upload_preview_run,
    upload_run,
)
from catalog.models import ProcurementItem, Product, Specification, StoredUpload
from catalog.spreadsheets import (
    ROW,
    Column,
    ColumnKind,
    RowError,
    SpreadsheetRefused,
    convert_frame,
    duplicate_errors,
    map_unique,
    read_spreadsheet,
    sort_errors,
)
from procurement.models import (
    Ceiling,
    DemandChange,
    DemandDeclaration,
    Round,
    RoundItem,
    RoundTransition,
    RuleSet,
)
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
    """Move a round's timetable, within what its state still allows.

    The round row is locked (``select_for_update``) so a change cannot interleave with a
    transition or with a bid transaction reading the deadline. Every change is recorded in
    the round's history with the old and new values.
    """
    now = now or timezone.now()
    locked = Round.objects.select_for_update().get(pk=round_.pk)
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
    for field in ("demand_closes_at", "bid_deadline", "opening_at"):
        moment = changed.get(field)
        if isinstance(moment, datetime.datetime) and moment <= now:
            raise ValidationError(
                _("The new %(field)s (%(when)s) is already past.")
                % {"field": labels[field], "when": _when(moment)}
            )
    for field, value in changed.items():
        setattr(locked, field, value)
    locked.full_clean(exclude=["office", "rule_set", "code", "name", "name_en", "kind", "status"])
    locked.save(update_fields=sorted(changed))
    note = "; ".join(
        f"{f}: {_shown(getattr(round_, f))} -> {_shown(v)}" for f, v in sorted(changed.items())
    )
    RoundTransition.objects.create(
        round=locked, from_status=locked.status, to_status=locked.status, by=by, note=note[:300]
    )
    return locked


def _shown(value: datetime.datetime | datetime.date) -> str:
    return _when(value) if isinstance(value, datetime.datetime) else value.isoformat()


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


# --- demand declaration -------------------------------------------------------------------
#
# One validation for the three ways in (web table, spreadsheet upload, API): each builds a
# frame of text cells and calls ``demand_apply``. Quantities are converted by
# ``catalog.spreadsheets.convert_frame`` (the same code that reads uploaded sheets), codes
# are resolved with vectorised merges (no query per line), and the rows are written with
# bulk operations (COPY on PostgreSQL) inside one transaction, or not at all.

DEMAND_HOSPITAL = Column(
    "hospital_code",
    ("医疗机构代码", "统一社会信用代码", "hospital credit code", "hospital code"),
    kind=ColumnKind.CODE,
    required=False,
    allow_blank=True,
)
DEMAND_ITEM = Column("item_code", ("品种编码", "item code"), kind=ColumnKind.CODE)
DEMAND_SPECIFICATION = Column(
    "specification_code", ("规格编码", "specification code"), kind=ColumnKind.CODE
)
DEMAND_REGISTRATION = Column("registration_number", ("注册证编号", "registration number"))
DEMAND_MODEL = Column("model_number", ("型号", "model"), required=False, allow_blank=True)
DEMAND_QUANTITY = Column(
    "quantity",
    ("年度需求量", "数量", "需求量", "annual quantity", "quantity"),
    kind=ColumnKind.POSITIVE_INT,
    allow_blank=True,
)


def demand_columns(round_kind: str) -> list[Column]:
    """The columns of a demand sheet: per specification (drugs) or per product (consumables)."""
    if round_kind == Round.Kind.DRUGS:
        return [DEMAND_HOSPITAL, DEMAND_ITEM, DEMAND_SPECIFICATION, DEMAND_QUANTITY]
    return [DEMAND_HOSPITAL, DEMAND_ITEM, DEMAND_REGISTRATION, DEMAND_MODEL, DEMAND_QUANTITY]


@dataclass(frozen=True)
class DemandLine:
    """One line as a client sends it (web form or API): codes and a raw quantity."""

    item_code: str
    quantity: object
    specification_code: str = ""
    registration_number: str = ""
    model_number: str = ""
    hospital_code: str = ""


def _require_demand_open(round_: Round, now: datetime.datetime) -> None:
    if round_.status == S.DEMAND_OPEN and now < round_.demand_closes_at:
        return
    if round_.status == S.DEMAND_OPEN or now >= round_.demand_closes_at:
        raise ValidationError(
            _(
                "Demand declaration for round %(code)s closed at %(when)s; changes are no "
                "longer accepted."
            )
            % {"code": round_.code, "when": _when(round_.demand_closes_at)}
        )
    raise ValidationError(
        _("Demand declaration for round %(code)s is not open: the round is “%(status)s”.")
        % {"code": round_.code, "status": round_.get_status_display()}
    )


def _lock_round_for_demand(round_: Round, *, exclusive: bool) -> Round:
    """Lock the round row so demand cannot be written while the window is being closed.

    Hospitals take a shared lock (many declare at once; PostgreSQL ``FOR SHARE``); closing
    the window is an ``UPDATE`` of the same row, so it waits for declarations in flight and
    every declaration that commits saw the window open. An office bulk import takes the
    row exclusively. Returns the round as it is now.
    """
    if connection.vendor == "postgresql" and not exclusive:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {Round._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
                [round_.pk],
            )
        return Round.objects.get(pk=round_.pk)
    return Round.objects.select_for_update().get(pk=round_.pk)


def _empty_ids(n: int) -> pd.Series:
    return pd.Series(pd.array([pd.NA] * n, dtype="Int64"))


def _lookup(frame: pd.DataFrame, keys: list[str], table: pd.DataFrame, value: str) -> pd.Series:
    """``table[value]`` for each row of ``frame`` matched on the ``keys`` columns (or NA).

    A left merge on several text columns of a million rows costs seconds; factorizing the
    (few distinct) values of each key column and matching their integer codes is a
    fraction of that.
    """
    if frame.empty:
        return pd.Series(pd.array([], dtype="Int64"), index=frame.index)
    combined = np.zeros(len(frame), dtype=np.int64)
    lookup_codes = np.zeros(len(table), dtype=np.int64)
    for key in keys:
        codes, uniques = pd.factorize(frame[key], use_na_sentinel=False)
        position = {value_: i for i, value_ in enumerate(uniques)}
        size = len(uniques) + 1  # the extra code stands for "not in the file"
        combined = combined * size + codes
        lookup_codes = lookup_codes * size + np.array(
            [position.get(v, size - 1) for v in table[key]], dtype=np.int64
        )
    found = pd.Series(table[value].to_numpy(), index=lookup_codes)
    found = found[~found.index.duplicated()]
    return pd.Series(found.reindex(combined).to_numpy(), index=frame.index, dtype="Int64")


def _demand_resolve(
    *,
    round_: Round,
    frame: pd.DataFrame,
    hospital: Organization | None,
    labels: dict[str, str],
) -> tuple[pd.DataFrame, list[RowError], int]:
    """Resolve codes to ids and check every line. Returns (lines, errors, skipped)."""
    errors: list[RowError] = []

    def label(key: str) -> str:
        return labels.get(key, key)

    # A blank quantity means "nothing to declare on this line" (pre-filled templates list
    # every line); it is skipped, not an error. Quantities that failed conversion have
    # their own error already.
    blank = frame["quantity_raw"] == ""
    skipped = int(blank.sum())
    frame = frame[~blank].reset_index(drop=True)
    n = len(frame)
    # Hospitals.
    if hospital is not None:
        codes = frame["hospital_code"].fillna("")
        other = (codes != "") & (codes != hospital.social_credit_code)
        for row, code in zip(frame.loc[other, ROW], codes[other], strict=True):
            errors.append(
                RowError(
                    int(row),
                    label("hospital_code"),
                    _(
                        "“%(code)s” is not your hospital's code (%(own)s); a hospital declares "
                        "only for itself."
                    )
                    % {"code": code, "own": hospital.social_credit_code},
                )
            )
        frame["hospital_id"] = hospital.pk
    else:
        codes = frame["hospital_code"].fillna("")
        # One query: every hospital named in the file, with its province.
        scope = set(round_.regions.values_list("pk", flat=True))
        known: dict[str, int] = {}
        in_scope: set[int] = set()
        for code, pk, region_id in Organization.objects.filter(
            kind=Organization.Kind.HOSPITAL, social_credit_code__in=list(codes.unique())
        ).values_list("social_credit_code", "pk", "region_id"):
            known[code] = pk
            if region_id in scope:
                in_scope.add(pk)
        ids = codes.map(known)
        frame["hospital_id"] = ids.astype("Int64") if n else _empty_ids(0)
        missing = codes == ""
        unknown = ~missing & ids.isna()
        outside = ~missing & ~unknown & ~ids.isin(list(in_scope))
        for mask, template in (
            (missing, _("a value is required.")),
            (unknown, _("“%(code)s” is not a hospital on the platform.")),
            (outside, _("hospital “%(code)s” is outside the round's region scope.")),
        ):
            for row, code in zip(frame.loc[mask, ROW], codes[mask], strict=True):
                errors.append(RowError(int(row), label("hospital_code"), template % {"code": code}))
    # Items of the round.
    round_items = dict(RoundItem.objects.filter(round=round_).values_list("item__code", "pk"))
    frame["round_item_id"] = frame["item_code"].map(round_items).astype("Int64")
    unknown_item = frame["round_item_id"].isna() & (frame["item_code"] != "")
    for row, code in zip(
        frame.loc[unknown_item, ROW], frame.loc[unknown_item, "item_code"], strict=True
    ):
        errors.append(
            RowError(
                int(row),
                label("item_code"),
                _("item code “%(code)s” is not in round %(round)s.")
                % {"code": code, "round": round_.code},
            )
        )
    known_item = ~frame["round_item_id"].isna()
    if round_.kind == Round.Kind.DRUGS:
        specs = pd.DataFrame(
            list(
                Specification.objects.filter(item__round_items__round=round_).values_list(
                    "item__code", "code", "pk"
                )
            ),
            columns=["item_code", "specification_code", "specification_id"],
        )
        frame["specification_id"] = _lookup(
            frame, ["item_code", "specification_code"], specs, "specification_id"
        )
        frame["product_id"] = _empty_ids(len(frame))
        bad = known_item & frame["specification_id"].isna() & (frame["specification_code"] != "")
        for row, spec, item in zip(
            frame.loc[bad, ROW],
            frame.loc[bad, "specification_code"],
            frame.loc[bad, "item_code"],
            strict=True,
        ):
            errors.append(
                RowError(
                    int(row),
                    label("specification_code"),
                    _("“%(spec)s” is not a specification of item %(item)s.")
                    % {"spec": spec, "item": item},
                )
            )
        key = ["hospital_id", "round_item_id", "specification_id"]
    else:
        products = pd.DataFrame(
            list(
                Product.objects.filter(item__round_items__round=round_).values_list(
                    "item__code", "registration_number", "model_number", "pk"
                )
            ),
            columns=["item_code", "registration_number", "model_number", "product_id"],
        )
        frame["model_number"] = frame["model_number"].fillna("")
        frame["product_id"] = _lookup(
            frame, ["item_code", "registration_number", "model_number"], products, "product_id"
        )
        frame["specification_id"] = _empty_ids(len(frame))
        bad = known_item & frame["product_id"].isna() & (frame["registration_number"] != "")
        for row, reg, model, item in zip(
            frame.loc[bad, ROW],
            frame.loc[bad, "registration_number"],
            frame.loc[bad, "model_number"],
            frame.loc[bad, "item_code"],
            strict=True,
        ):
            errors.append(
                RowError(
                    int(row),
                    label("registration_number"),
                    _(
                        "no product of item %(item)s has registration number “%(number)s” and "
                        "model “%(model)s”."
                    )
                    % {"item": item, "number": reg, "model": model},
                )
            )
        key = ["hospital_id", "round_item_id", "product_id"]
    # Duplicates: the same line twice in one submission (after codes were resolved).
    complete = frame[key].notna().all(axis=1)
    errors += duplicate_errors(
        frame.loc[complete, [ROW, *key]],
        key,
        labels=[
            label("hospital_code") if hospital is None else "",
            label("item_code"),
            label(
                "specification_code" if round_.kind == Round.Kind.DRUGS else "registration_number"
            ),
        ],
    )
    return frame, errors, skipped


def _existing_declarations(round_: Round, hospital: Organization | None) -> pd.DataFrame:
    """The current declarations (ids, keys, quantity) as a frame.

    On PostgreSQL they are read with ``COPY (SELECT ...) TO STDOUT``: a million rows in about
    a second, where building a million ORM tuples takes several.
    """
    queryset = DemandDeclaration.objects.filter(round_item__round=round_)
    if hospital is not None:
        queryset = queryset.filter(hospital=hospital)
    names = [
        "declaration_id",
        "hospital_id",
        "round_item_id",
        "specification_id",
        "product_id",
        "old_quantity",
    ]
    selected = queryset.values_list(
        "pk", "hospital_id", "round_item_id", "specification_id", "product_id", "quantity"
    )
    if connection.vendor == "postgresql":
        sql, params = selected.query.sql_with_params()
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            query = cursor.cursor.mogrify(sql, params)
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
                for chunk in copy:
                    buffer.write(chunk)
        buffer.seek(0)
        if buffer.getbuffer().nbytes == 0:
            frame = pd.DataFrame(columns=names)
        else:
            frame = pd.read_csv(buffer, header=None, names=names, dtype="Int64")
    else:
        frame = pd.DataFrame(list(selected), columns=names)
    return frame.astype({name: "Int64" for name in names})


def _bulk_insert(model: type[models.Model], columns: list[str], frame: pd.DataFrame) -> None:
    """Insert ``frame``'s rows with bulk_create in bounded batches (non-PostgreSQL)."""
    if frame.empty:
        return
    values = frame[columns].astype(object).where(frame[columns].notna(), None)
    objects = [model(**record) for record in values.to_dict("records")]
    model.objects.bulk_create(objects, batch_size=2000)  # type: ignore[attr-defined]


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, extension length
_POSTGRES_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
CopyField: TypeAlias = "pd.Series[Any] | int | bytes | datetime.datetime"


def _copy_binary(fields: Sequence[CopyField], rows: int) -> bytes:
    """PostgreSQL's binary COPY stream for ``rows`` tuples, built with one numpy array.

    Each field is a column of whole numbers (a Series, sent as bigint) or a constant: an
    int (bigint), bytes (text) or an aware datetime (timestamptz, microseconds since
    2000-01-01). No field is NULL: a column that is NULL throughout is left out of the
    COPY column list instead. Building the stream this way costs milliseconds where
    formatting a million rows of text costs seconds.
    """
    layout: list[tuple[str, str]] = [("count", ">i2")]
    for i, field in enumerate(fields):
        kind = f"S{len(field)}" if isinstance(field, bytes) else ">i8"
        layout += [(f"length{i}", ">i4"), (f"value{i}", kind)]
    out = np.empty(rows, dtype=np.dtype(layout))
    out["count"] = len(fields)
    for i, field in enumerate(fields):
        value: object = field
        if isinstance(field, datetime.datetime):
            value = (field - _POSTGRES_EPOCH) // datetime.timedelta(microseconds=1)
        elif isinstance(field, pd.Series):
            value = field.to_numpy(dtype=np.int64)
        out[f"length{i}"] = len(field) if isinstance(field, bytes) else 8
        out[f"value{i}"] = value
    return _COPY_HEADER + out.tobytes() + b"\xff\xff"


def _copy_into(table: str, columns: list[str], fields: Sequence[CopyField], rows: int) -> None:
    if not rows:
        return
    with connection.cursor() as cursor:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)"
        with cursor.cursor.copy(statement) as copy:
            copy.write(_copy_binary(fields, rows))


def _demand_write_postgresql(
    *, lines: pd.DataFrame, target: str, channel: str, by: User, now: datetime.datetime
) -> None:
    """Write new lines and their history with binary COPY straight into both tables;
    apply changed lines with one ``UPDATE ... FROM`` a staging table.

    COPY uses PostgreSQL's batched insert path, so the million new lines of a national
    import cost about what copying them costs; the constant columns (time, channel, user)
    are constants in the stream, and the column that is NULL for the round's kind
    (product for drugs, specification for consumables) is left out.
    """
    declarations = DemandDeclaration._meta.db_table
    changes = DemandChange._meta.db_table
    target_column = str(
        DemandDeclaration._meta.get_field(target.removesuffix("_id")).column  # type: ignore[union-attr]
    )
    text = channel.encode()
    creates = lines[lines["action"] == Action.CREATE]
    _copy_into(
        declarations,
        ["round_item_id", "hospital_id", target_column, "quantity", "updated_at"],
        [
            creates["round_item_id"],
            creates["hospital_id"],
            creates[target],
            creates["quantity"],
            now,
        ],
        len(creates),
    )
    _copy_into(
        changes,
        ["round_item_id", "hospital_id", target_column, "new_quantity", "channel", "by_id", "at"],
        [
            creates["round_item_id"],
            creates["hospital_id"],
            creates[target],
            creates["quantity"],
            text,
            by.pk,
            now,
        ],
        len(creates),
    )
    updates = lines[lines["action"] == Action.CHANGE]
    if updates.empty:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE demand_stage (declaration_id bigint, quantity bigint)"
            " ON COMMIT DROP"
        )
    _copy_into(
        "demand_stage",
        ["declaration_id", "quantity"],
        [updates["declaration_id"], updates["quantity"]],
        len(updates),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {declarations} AS d SET quantity = s.quantity, updated_at = %s"  # noqa: S608
            " FROM demand_stage AS s WHERE d.id = s.declaration_id",
            [now],
        )
        cursor.execute("DROP TABLE demand_stage")
    _copy_into(
        changes,
        [
            "round_item_id",
            "hospital_id",
            target_column,
            "old_quantity",
            "new_quantity",
            "channel",
            "by_id",
            "at",
        ],
        [
            updates["round_item_id"],
            updates["hospital_id"],
            updates[target],
            updates["old_quantity"],
            updates["quantity"],
            text,
            by.pk,
            now,
        ],
        len(updates),
    )


def _demand_write(
    *, lines: pd.DataFrame, target: str, channel: str, by: User, now: datetime.datetime
) -> None:
    """Write resolved lines (actions create/change) and their history rows."""
    lines = lines[lines["action"] != Action.UNCHANGED]
    if lines.empty:
        return
    if connection.vendor == "postgresql":
        _demand_write_postgresql(lines=lines, target=target, channel=channel, by=by, now=now)
        return
    creates = lines[lines["action"] == Action.CREATE]
    changes = lines[lines["action"] == Action.CHANGE]
    if not creates.empty:
        declarations = creates[
            ["round_item_id", "hospital_id", "specification_id", "product_id", "quantity"]
        ].copy()
        declarations["updated_at"] = now
        _bulk_insert(
            DemandDeclaration,
            [
                "round_item_id",
                "hospital_id",
                "specification_id",
                "product_id",
                "quantity",
                "updated_at",
            ],
            declarations,
        )
    if not changes.empty:
        updated = [
            DemandDeclaration(pk=int(pk), quantity=int(q), updated_at=now)
            for pk, q in zip(changes["declaration_id"], changes["quantity"], strict=True)
        ]
        DemandDeclaration.objects.bulk_update(updated, ["quantity", "updated_at"], batch_size=2000)
    history = pd.concat([creates, changes])
    if not history.empty:
        rows = history[
            [
                "round_item_id",
                "hospital_id",
                "specification_id",
                "product_id",
                "old_quantity",
                "quantity",
            ]
        ].rename(columns={"quantity": "new_quantity"})
        rows["channel"] = channel
        rows["by_id"] = by.pk
        rows["at"] = now
        _bulk_insert(
            DemandChange,
            [
                "round_item_id",
                "hospital_id",
                "specification_id",
                "product_id",
                "old_quantity",
                "new_quantity",
                "channel",
                "by_id",
                "at",
            ],
            rows,
        )


def demand_apply(
    *,
    round_: Round,
    raw: pd.DataFrame,
    hospital: Organization | None,
    channel: str,
    by: User,
    commit: bool,
    labels: dict[str, str] | None = None,
    now: datetime.datetime | None = None,
    row_errors: Sequence[RowError] = (),
    codes_converted: bool = False,
) -> ImportOutcome:
    """Validate demand lines (text cells, columns of ``demand_columns``) and write them.

    ``hospital`` is the declaring hospital (web, upload, API): every line is its own, and a
    hospital code naming another hospital is refused with the row number. ``hospital=None``
    is the procurement office importing collated demand for hospitals in the round's region
    scope (the provincial platforms' spreadsheets). Lines absent from the submission are
    left as they are; use ``demand_remove`` to remove one.

    With ``commit`` and no errors, the lines are written in one transaction together with
    their history (``DemandChange``: who, when, old and new value, channel). Otherwise
    nothing is written. Concurrency: see ``_lock_round_for_demand``; a hospital's own
    submissions are serialised by locking its organization row.
    """
    now = now or timezone.now()
    columns = demand_columns(round_.kind)
    # Errors name the column as the client knows it: the header found in the file, or the
    # field name of the form / API.
    labels = labels or {c.key: c.key for c in columns}
    if hospital is not None:
        if hospital.kind != Organization.Kind.HOSPITAL:
            raise ValidationError(_("Only a hospital declares demand."))
        if not round_.regions.filter(pk=hospital.region_id).exists():
            raise ValidationError(
                _(
                    "Your hospital's province (%(region)s) is outside the region scope of "
                    "round %(code)s."
                )
                % {"region": hospital.region.name, "code": round_.code}
            )
    _require_demand_open(round_, now)
    if codes_converted:
        # The spreadsheet reader already cleaned the code columns; convert the quantities.
        quantity, errors = convert_frame(raw, [DEMAND_QUANTITY], labels=labels)
        converted = raw.copy()
        converted["quantity"] = quantity["quantity"]
    else:
        converted, errors = convert_frame(raw, columns, labels=labels)
    errors = list(row_errors) + errors
    converted["quantity_raw"] = (
        map_unique(raw["quantity"].fillna("").astype(str), str.strip) if "quantity" in raw else ""
    )
    for column in columns:
        if column.key not in converted:
            converted[column.key] = ""
    lines, resolve_errors, skipped = _demand_resolve(
        round_=round_, frame=converted, hospital=hospital, labels=labels
    )
    errors += resolve_errors
    outcome = ImportOutcome(total=len(raw), skipped=skipped, errors=sort_errors(errors))
    if errors:
        return outcome
    with transaction.atomic():
        if commit:
            current = _lock_round_for_demand(round_, exclusive=hospital is None)
            _require_demand_open(current, now)
            if hospital is not None:
                Organization.objects.select_for_update().filter(pk=hospital.pk).first()
        existing = _existing_declarations(round_, hospital)
        key = (
            ["hospital_id", "round_item_id", "specification_id"]
            if round_.kind == Round.Kind.DRUGS
            else ["hospital_id", "round_item_id", "product_id"]
        )
        lines["quantity"] = lines["quantity"].astype("Int64")
        # Every key is resolved (errors stopped us otherwise): merge on plain int64.
        for key_column in key:
            lines[key_column] = lines[key_column].astype("int64")
            existing[key_column] = existing[key_column].astype("int64")
        merged = lines.merge(
            existing.drop(columns=[c for c in ("specification_id", "product_id") if c not in key]),
            how="left",
            on=key,
        )
        merged["action"] = Action.UNCHANGED
        merged.loc[merged["declaration_id"].isna(), "action"] = Action.CREATE
        merged.loc[
            merged["declaration_id"].notna() & (merged["old_quantity"] != merged["quantity"]),
            "action",
        ] = Action.CHANGE
        counts = merged["action"].value_counts()
        outcome.created = int(counts.get(Action.CREATE, 0))
        outcome.changed = int(counts.get(Action.CHANGE, 0))
        outcome.unchanged = int(counts.get(Action.UNCHANGED, 0))
        outcome.rows = _demand_preview_rows(merged, round_)
        if commit:
            _demand_write(lines=merged, target=key[-1], channel=channel, by=by, now=now)
            outcome.committed = True
    return outcome


def _demand_preview_rows(merged: pd.DataFrame, round_: Round) -> list[PreviewRow]:
    head = merged.head(PREVIEW_ROWS)
    rows = []
    for record in head.to_dict("records"):
        what = record.get("specification_code") or " ".join(
            p for p in (record.get("registration_number"), record.get("model_number")) if p
        )
        old = record.get("old_quantity")
        quantity = f"{int(record['quantity']):,}"
        if record["action"] == Action.CHANGE and old is not None and not pd.isna(old):
            quantity = f"{int(old):,} → {quantity}"
        prefix = f"{record['hospital_code']} · " if record.get("hospital_code") else ""
        rows.append(
            PreviewRow(
                row=int(record[ROW]),
                action=str(record["action"]),
                description=f"{prefix}{record['item_code']} {what}: {quantity}",
            )
        )
    return rows


def demand_lines_frame(lines: Sequence[DemandLine]) -> pd.DataFrame:
    """The text-cell frame ``demand_apply`` reads, from lines sent by a form or the API.

    Line numbers start at 1 (the first line of the request)."""
    return pd.DataFrame(
        {
            ROW: list(range(1, len(lines) + 1)),
            "hospital_code": [str(line.hospital_code or "") for line in lines],
            "item_code": [str(line.item_code or "") for line in lines],
            "specification_code": [str(line.specification_code or "") for line in lines],
            "registration_number": [str(line.registration_number or "") for line in lines],
            "model_number": [str(line.model_number or "") for line in lines],
            "quantity": ["" if line.quantity is None else str(line.quantity) for line in lines],
        }
    )


def demand_declare(
    *,
    hospital: Organization,
    round_: Round,
    lines: Sequence[DemandLine],
    channel: str,
    by: User,
    now: datetime.datetime | None = None,
) -> ImportOutcome:
    """A hospital declares (or changes) annual quantities on some lines of a round.

    All lines or none: any invalid line raises ``RowsRefused`` listing every problem by
    line number (first line = 1), and nothing is written. See ``demand_apply``.
    """
    outcome = demand_apply(
        round_=round_,
        raw=demand_lines_frame(lines),
        hospital=hospital,
        channel=channel,
        by=by,
        commit=True,
        now=now,
    )
    if outcome.errors:
        raise RowsRefused(outcome.errors, lines=True)
    return outcome


def demand_import(
    *,
    round_: Round,
    data: bytes,
    filename: str,
    max_bytes: int,
    hospital: Organization | None,
    by: User,
    commit: bool,
    now: datetime.datetime | None = None,
    max_rows: int | None = None,
) -> ImportOutcome:
    """A demand spreadsheet: preview (``commit=False``) or write all rows or none.

    ``max_rows`` bounds a file checked inside a web request (a hospital's own demand); the
    office's collated file is checked and written by tasks, with no bound but the size.
    """
    # Read every cell as text; demand_apply converts and checks them, exactly as it does
    # for the web table and the API.
    as_text = [
        dataclasses.replace(c, kind=ColumnKind.TEXT, allow_blank=True) if c.key == "quantity" else c
        for c in demand_columns(round_.kind)
    ]
    try:
        sheet = read_spreadsheet(
            data, filename=filename, columns=as_text, max_bytes=max_bytes, max_rows=max_rows
        )
    except SpreadsheetRefused as exc:
        return ImportOutcome.refused(exc.message)
    outcome = demand_apply(
        round_=round_,
        raw=sheet.frame,
        hospital=hospital,
        channel=DemandChange.Channel.UPLOAD,
        by=by,
        commit=commit,
        labels=sheet.headers,
        now=now,
        row_errors=sheet.errors,
        codes_converted=True,
    )
    return outcome


@transaction.atomic
def demand_remove(
    *,
    hospital: Organization,
    round_: Round,
    declaration_id: int,
    channel: str,
    by: User,
    now: datetime.datetime | None = None,
) -> None:
    """Remove one of the hospital's lines while the window is open; history keeps it.

    Quantity 0 is refused everywhere (a declared line is a positive quantity); removing a
    line is this explicit action, recorded as a change to "none".
    """
    now = now or timezone.now()
    current = _lock_round_for_demand(round_, exclusive=False)
    _require_demand_open(current, now)
    declaration = (
        DemandDeclaration.objects.select_for_update()
        .filter(pk=declaration_id, hospital=hospital, round_item__round=round_)
        .first()
    )
    if declaration is None:
        raise ValidationError(_("This line is not among your hospital's declarations."))
    DemandChange.objects.create(
        round_item_id=declaration.round_item_id,
        hospital=hospital,
        specification_id=declaration.specification_id,
        product_id=declaration.product_id,
        old_quantity=declaration.quantity,
        new_quantity=None,
        channel=channel,
        by=by,
    )
    declaration.delete()


# --- ceilings from a spreadsheet ----------------------------------------------------------

CEILING_COLUMNS = [
    Column("item_code", ("品种编码", "item code"), kind=ColumnKind.CODE),
    Column("specification_code", ("规格编码", "specification code"), kind=ColumnKind.CODE),
    Column(
        "max_valid_bid_price",
        ("最高有效申报价", "maximum valid bid price", "ceiling"),
        kind=ColumnKind.DECIMAL,
    ),
    Column(
        "reference_price",
        ("参考价", "reference price"),
        kind=ColumnKind.DECIMAL,
        required=False,
        allow_blank=True,
    ),
]


def ceiling_import(
    *, round_: Round, data: bytes, filename: str, max_bytes: int, commit: bool
) -> ImportOutcome:
    """Maximum valid bid prices (and reference prices) per item and specification.

    Concurrency: the commit locks the round row (``select_for_update``) and checks it is
    still editable, so it cannot interleave with opening bidding (which needs every
    ceiling and freezes them).
    """
    try:
        sheet = read_spreadsheet(
            data,
            filename=filename,
            columns=CEILING_COLUMNS,
            max_bytes=max_bytes,
            unique_by=("item_code", "specification_code"),
            max_rows=MAX_ROWS_IN_REQUEST,
        )
    except SpreadsheetRefused as exc:
        return ImportOutcome.refused(exc.message)
    _require_editable(round_)
    label = sheet.column_label
    errors = list(sheet.errors)
    round_items = {
        ri.item.code: ri
        for ri in round_.items.select_related("item").prefetch_related(
            "item__specifications", "ceilings"
        )
    }
    resolved: list[dict[str, object]] = []
    for record in sheet.valid_frame().to_dict("records"):
        row = int(record[ROW])
        round_item = round_items.get(record["item_code"])
        if round_item is None:
            errors.append(
                RowError(
                    row,
                    label("item_code"),
                    _("item code “%(code)s” is not in round %(round)s.")
                    % {"code": record["item_code"], "round": round_.code},
                )
            )
            continue
        specification = next(
            (
                s
                for s in round_item.item.specifications.all()
                if s.code == record["specification_code"]
            ),
            None,
        )
        if specification is None:
            errors.append(
                RowError(
                    row,
                    label("specification_code"),
                    _("“%(spec)s” is not a specification of item %(item)s.")
                    % {"spec": record["specification_code"], "item": round_item.item.code},
                )
            )
            continue
        current = next(
            (c for c in round_item.ceilings.all() if c.specification_id == specification.pk), None
        )
        price = record["max_valid_bid_price"]
        reference = record.get("reference_price")
        if current is None:
            action = Action.CREATE
        elif current.max_valid_bid_price != price or (
            reference is not None and round_item.reference_price != reference
        ):
            action = Action.CHANGE
        else:
            action = Action.UNCHANGED
        resolved.append(
            {
                ROW: row,
                "action": action,
                "round_item": round_item,
                "specification": specification,
                "price": price,
                "reference": reference,
            }
        )
    actions = [r["action"] for r in resolved]
    outcome = ImportOutcome(
        total=len(sheet.frame),
        created=actions.count(Action.CREATE),
        changed=actions.count(Action.CHANGE),
        unchanged=actions.count(Action.UNCHANGED),
        errors=sort_errors(errors),
        rows=[
            PreviewRow(
                row=int(r[ROW]),  # type: ignore[call-overload]
                action=str(r["action"]),
                description=(
                    f"{r['round_item'].item.code} {r['specification'].label}: "  # type: ignore[attr-defined]
                    f"{r['price']:,.4f}"
                ),
            )
            for r in resolved[:PREVIEW_ROWS]
        ],
    )
    if commit and outcome.ok:
        with transaction.atomic():
            locked = Round.objects.select_for_update().get(pk=round_.pk)
            _require_editable(locked)
            for r in resolved:
                if r["action"] == Action.UNCHANGED:
                    continue
                round_item_set_prices(
                    round_item=r["round_item"],  # type: ignore[arg-type]
                    ceilings={r["specification"]: r["price"]},  # type: ignore[dict-item]
                    reference_price=r["reference"],  # type: ignore[arg-type]
                )
        outcome.committed = True
    return outcome


@transaction.atomic
def round_prices_set(
    *,
    round_: Round,
    prices: dict[RoundItem, tuple[Decimal | None, dict[Specification, Decimal]]],
) -> None:
    """Set reference prices and ceilings of several round items at once (all or none).

    Concurrency: locks the round row first, like ``ceiling_import``.
    """
    locked = Round.objects.select_for_update().get(pk=round_.pk)
    _require_editable(locked)
    for round_item, (reference, ceilings) in prices.items():
        round_item_set_prices(round_item=round_item, ceilings=ceilings, reference_price=reference)


def demand_template_rows(*, round_: Round, hospital: Organization) -> list[dict[str, object]]:
    """The hospital's demand sheet pre-filled with every line and its current quantity."""
    from procurement.selectors import demand_rows_for_hospital

    rows: list[dict[str, object]] = []
    for line in demand_rows_for_hospital(round_=round_, hospital=hospital):
        item = line.round_item.item
        record: dict[str, object] = {
            "hospital_code": hospital.social_credit_code,
            "item_code": item.code,
            "item_name": item.display_name,
            "unit": item.display_unit,
            "quantity": line.quantity if line.quantity is not None else "",
        }
        if line.specification is not None:
            record["specification_code"] = line.specification.code
            record["specification_label"] = line.specification.label
        elif line.product is not None:
            record["registration_number"] = line.product.registration_number
            record["model_number"] = line.product.model_number
            record["product_name"] = line.product.display_name
        rows.append(record)
    return rows


def _collated_runner(*, commit: bool) -> Callable[[StoredUpload], ImportOutcome]:
    from django.conf import settings

    def run(upload: StoredUpload) -> ImportOutcome:
        round_ = Round.objects.get(code=upload.scope)
        return demand_import(
            round_=round_,
            data=bytes(upload.data),
            filename=upload.filename,
            max_bytes=int(settings.JICAI_MAX_UPLOAD_BYTES),
            hospital=None,
            by=upload.user,
            commit=commit,
        )

    return run


def demand_collated_preview_run(*, token: str) -> None:
    """Check a collated demand upload without writing (see ``catalog.imports.upload_preview_run``).

    A national file has a million lines and takes seconds to check, so the check runs in a
    task too; the office confirms the counts on the status page before the commit.
    """
    upload_preview_run(token=token, run=_collated_runner(commit=False))


def demand_collated_import_run(*, token: str) -> None:
    """Commit a queued collated demand upload (see ``catalog.imports.upload_run``)."""
    upload_run(token=token, run=_collated_runner(commit=True))

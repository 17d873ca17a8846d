"""Reads of contracts and their execution, with the access checks.

* The office sees the contracts, purchases and supply failures of the rounds it runs.
* A hospital sees only its own contracts and purchases, and the supply failures of its
  province.
* A manufacturer sees only its own contracts and purchases, and the supply failures where
  it is the failing or the backup supplier.
A refusal is ``Http404`` for objects of another party (their existence is not revealed).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import get_language

from accounts.models import Organization, User
from awards.selectors import matching
from contracts.models import (
    Contract,
    ContractLine,
    ProgressCell,
    ProgressHospital,
    ProgressSnapshot,
    Purchase,
    SupplyFailure,
)
from contracts.progress import Progress, combine, elapsed_days
from procurement.models import Round


def _org(user: User) -> Organization | None:
    return getattr(user, "organization", None) if user.is_authenticated else None


def contract_list_for_user(*, user: User) -> QuerySet[Contract]:
    """The office: contracts of its rounds; a hospital or a manufacturer: its own."""
    org = _org(user)
    qs = Contract.objects.select_related("round", "hospital", "manufacturer")
    if org is None:
        return qs.none()
    if org.kind == Organization.Kind.OFFICE:
        return qs.filter(round__office=org)
    if org.kind == Organization.Kind.HOSPITAL:
        return qs.filter(hospital=org)
    return qs.filter(manufacturer=org)


def rounds_with(*, user: User, status: str | None = None) -> QuerySet[Round]:
    """The rounds in which the user's organization has a contract (of ``status``), newest
    first: one index probe per round (EXISTS). For the office the rounds are its own and the
    probe looks only at the round's contracts (index ``contract_round_status``): with the
    office's join inside the EXISTS, PostgreSQL hashed every confirmed contract of a
    national round instead (0.57 s for 800,000 contracts on the progress pages)."""
    org = _org(user)
    if org is None:
        return Round.objects.none()
    rounds = Round.objects.all()
    probe = Contract.objects.filter(round=OuterRef("pk"))
    if status:
        probe = probe.filter(status=status)
    if org.kind == Organization.Kind.OFFICE:
        rounds = rounds.filter(office=org)
    elif org.kind == Organization.Kind.HOSPITAL:
        probe = probe.filter(hospital=org)
    else:
        probe = probe.filter(manufacturer=org)
    return rounds.filter(Exists(probe)).order_by("-created_at")


def contracts_matching(contracts: QuerySet[Contract], text: str) -> QuerySet[Contract]:
    """Contracts whose number, hospital or manufacturer (Chinese or English name) holds
    ``text``; all of them when it is empty."""
    return matching(
        contracts,
        text,
        "number",
        "hospital__name",
        "hospital__name_en",
        "manufacturer__name",
        "manufacturer__name_en",
    )


def contract_get_for_user(*, user: User, contract_id: int) -> Contract:
    contract = contract_list_for_user(user=user).filter(pk=contract_id).first()
    if contract is None:
        raise Http404
    return contract


@dataclass(frozen=True)
class Named:
    """A hospital, manufacturer, item or province as the progress tables show it."""

    pk: int
    code: str
    name: str
    name_en: str = ""
    region: str = ""  # a hospital's province (display name)
    unit: str = ""  # an item's unit of count (片, 支, 套)
    unit_en: str = ""

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name

    @property
    def display_unit(self) -> str:
        if self.unit_en and (get_language() or "").startswith("en"):
            return self.unit_en
        return self.unit


@dataclass(frozen=True)
class LineProgress:
    contract_id: int
    contract_number: str
    hospital: Named
    manufacturer: Named
    item: Named
    region: Named
    progress: Progress


# --- progress as aggregate queries --------------------------------------------------------
#
# The progress pages total a round's current contract lines per item, province, winner and
# hospital. A national round has about a million lines, so each table is a GROUP BY query
# over them (agreed and pro-rata), plus one over their purchases (bought) for the groups
# shown, and the lines themselves are read a page at a time. The schedule
# arithmetic of ``contracts.progress`` is done in SQL, per line, exactly as there:
#
#   expected = round_half_up(agreed x elapsed / term) = (2 x agreed x elapsed + term) // (2 x term)
#
# with ``elapsed`` and ``term`` (days) taken from a CASE over the few distinct
# (start, end) pairs of the lines (one per term length, plus amended or switched lines),
# read once per page by ``progress_schedule``.

PROGRESS_GROUPS: dict[str, tuple[str, ...]] = {
    # key -> (id, code, name, English name[, region name, region English name])
    "item": (
        "round_item_id",
        "round_item__item__code",
        "round_item__item__name",
        "round_item__item__name_en",
        "round_item__item__unit_of_count",
        "round_item__item__unit_of_count_en",
    ),
    "region": ("region_id", "region__code", "region__name_zh", "region__name_en"),
    "manufacturer": (
        "contract__manufacturer_id",
        "contract__manufacturer__social_credit_code",
        "contract__manufacturer__name",
        "contract__manufacturer__name_en",
    ),
    "hospital": (
        "contract__hospital_id",
        "contract__hospital__social_credit_code",
        "contract__hospital__name",
        "contract__hospital__name_en",
        "contract__hospital__region__name_zh",
        "contract__hospital__region__name_en",
    ),
}


def current_lines(*, contracts: QuerySet[Contract]) -> QuerySet[ContractLine]:
    """The lines of the current version of each of ``contracts``."""
    return ContractLine.objects.filter(
        contract__in=contracts, version=F("contract__current_version")
    )


Schedule = dict[str, Any]


def progress_schedule(*, lines: QuerySet[ContractLine], today: datetime.date) -> Schedule:
    """Per-line SQL expressions, for ``lines`` and any subset of them: days elapsed and
    expected by ``today``. One small query (the distinct start/end dates);
    compute it once per page and pass it to the aggregates."""
    pairs = sorted(set(lines.order_by().values_list("starts_on", "ends_on").distinct()))
    whens = [(Q(starts_on=start, ends_on=end), start, end) for start, end in pairs]
    elapsed = Case(
        *(When(q, then=Value(elapsed_days(s, e, today))) for q, s, e in whens),
        default=Value(0),
        output_field=BigIntegerField(),
    )
    term = Case(
        *(When(q, then=Value((e - s).days + 1)) for q, s, e in whens),
        default=Value(1),
        output_field=BigIntegerField(),
    )
    # Integer division of non-negative integers floors on PostgreSQL and SQLite alike.
    expected = ExpressionWrapper(
        (F("quantity") * Value(2) * elapsed + term) / (Value(2) * term),
        output_field=BigIntegerField(),
    )
    return {"elapsed": elapsed, "expected": expected}


def _progress_of(row: dict[str, Any], bought: int | None) -> Progress:
    return Progress(
        agreed=int(row["agreed"] or 0),
        bought=int(bought or 0),
        expected=int(row["expected"] or 0),
        elapsed=int(row["elapsed"] or 0),
    )


def _named(row: dict[str, Any], key: str) -> Named:
    fields = PROGRESS_GROUPS[key]
    pk, code, name, name_en = (row[f] for f in fields[:4])
    if key == "hospital":  # with its province's name
        region = Named(0, "", row[fields[4]] or "", row[fields[5]] or "").display_name
        return Named(pk, code, name, name_en or "", region=region)
    if key == "item":  # with its unit of count
        return Named(pk, code, name, name_en or "", unit=row[fields[4]], unit_en=row[fields[5]])
    return Named(pk, code, name, name_en or "")


def _with_purchases(lines: QuerySet[ContractLine]) -> QuerySet[ContractLine]:
    """``lines`` joined to their purchases (``bought``: the purchases of the same contract
    and item, one row per month), for summing what was bought. Kept apart from the sums of
    agreed volume, which the join would repeat once per month."""
    return lines.order_by().annotate(
        bought=FilteredRelation(
            "contract__purchases",
            condition=Q(contract__purchases__round_item=F("round_item")),
        )
    )


def progress_grouped(
    *, lines: QuerySet[ContractLine], schedule: Schedule, key: str
) -> QuerySet[Any]:
    """Agreed and pro-rata per ``item``, ``region``, ``manufacturer`` or ``hospital``, by
    code: one GROUP BY query, rows as dicts, to be paged; ``progress_rows`` adds what was
    bought (one more query, for the groups of the page only)."""
    fields = PROGRESS_GROUPS[key]
    return _scheduled(lines, schedule, fields).order_by(fields[1], fields[0])


def _scheduled(
    lines: QuerySet[ContractLine], schedule: Schedule, fields: Iterable[str]
) -> QuerySet[Any]:
    """Agreed volume, pro-rata by today and days elapsed, grouped by ``fields``."""
    return (
        lines.order_by()
        .values(*fields)
        .annotate(
            agreed=Sum("quantity"),
            expected=Sum(schedule["expected"]),
            elapsed=Min(schedule["elapsed"]),
        )
    )


def _bought_by(
    lines: QuerySet[ContractLine], key: str, ids: Iterable[int] | None
) -> dict[int, int]:
    field = PROGRESS_GROUPS[key][0]
    if ids is not None:
        lines = lines.filter(**{f"{field}__in": list(ids)})
    return dict(
        _with_purchases(lines)
        .values(field)
        .annotate(total=Sum("bought__quantity"))
        .values_list(field, "total")
    )


def progress_rows(
    rows: Iterable[dict[str, Any]], key: str, *, lines: QuerySet[ContractLine]
) -> list[tuple[Named, Progress]]:
    """``(Named, Progress)`` of grouped rows (a page of ``progress_grouped``), with what
    was bought through ``lines`` (the same lines the rows were grouped from)."""
    rows = list(rows)
    field = PROGRESS_GROUPS[key][0]
    bought = _bought_by(lines, key, {row[field] for row in rows})
    return [(_named(row, key), _progress_of(row, bought.get(row[field]))) for row in rows]


@dataclass(frozen=True)
class ProgressSummary:
    total: Progress
    by_item: list[tuple[Named, Progress]]
    by_region: list[tuple[Named, Progress]]
    by_manufacturer: list[tuple[Named, Progress]]


SUMMARY_KEYS = ("item", "region", "manufacturer")


def progress_summary(*, lines: QuerySet[ContractLine], schedule: Schedule) -> ProgressSummary:
    """The round's totals, per item, per province and per winner, from one GROUP BY over
    (item, province, winner) and one over what they bought: at most items x provinces x
    winners rows (about 9,000 in a national round), combined here."""
    fields = tuple(f for key in SUMMARY_KEYS for f in PROGRESS_GROUPS[key])
    ids = tuple(PROGRESS_GROUPS[key][0] for key in SUMMARY_KEYS)
    rows = list(_scheduled(lines, schedule, fields))
    bought = {
        tuple(row[:-1]): row[-1]
        for row in _with_purchases(lines)
        .values(*ids)
        .annotate(total=Sum("bought__quantity"))
        .values_list(*ids, "total")
    }
    cells = [(row, _progress_of(row, bought.get(tuple(row[i] for i in ids)))) for row in rows]

    def by(key: str) -> list[tuple[Named, Progress]]:
        field = PROGRESS_GROUPS[key][0]
        groups: dict[int, tuple[Named, list[Progress]]] = {}
        for row, progress in cells:
            groups.setdefault(row[field], (_named(row, key), []))[1].append(progress)
        return sorted(
            ((named, combine(parts)) for named, parts in groups.values()),
            key=lambda pair: (pair[0].code, pair[0].pk),
        )

    return ProgressSummary(
        total=combine(progress for _, progress in cells),
        by_item=by("item"),
        by_region=by("region"),
        by_manufacturer=by("manufacturer"),
    )


def progress_behind(
    *, lines: QuerySet[ContractLine], schedule: Schedule
) -> list[tuple[Named, Progress]]:
    """The hospitals behind schedule over all their ``lines``, largest shortfall first
    (``Progress.behind``). Two aggregate queries over every hospital, compared here."""
    grouped = progress_grouped(lines=lines, schedule=schedule, key="hospital")
    bought = _bought_by(lines, "hospital", None)
    field = PROGRESS_GROUPS["hospital"][0]
    hospitals = [
        (_named(row, "hospital"), _progress_of(row, bought.get(row[field]))) for row in grouped
    ]
    return sorted(
        (pair for pair in hospitals if pair[1].behind),
        key=lambda pair: (-pair[1].shortfall, pair[0].code, pair[0].pk),
    )


LINE_FIELDS = (
    "contract_id",
    "contract__number",
    *PROGRESS_GROUPS["hospital"],
    *PROGRESS_GROUPS["manufacturer"],
    *PROGRESS_GROUPS["item"],
    *PROGRESS_GROUPS["region"],
)


def progress_line_rows(*, lines: QuerySet[ContractLine], schedule: Schedule) -> QuerySet[Any]:
    """Each line with its bought and expected figures, by contract number and item, as
    dicts (a page of them becomes ``LineProgress`` with ``line_progress_rows``). What was
    bought is a subquery per line: PostgreSQL runs it for the rows of the page only."""
    bought = Subquery(
        Purchase.objects.filter(
            contract_id=OuterRef("contract_id"), round_item_id=OuterRef("round_item_id")
        )
        .order_by()
        .values("contract_id", "round_item_id")
        .annotate(total=Sum("quantity"))
        .values("total")[:1],
        output_field=BigIntegerField(),
    )
    return (
        lines.annotate(
            agreed=F("quantity"),
            line_bought=Coalesce(bought, Value(0), output_field=BigIntegerField()),
            expected=schedule["expected"],
            elapsed=schedule["elapsed"],
        )
        .values(*LINE_FIELDS, "agreed", "line_bought", "expected", "elapsed")
        .order_by("contract__number", "round_item__item__code", "pk")
    )


def line_progress_rows(rows: Iterable[dict[str, Any]]) -> list[LineProgress]:
    return [
        LineProgress(
            contract_id=row["contract_id"],
            contract_number=row["contract__number"],
            hospital=_named(row, "hospital"),
            manufacturer=_named(row, "manufacturer"),
            item=_named(row, "item"),
            region=_named(row, "region"),
            progress=_progress_of(row, row["line_bought"]),
        )
        for row in rows
    ]


def contract_line_progress(*, contract_ids: list[int], today: datetime.date) -> list[LineProgress]:
    """The current lines of the contracts ``contract_ids`` (a page of a contracts list)
    with their progress, by contract number and item: three queries whatever the round's
    size (the lines' schedule dates, the lines with what was bought)."""
    if not contract_ids:
        return []
    lines = ContractLine.objects.filter(
        contract_id__in=contract_ids, version=F("contract__current_version")
    )
    schedule = progress_schedule(lines=lines, today=today)
    return line_progress_rows(progress_line_rows(lines=lines, schedule=schedule))


def progress_lines_matching(lines: QuerySet[ContractLine], text: str) -> QuerySet[ContractLine]:
    """Lines whose contract number, hospital (Chinese or English name) or item code
    holds ``text``."""
    return matching(
        lines,
        text,
        "contract__number",
        "contract__hospital__name",
        "contract__hospital__name_en",
        "round_item__item__code",
    )


def purchase_list_for_user(*, user: User) -> QuerySet[Purchase]:
    org = _org(user)
    qs = Purchase.objects.select_related("contract", "round_item__item", "recorded_by")
    if org is None:
        return qs.none()
    if org.kind == Organization.Kind.HOSPITAL:
        return qs.filter(contract__hospital=org)
    if org.kind == Organization.Kind.MANUFACTURER:
        return qs.filter(contract__manufacturer=org)
    return qs.filter(contract__round__office=org)


def purchases_matching(purchases: QuerySet[Purchase], text: str) -> QuerySet[Purchase]:
    """Purchases whose contract number, item code or item name holds ``text``."""
    return matching(
        purchases,
        text,
        "contract__number",
        "round_item__item__code",
        "round_item__item__name",
        "round_item__item__name_en",
    )


def supply_failure_list_for_user(*, user: User) -> QuerySet[SupplyFailure]:
    org = _org(user)
    qs = SupplyFailure.objects.select_related(
        "round", "round_item__item", "region", "manufacturer", "backup_bid__manufacturer"
    )
    if org is None:
        return qs.none()
    if org.kind == Organization.Kind.OFFICE:
        return qs.filter(round__office=org)
    if org.kind == Organization.Kind.HOSPITAL:
        return qs.filter(region_id=org.region_id)
    return qs.filter(Q(manufacturer=org) | Q(backup_bid__manufacturer=org))


# --- progress from the maintained snapshot (``contracts.summaries``) ----------------------

_CELL_FIELDS = {
    "item": (
        "round_item_id",
        "round_item__item__code",
        "round_item__item__name",
        "round_item__item__name_en",
        "round_item__item__unit_of_count",
        "round_item__item__unit_of_count_en",
    ),
    "region": ("region_id", "region__code", "region__name_zh", "region__name_en"),
    "manufacturer": (
        "manufacturer_id",
        "manufacturer__social_credit_code",
        "manufacturer__name",
        "manufacturer__name_en",
    ),
}
_HOSPITAL_FIELDS = (
    "hospital_id",
    "hospital_code",
    "hospital__name",
    "hospital__name_en",
    "hospital__region__name_zh",
    "hospital__region__name_en",
)
_FIGURES = ("agreed", "bought", "expected", "elapsed")


def _snapshot_progress(row: dict[str, Any]) -> Progress:
    return Progress(
        agreed=row["agreed"], bought=row["bought"], expected=row["expected"], elapsed=row["elapsed"]
    )


def snapshot_summary(
    *, snapshot: ProgressSnapshot, manufacturer_id: int | None = None
) -> ProgressSummary:
    """``progress_summary`` from the snapshot's cells (of one winner when given): one
    query over at most items x provinces x winners rows."""
    cells = ProgressCell.objects.filter(snapshot=snapshot)
    if manufacturer_id is not None:
        cells = cells.filter(manufacturer_id=manufacturer_id)
    fields = [f for key in SUMMARY_KEYS for f in _CELL_FIELDS[key]]
    rows = list(cells.order_by().values(*fields, *_FIGURES))

    def named(row: dict[str, Any], key: str) -> Named:
        pk, code, name, name_en, *unit = (row[f] for f in _CELL_FIELDS[key])
        if key == "item":
            return Named(pk, code, name, name_en or "", unit=unit[0], unit_en=unit[1])
        return Named(pk, code, name, name_en or "")

    def by(key: str) -> list[tuple[Named, Progress]]:
        groups: dict[int, tuple[Named, list[Progress]]] = {}
        for row in rows:
            groups.setdefault(row[_CELL_FIELDS[key][0]], (named(row, key), []))[1].append(
                _snapshot_progress(row)
            )
        return sorted(
            ((n, combine(parts)) for n, parts in groups.values()),
            key=lambda pair: (pair[0].code, pair[0].pk),
        )

    return ProgressSummary(
        total=combine(_snapshot_progress(row) for row in rows),
        by_item=by("item"),
        by_region=by("region"),
        by_manufacturer=by("manufacturer"),
    )


def snapshot_hospitals(
    *, snapshot: ProgressSnapshot, manufacturer_id: int | None = None
) -> QuerySet[Any]:
    """The snapshot's rows by hospital (over every winner, or with one winner), by code,
    as dicts to be paged (``snapshot_hospital_rows`` turns a page into pairs)."""
    return (
        ProgressHospital.objects.filter(snapshot=snapshot, manufacturer_id=manufacturer_id)
        .values(*_HOSPITAL_FIELDS, *_FIGURES)
        .order_by("hospital_code", "hospital_id")
    )


def snapshot_behind(*, snapshot: ProgressSnapshot) -> QuerySet[Any]:
    """The hospitals behind schedule over all their lines, largest shortfall first."""
    return (
        ProgressHospital.objects.filter(snapshot=snapshot, manufacturer_id=None, behind=True)
        .values(*_HOSPITAL_FIELDS, *_FIGURES)
        .order_by("-shortfall", "hospital_code", "hospital_id")
    )


def snapshot_hospital_rows(rows: Iterable[dict[str, Any]]) -> list[tuple[Named, Progress]]:
    pairs = []
    for row in rows:
        pk, code, name, name_en, region_zh, region_en = (row[f] for f in _HOSPITAL_FIELDS)
        region = Named(0, "", region_zh or "", region_en or "").display_name
        pairs.append((Named(pk, code, name, name_en or "", region=region), _snapshot_progress(row)))
    return pairs

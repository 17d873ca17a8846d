"""Reads of the award, with the access checks.

* The office sees everything of the rounds it runs (``round.office``).
* A hospital sees only its own allocations, objections and contracts.
* A manufacturer sees only its own bid results, allocations, objections and contracts.
* Anyone (signed in or not) sees the published results of a round in its objection
  period (proposed winners) or after the award.
A refusal is ``Http404`` for objects of another party (their existence is not revealed).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any, TypeVar

from django.db.models import (
    BigIntegerField,
    Case,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Min,
    Model,
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
from django.utils.translation import gettext as _

from accounts.models import Organization, Region, User
from contracts.models import (
    BidResult,
    Contract,
    ContractLine,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    Notification,
    Objection,
    ProvinceAllocation,
    ProvinceSelection,
    Purchase,
    SupplyFailure,
)
from contracts.progress import (
    Progress,
    combine,
    elapsed_days,
    line_progress,
)
from procurement.models import Round, RoundItem

S = Round.Status
PUBLISHED = {S.OBJECTION, S.AWARDED, S.CONTRACTED, S.IN_EXECUTION, S.CLOSED}
FINAL = {S.AWARDED, S.CONTRACTED, S.IN_EXECUTION, S.CLOSED}


def _org(user: User) -> Organization | None:
    return getattr(user, "organization", None) if user.is_authenticated else None


def round_get_for_office(*, user: User, round_id: int) -> Round:
    org = _org(user)
    round_ = Round.objects.filter(pk=round_id).select_related("rule_set").first()
    if round_ is None or org is None or round_.office_id != org.pk:
        raise Http404
    return round_


def round_list_for_office(*, user: User) -> QuerySet[Round]:
    org = _org(user)
    if org is None or org.kind != Organization.Kind.OFFICE:
        return Round.objects.none()
    return Round.objects.filter(office=org).order_by("-created_at")


def run_get_for_office(*, user: User, run_id: int) -> EvaluationRun:
    org = _org(user)
    run = (
        EvaluationRun.objects.filter(pk=run_id)
        .select_related("round", "rule_set", "same_as", "requested_by")
        .defer("result", "same_as__result")
        .first()
    )
    if run is None or org is None or run.round.office_id != org.pk:
        raise Http404
    return run


def run_list_for_round(*, round_: Round) -> QuerySet[EvaluationRun]:
    # The result document can hold a million hospital lines: never loaded for a listing.
    return (
        EvaluationRun.objects.filter(round=round_)
        .select_related("rule_set", "same_as")
        .defer("result", "same_as__result")
    )


def official_run(*, round_: Round) -> EvaluationRun | None:
    return (
        EvaluationRun.objects.filter(round=round_, is_official=True)
        .select_related("same_as", "rule_set")
        .defer("result", "same_as__result")
        .first()
    )


def published_round_get(*, round_id: int) -> tuple[Round, EvaluationRun]:
    """A round whose results are public (objection period or awarded), with its run."""
    round_ = Round.objects.filter(pk=round_id, status__in=PUBLISHED).first()
    run = official_run(round_=round_) if round_ else None
    if round_ is None or run is None:
        raise Http404
    return round_, run.source_run


def results_tables(*, run: EvaluationRun) -> list[dict[str, object]]:
    """Per item: the award figures, the bids with results, the province allocations."""
    awards = ItemAward.objects.filter(run=run).select_related("round_item__item")
    bids: dict[int, list[BidResult]] = {}
    for b in BidResult.objects.filter(run=run).select_related("manufacturer", "opened_bid"):
        bids.setdefault(b.round_item_id, []).append(b)
    provinces: dict[int, list[ProvinceAllocation]] = {}
    for p in ProvinceAllocation.objects.filter(run=run).select_related(
        "region", "manufacturer", "backup_bid__manufacturer"
    ):
        provinces.setdefault(p.round_item_id, []).append(p)
    out = []
    for award in awards:
        item_bids = sorted(
            bids.get(award.round_item_id, []),
            key=lambda b: (
                {"won": 0, "lost": 1, "invalid": 2}[b.outcome],
                b.rank or 10**9,
                b.unit_comparable_price or 0,
                b.opened_bid_id,
            ),
        )
        out.append(
            {
                "award": award,
                "bids": item_bids,
                "winners": [b for b in item_bids if b.outcome == BidResult.Outcome.WON],
                "provinces": provinces.get(award.round_item_id, []),
            }
        )
    return out


def provisional_rounds(*, round_ids: Iterable[int]) -> dict[int, str]:
    """The rounds among ``round_ids`` whose published allocations may still change, each
    with the reason users are shown (marked 暂定 / provisional beside the figures).

    * In the objection period the winners are only proposed (拟中选).
    * A drug round's final award allocates provinces only once province selection has
      closed and its allocation run is done: until then the provinces, and so each
      hospital's supplier and volumes, are the evaluation's and may change.
    """
    ids = set(round_ids)
    if not ids:
        return {}
    rounds = list(Round.objects.filter(pk__in=ids).values_list("pk", "status", "kind"))
    selections = {
        round_id: (status, result_status)
        for round_id, status, result_status in ProvinceSelection.objects.filter(
            round_id__in=ids
        ).values_list("round_id", "status", "result_run__status")
    }
    # Consumable rounds whose run applying the hospitals' choices (contracts.reassignment)
    # has not finished.
    choosing = set(
        EvaluationRun.objects.filter(round_id__in=ids, is_hospital_choice=True)
        .exclude(status=EvaluationRun.Status.DONE)
        .values_list("round_id", flat=True)
    )
    out: dict[int, str] = {}
    for pk, status, kind in rounds:
        if status == S.OBJECTION:
            out[pk] = _(
                "Proposed: the winners are published for objections; these figures may "
                "change until the award is final."
            )
        elif status == S.AWARDED and kind == Round.Kind.DRUGS:
            selection_status, result_status = selections.get(pk, (None, None))
            if (
                selection_status != ProvinceSelection.Status.CLOSED
                or result_status != EvaluationRun.Status.DONE
            ):
                out[pk] = _(
                    "Provisional until province selection has finished: the provinces, "
                    "and so the suppliers and volumes, may still change."
                )
        elif status == S.AWARDED and pk in choosing:
            out[pk] = _(
                "Provisional until the hospitals' choices for the volume of losing products "
                "are applied: the suppliers of that volume may still change."
            )
    return out


def bid_results_list_for_manufacturer(*, user: User) -> QuerySet[BidResult]:
    """A manufacturer's own results in rounds whose results are published."""
    org = _org(user)
    if org is None or org.kind != Organization.Kind.MANUFACTURER:
        return BidResult.objects.none()
    return (
        BidResult.objects.filter(
            manufacturer=org,
            run__is_official=True,
            run__round__status__in=PUBLISHED,
        )
        .select_related("run__round", "round_item__item")
        .order_by("-run__round__created_at", "round_item__item__code")
    )


def _official_source_runs() -> list[int]:
    """Ids of the runs holding the rows of each published round's official result."""
    ids = []
    for run in EvaluationRun.objects.filter(is_official=True, round__status__in=PUBLISHED):
        ids.append(run.same_as_id or run.pk)
    return ids


def province_allocations_list_for_user(*, user: User) -> QuerySet[ProvinceAllocation]:
    org = _org(user)
    if org is None or org.kind != Organization.Kind.MANUFACTURER:
        return ProvinceAllocation.objects.none()
    return (
        ProvinceAllocation.objects.filter(manufacturer=org, run_id__in=_official_source_runs())
        .select_related("run__round", "round_item__item", "region")
        .order_by("run__round_id", "round_item__item__code", "region__code")
    )


def hospital_allocations_list_for_user(*, user: User) -> QuerySet[HospitalAllocation]:
    """A hospital's own allocations; a manufacturer's own (per hospital); nothing else."""
    org = _org(user)
    if org is None:
        return HospitalAllocation.objects.none()
    runs = _official_source_runs()
    qs = HospitalAllocation.objects.filter(run_id__in=runs)
    if org.kind == Organization.Kind.HOSPITAL:
        qs = qs.filter(hospital=org)
    elif org.kind == Organization.Kind.MANUFACTURER:
        qs = qs.filter(manufacturer=org)
    else:
        return HospitalAllocation.objects.none()
    return qs.select_related(
        "run__round", "round_item__item", "manufacturer", "hospital", "region"
    ).order_by("run__round_id", "round_item__item__code", "hospital_id", "opened_bid_id")


_M = TypeVar("_M", bound=Model)


def _matching(queryset: QuerySet[_M], text: str, *fields: str) -> QuerySet[_M]:
    """The rows where any of ``fields`` contains ``text`` (case-insensitive); all of them
    when ``text`` is empty. Shared by the searchable award and execution lists."""
    if not text:
        return queryset
    return queryset.filter(reduce(or_, (Q(**{f"{field}__icontains": text}) for field in fields)))


def hospital_allocations_matching(
    allocations: QuerySet[HospitalAllocation], text: str
) -> QuerySet[HospitalAllocation]:
    """Allocations whose hospital, supplier (Chinese or English name), item code or round
    code holds ``text``."""
    return _matching(
        allocations,
        text,
        "hospital__name",
        "hospital__name_en",
        "manufacturer__name",
        "manufacturer__name_en",
        "round_item__item__code",
        "run__round__code",
    )


def hospital_allocation_totals(*, run: EvaluationRun) -> dict[int, int]:
    return dict(
        HospitalAllocation.objects.filter(run=run)
        .values_list("round_item_id")
        .annotate(total=Sum("quantity"))
        .values_list("round_item_id", "total")
    )


def objection_list_for_user(*, user: User, round_: Round | None = None) -> QuerySet[Objection]:
    org = _org(user)
    qs = Objection.objects.select_related("round", "round_item__item", "organization", "filed_by")
    if round_ is not None:
        qs = qs.filter(round=round_)
    if org is None:
        return qs.none()
    if org.kind == Organization.Kind.OFFICE:
        return qs.filter(round__office=org)
    return qs.filter(organization=org)


def objection_get_for_user(*, user: User, objection_id: int) -> Objection:
    objection = objection_list_for_user(user=user).filter(pk=objection_id).first()
    if objection is None:
        raise Http404
    return objection


def notification_list_for_user(*, user: User) -> QuerySet[Notification]:
    org = _org(user)
    if org is None:
        return Notification.objects.none()
    return Notification.objects.filter(organization=org)


def selection_get_for_user(*, user: User, round_id: int) -> ProvinceSelection:
    """The office of the round, or a winner of its final award; nobody else."""
    org = _org(user)
    selection = (
        ProvinceSelection.objects.filter(round_id=round_id)
        .select_related("round", "run", "result_run")
        .first()
    )
    if selection is None or org is None:
        raise Http404
    if org.kind == Organization.Kind.OFFICE and selection.round.office_id == org.pk:
        return selection
    if (
        org.kind == Organization.Kind.MANUFACTURER
        and BidResult.objects.filter(
            run=selection.run.source_run, manufacturer=org, outcome=BidResult.Outcome.WON
        ).exists()
    ):
        return selection
    raise Http404


def selection_list_for_manufacturer(*, user: User) -> list[ProvinceSelection]:
    org = _org(user)
    if org is None or org.kind != Organization.Kind.MANUFACTURER:
        return []
    out = []
    for selection in ProvinceSelection.objects.select_related("round", "run").order_by(
        "-opened_at"
    ):
        if BidResult.objects.filter(
            run=selection.run.source_run, manufacturer=org, outcome=BidResult.Outcome.WON
        ).exists():
            out.append(selection)
    return out


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


def contracts_matching(contracts: QuerySet[Contract], text: str) -> QuerySet[Contract]:
    """Contracts whose number, hospital or manufacturer (Chinese or English name) holds
    ``text``; all of them when it is empty."""
    return _matching(
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


def progress_lines(*, contracts: QuerySet[Contract], today: datetime.date) -> list[LineProgress]:
    """Every current contract line of ``contracts`` with its bought, agreed and pro-rata
    figures (``contracts.progress``).

    Read as plain values, not model instances, with the names fetched once per hospital,
    manufacturer, item and province: a national round has about a million lines.
    """
    lines = list(
        ContractLine.objects.filter(contract__in=contracts, version=F("contract__current_version"))
        .order_by("contract__number", "round_item__item__code")
        .values_list(
            "contract_id",
            "contract__number",
            "contract__hospital_id",
            "contract__manufacturer_id",
            "round_item_id",
            "region_id",
            "quantity",
            "starts_on",
            "ends_on",
        )
        .iterator(chunk_size=20_000)
    )
    bought = {
        (c, i): q
        for c, i, q in Purchase.objects.filter(contract__in=contracts)
        .values_list("contract_id", "round_item_id")
        .annotate(q=Sum("quantity"))
        .values_list("contract_id", "round_item_id", "q")
    }
    regions = {r.pk: Named(r.pk, r.code, r.name_zh, r.name_en) for r in Region.objects.all()}
    org_ids = {line[2] for line in lines} | {line[3] for line in lines}
    orgs = {
        pk: Named(
            pk,
            code,
            name,
            name_en,
            regions[region_id].display_name if region_id in regions else "",
        )
        for pk, code, name, name_en, region_id in Organization.objects.filter(
            pk__in=org_ids
        ).values_list("pk", "social_credit_code", "name", "name_en", "region_id")
    }
    items = {
        pk: Named(pk, code, name, name_en)
        for pk, code, name, name_en in RoundItem.objects.filter(
            pk__in={line[4] for line in lines}
        ).values_list("pk", "item__code", "item__name", "item__name_en")
    }
    return [
        LineProgress(
            contract_id=contract_id,
            contract_number=number,
            hospital=orgs[hospital_id],
            manufacturer=orgs[manufacturer_id],
            item=items[item_id],
            region=regions[region_id],
            progress=line_progress(
                agreed=quantity,
                bought=bought.get((contract_id, item_id), 0),
                starts_on=starts_on,
                ends_on=ends_on,
                today=today,
            ),
        )
        for (
            contract_id,
            number,
            hospital_id,
            manufacturer_id,
            item_id,
            region_id,
            quantity,
            starts_on,
            ends_on,
        ) in lines
    ]


def progress_by(rows: list[LineProgress], key: str) -> list[tuple[Named, Progress]]:
    """Totals per ``hospital``, ``manufacturer``, ``item`` or ``region``, by code."""
    groups: dict[int, tuple[Named, list[Progress]]] = {}
    for row in rows:
        obj: Named = getattr(row, key)
        groups.setdefault(obj.pk, (obj, []))[1].append(row.progress)
    return sorted(
        ((obj, combine(parts)) for obj, parts in groups.values()), key=lambda g: g[0].code
    )


def behind_schedule_hospitals(*, rows: list[LineProgress]) -> list[tuple[Named, Progress]]:
    """Hospitals whose purchases, over all their lines, are behind the pro-rata schedule."""
    return sorted(
        (
            (hospital, progress)
            for hospital, progress in progress_by(rows, "hospital")
            if progress.behind
        ),
        key=lambda pair: -pair[1].shortfall,
    )


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


def progress_lines_matching(lines: QuerySet[ContractLine], text: str) -> QuerySet[ContractLine]:
    """Lines whose contract number, hospital (Chinese or English name) or item code
    holds ``text``."""
    return _matching(
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
    return _matching(
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

"""Reads of the award, with the access checks.

* The office sees everything of the rounds it runs (``round.office``).
* A hospital sees only its own allocations and objections.
* A manufacturer sees only its own bid results, allocations and objections.
* Anyone (signed in or not) sees the published results of a round in its objection
  period (proposed winners) or after the award.
A refusal is ``Http404`` for objects of another party (their existence is not revealed).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from operator import or_
from typing import TypeVar

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from awards.models import (
    BidResult,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    Objection,
    ProvinceAllocation,
    ProvinceSelection,
)
from procurement.models import Round
from procurement.periods import period_days

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
    # Consumable rounds whose run applying the hospitals' choices (awards.services.reassignment)
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
        .defer("run__result")
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
        .defer("run__result")
        .order_by("run__round_id", "round_item__item__code", "region__code")
    )


def hospital_allocations_list_for_user(*, user: User) -> QuerySet[HospitalAllocation]:
    """A hospital's own allocations; a manufacturer's own (per hospital); nothing else.

    In the allocation's own columns' order (its run, i.e. its round's official award; its
    round item, in the order the items were added to the round; the hospital; the bid),
    which the party's index holds (``awards_alloc_hospital_page``,
    ``awards_alloc_maker_page``): a page is read in order from the index, not sorted out
    of every allocation of a national winner. The runs' list is on the index's leading
    column: PostgreSQL (before 17) keeps an index's order for a list only there; on a
    later column it filters every allocation of the party's earlier runs (the national
    round's provisional run before selection: 0.11 s for maker01 at 46,000 hospitals)."""
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
    return (
        qs.select_related("run__round", "round_item__item", "manufacturer", "hospital", "region")
        .defer("run__result")
        .order_by("run_id", "round_item_id", "hospital_id", "opened_bid_id")
    )


_M = TypeVar("_M", bound=Model)


def matching(queryset: QuerySet[_M], text: str, *fields: str) -> QuerySet[_M]:
    """The rows where any of ``fields`` contains ``text`` (case-insensitive); all of them
    when ``text`` is empty. Shared by the searchable award lists and the contracts' lists."""
    if not text:
        return queryset
    return queryset.filter(reduce(or_, (Q(**{f"{field}__icontains": text}) for field in fields)))


def hospital_allocations_matching(
    allocations: QuerySet[HospitalAllocation], text: str
) -> QuerySet[HospitalAllocation]:
    """Allocations whose hospital, supplier (Chinese or English name), item code or round
    code holds ``text``."""
    return matching(
        allocations,
        text,
        "hospital__name",
        "hospital__name_en",
        "manufacturer__name",
        "manufacturer__name_en",
        "round_item__item__code",
        "run__round__code",
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


def selection_get_for_user(*, user: User, round_id: int) -> ProvinceSelection:
    """The office of the round, or a winner of its final award; nobody else."""
    org = _org(user)
    selection = (
        ProvinceSelection.objects.filter(round_id=round_id)
        .select_related("round", "run__same_as", "result_run")
        .defer("run__result", "run__same_as__result", "result_run__result")
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
    # One query: the selections of the rounds whose official result (the run's own rows,
    # or those of the run it had the same input as) names this manufacturer a winner.
    won = BidResult.objects.filter(
        run_id=Coalesce(OuterRef("run__same_as_id"), OuterRef("run_id")),
        manufacturer=org,
        outcome=BidResult.Outcome.WON,
    )
    return list(
        ProvinceSelection.objects.filter(Exists(won))
        .select_related("round", "run")
        .defer("run__result")
        .order_by("-opened_at")
    )


def items_below_min_bidders(*, run: EvaluationRun) -> tuple[int, list[ItemAward]]:
    """The rule set's minimum number of bidders per item (``min_bidders_per_item``, 0: none)
    and every item of ``run`` that had fewer bidders, by item code: the evaluation page
    warns about each."""
    minimum = period_days(run.round.rule_set, "min_bidders_per_item")
    if minimum <= 0:
        return minimum, []
    below = (
        ItemAward.objects.filter(run=run.source_run, bidders__lt=minimum)
        .select_related("round_item__item")
        .order_by("round_item__item__code")
    )
    return minimum, list(below)

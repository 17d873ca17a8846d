"""Reads for reports: access checks and the data every report is built from.

Every figure comes from the official evaluation run's stored rows (its source run):
``ItemAward``, ``BidResult``, ``ProvinceAllocation``, ``HospitalAllocation``, and from the
opening record (``OpenedBid``). Nothing is recomputed from bids.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Organization, User
from awards.models import (
    AuditEntry,
    BidResult,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    ProvinceAllocation,
)
from awards.reasons import bid_result_reason
from awards.selectors import FINAL, official_run
from bidding.models import OpenedBid, Opening
from common.i18n import Names
from procurement import selectors as procurement_selectors
from procurement.models import Round, RoundItem, RuleSet
from reports import analysis
from reports.models import GenerationJob, ReportDocument

# Statuses in which the office may look at the analysis (proposed winners exist).
EVALUATED_OR_LATER = {
    Round.Status.EVALUATED,
    Round.Status.OBJECTION,
    *FINAL,
}


def _org(user: User) -> Organization | None:
    return getattr(user, "organization", None) if user.is_authenticated else None


def round_get_public(*, round_id: int) -> tuple[Round, EvaluationRun]:
    """A round whose award is final (published), with its official run's source run.

    Anything else (unknown, draft, evaluated, objection period, cancelled) is a 404 for
    the public: proposed winners are published by the award pages, not as reports.
    """
    round_ = Round.objects.filter(pk=round_id, status__in=FINAL).select_related("office").first()
    run = official_run(round_=round_) if round_ is not None else None
    if round_ is None or run is None:
        raise Http404
    return round_, run.source_run


def round_list_public() -> QuerySet[Round]:
    return Round.objects.filter(status__in=FINAL, evaluation_runs__is_official=True).order_by(
        "-opening_at", "code"
    )


def round_get_for_office(*, user: User, round_id: int) -> tuple[Round, EvaluationRun]:
    """The office's own round with an official run (drafts included: it sees them first)."""
    org = _org(user)
    round_ = Round.objects.filter(pk=round_id).select_related("office").first()
    if round_ is None or org is None or round_.office_id != org.pk:
        raise Http404
    run = official_run(round_=round_)
    if run is None or round_.status not in EVALUATED_OR_LATER:
        raise Http404
    return round_, run.source_run


def round_get_for_party(*, user: User, round_id: int) -> tuple[Round, EvaluationRun, Organization]:
    """A finalized round for a hospital or manufacturer that takes part in its award."""
    org = _org(user)
    if org is None or org.kind not in {Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER}:
        raise PermissionDenied
    round_, run = round_get_public(round_id=round_id)
    if org.kind == Organization.Kind.HOSPITAL:
        takes_part = HospitalAllocation.objects.filter(run=run, hospital=org).exists()
    else:
        takes_part = BidResult.objects.filter(run=run, manufacturer=org).exists()
    if not takes_part:
        raise Http404
    return round_, run, org


def document_get(
    *, round_: Round, kind: str, language: str, organization: Organization | None = None
) -> ReportDocument | None:
    return (
        ReportDocument.objects.filter(
            round=round_, kind=kind, language=language, organization=organization
        )
        .select_related("round")
        .first()
    )


def documents_public(*, round_: Round) -> list[ReportDocument]:
    """The award-result PDFs of a round (their rows: the files are not opened)."""
    return list(
        ReportDocument.objects.filter(
            round=round_, kind=ReportDocument.Kind.AWARD_RESULT, organization=None
        )
        .select_related("round")
        .order_by("-language")
    )


# --- the data reports are built from ------------------------------------------------------


def item_ceilings(*, round_: Round, run: EvaluationRun | None) -> dict[int, Decimal]:
    """Each round item's maximum valid bid price per unit of its representative
    specification: the figure the run enforced (stored with its item awards), or before
    any run the same computation on the round's ceilings."""
    if run is None:
        return procurement_selectors.item_ceilings(round_=round_)
    return dict(
        ItemAward.objects.filter(run=run).values_list("round_item_id", "max_valid_bid_price")
    )


def _round_items(round_: Round) -> dict[int, RoundItem]:
    return {ri.pk: ri for ri in RoundItem.objects.filter(round=round_).select_related("item")}


def allocation_frame(*, round_: Round, run: EvaluationRun) -> pd.DataFrame:
    """Province allocations of the run as the analysis input (one row per allocation)."""
    items = _round_items(round_)
    ceilings = item_ceilings(round_=round_, run=run)
    rows: list[dict[str, object]] = []
    allocations = (
        ProvinceAllocation.objects.filter(run=run)
        .select_related("region", "manufacturer")
        .order_by("round_item_id", "region__code", "opened_bid_id")
    )
    for a in allocations:
        ri = items[a.round_item_id]
        rows.append(
            {
                "item_code": ri.item.code,
                "item_name": ri.item.display_name,
                "unit": ri.item.display_unit,
                "region": a.region.name,
                "hospital": "",
                "manufacturer": a.manufacturer.display_name,
                "quantity": a.quantity,
                "award_price": a.unit_price,
                "reference_price": ri.reference_price,
                "ceiling": ceilings[a.round_item_id],
            }
        )
    return analysis.allocations_frame(rows)


def hospital_allocation_frame(
    *,
    round_: Round,
    run: EvaluationRun,
    hospital: Organization | None = None,
    manufacturer: Organization | None = None,
) -> pd.DataFrame:
    """Hospital allocations of the run (optionally one hospital's or one maker's)."""
    items = _round_items(round_)
    ceilings = item_ceilings(round_=round_, run=run)
    qs = HospitalAllocation.objects.filter(run=run)
    if hospital is not None:
        qs = qs.filter(hospital=hospital)
    if manufacturer is not None:
        qs = qs.filter(manufacturer=manufacturer)
    rows: list[dict[str, object]] = []
    for h in qs.select_related("region", "manufacturer", "hospital").order_by(
        "round_item_id", "region__code", "hospital_id", "opened_bid_id"
    ):
        ri = items[h.round_item_id]
        rows.append(
            {
                "item_code": ri.item.code,
                "item_name": ri.item.display_name,
                "unit": ri.item.display_unit,
                "region": h.region.name,
                "hospital": h.hospital.display_name,
                "manufacturer": h.manufacturer.display_name,
                "quantity": h.quantity,
                "award_price": h.unit_price,
                "reference_price": ri.reference_price,
                "ceiling": ceilings[h.round_item_id],
            }
        )
    return analysis.allocations_frame(rows)


@dataclass
class WinnerRow:
    manufacturer: str
    product: str
    specification: Names
    unit_price: Decimal | None
    unit_comparable_price: Decimal | None
    award_price: Decimal | None
    cut_vs_ceiling_pct: Decimal | None
    agreed_volume: int
    term_years: int | None
    provinces: list[str]


@dataclass
class ItemSection:
    code: str
    name: Names
    unit: str
    reference_price: Decimal | None
    ceiling: Decimal | None
    bidders: int
    valid_bids: int
    winner_count: int
    pooled_demand: int
    agreed_volume: int
    term_years: int | None
    figures: dict[str, Any]
    winners: list[WinnerRow] = field(default_factory=list)
    # Consumables: the rule set the bidding unit was awarded under (its own or the
    # round's); None in a drug round (one rule set, named in the preamble).
    rule_set: RuleSet | None = None


@dataclass
class OpeningRow:
    item_code: str
    manufacturer: str
    product: str
    specification: Names
    unit_price: Decimal | None
    unit_comparable_price: Decimal | None
    validity: str
    reasons: str
    outcome: str
    receipt_hash: str


def _finalized_at(round_: Round) -> Any:
    entry = (
        AuditEntry.objects.filter(round=round_, action="award_finalized").order_by("-at").first()
    )
    return entry.at if entry else None


def award_result_data(*, round_: Round, run: EvaluationRun) -> dict[str, Any]:
    """Everything the award-result announcement shows, in display order.

    Names are taken in the active language (``display_name``), so call it inside
    ``translation.override``.
    """
    frame = allocation_frame(round_=round_, run=run)
    results = {
        r.opened_bid_id: r
        for r in BidResult.objects.filter(run=run).select_related(
            "opened_bid__product", "opened_bid__specification", "manufacturer"
        )
    }
    sections = _item_sections(round_=round_, run=run, frame=frame, results=results)
    opened = (
        OpenedBid.objects.filter(round_item__round=round_)
        .select_related("manufacturer", "product", "specification", "round_item__item")
        .order_by("round_item__item__code", "unit_comparable_price", "manufacturer__name", "pk")
    )
    opening_rows = [_opening_row(o, results) for o in opened]
    bidders = len({o.manufacturer_id for o in opened})
    won_results = [r for r in results.values() if r.outcome == "won"]
    return {
        "round": round_,
        "run": run,
        "office": round_.office,
        "opening": Opening.objects.filter(round=round_).first(),
        "finalized_at": _finalized_at(round_),
        "summary": {
            "items": len(sections),
            "bidders": bidders,
            "bids": len(opening_rows),
            "winning_bids": len(won_results),
            "winning_companies": len({r.manufacturer_id for r in won_results}),
            **analysis.cut_totals(frame),
        },
        "sections": sections,
        "opening_rows": opening_rows,
    }


def _item_sections(
    *, round_: Round, run: EvaluationRun, frame: pd.DataFrame, results: dict[int, BidResult]
) -> list[ItemSection]:
    """One section per awarded item: its figures and its winners in rank order."""
    items = _round_items(round_)
    ceilings = item_ceilings(round_=round_, run=run)
    per_item = {
        row["item_code"]: row for row in analysis.item_table(frame).to_dict(orient="records")
    }
    awards = {
        a.round_item_id: a
        for a in ItemAward.objects.filter(run=run).select_related("round_item__item")
    }
    provinces, volumes = _winner_provinces(run)
    sections: list[ItemSection] = []
    for ri in sorted(items.values(), key=lambda r: r.item.code):
        award = awards.get(ri.pk)
        if award is None:
            continue
        won = sorted(
            (r for r in results.values() if r.round_item_id == ri.pk and r.outcome == "won"),
            key=lambda r: (r.rank or 10**9, r.opened_bid_id),
        )
        section = ItemSection(
            code=ri.item.code,
            name=ri.item.names,
            unit=ri.item.display_unit,
            reference_price=ri.reference_price,
            ceiling=ceilings.get(ri.pk),
            bidders=award.bidders,
            valid_bids=award.valid_bids,
            winner_count=award.winners,
            pooled_demand=award.pooled_demand,
            agreed_volume=award.agreed_volume,
            term_years=award.term_years,
            figures=per_item.get(ri.item.code, {}),
            rule_set=(
                (ri.rule_set if ri.rule_set_id and not run.is_scenario else round_.rule_set)
                if round_.kind == Round.Kind.CONSUMABLES
                else None
            ),
        )
        for r in won:
            bid = r.opened_bid
            spec_ceiling = bid.max_valid_bid_price
            cut = (
                analysis.percent(spec_ceiling - bid.unit_price, spec_ceiling)
                if spec_ceiling and bid.unit_price is not None
                else None
            )
            section.winners.append(
                WinnerRow(
                    manufacturer=r.manufacturer.display_name,
                    product=bid.product.display_name if bid.product else "",
                    specification=bid.specification.names,
                    unit_price=bid.unit_price,
                    # The figure the ranking used (the opening's, carried into the run).
                    unit_comparable_price=r.unit_comparable_price,
                    award_price=r.award_price,
                    cut_vs_ceiling_pct=cut,
                    agreed_volume=volumes.get(bid.pk, 0),
                    term_years=award.term_years,
                    provinces=provinces.get(bid.pk, []),
                )
            )
        sections.append(section)
    return sections


def _winner_provinces(run: EvaluationRun) -> tuple[dict[int, list[str]], dict[int, int]]:
    """Per opened bid: the provinces it supplies (each named once) and its total volume."""
    provinces: dict[int, list[str]] = defaultdict(list)
    volumes: dict[int, int] = defaultdict(int)
    for a in (
        ProvinceAllocation.objects.filter(run=run)
        .select_related("region")
        .order_by("region__code", "pk")
    ):
        # A winner may hold several rows in one province (e.g. its own hospitals' volume and
        # a hospital's choice for a losing product): name the province once.
        if a.region.name not in provinces[a.opened_bid_id]:
            provinces[a.opened_bid_id].append(a.region.name)
        volumes[a.opened_bid_id] += a.quantity
    return provinces, volumes


def _opening_row(o: OpenedBid, results: dict[int, BidResult]) -> OpeningRow:
    return OpeningRow(
        item_code=o.round_item.item.code,
        manufacturer=o.manufacturer.display_name,
        product=o.product.display_name if o.product else "",
        specification=o.specification.names,
        unit_price=o.unit_price,
        unit_comparable_price=o.unit_comparable_price,
        validity=o.get_validity_display(),
        reasons=", ".join(
            str(OpenedBid.Reason(x).label) if x in OpenedBid.Reason.values else str(x)
            for x in (o.reasons or [])
        ),
        outcome=(results[o.pk].get_outcome_display() if o.pk in results else ""),
        receipt_hash=o.receipt_hash,
    )


@dataclass
class Analysis:
    """The price-cut tables of a round (DataFrames of the pure analysis) and its totals."""

    totals: dict[str, Any]
    items: pd.DataFrame
    provinces: pd.DataFrame
    manufacturers: pd.DataFrame
    hospitals: pd.DataFrame | None
    winner_counts: pd.DataFrame


def analysis_get(*, round_: Round, run: EvaluationRun, with_hospitals: bool) -> Analysis:
    """The analysis of the run's allocations (hospital table only when asked: the office's)."""
    frame = allocation_frame(round_=round_, run=run)
    winners = list(ItemAward.objects.filter(run=run).values_list("winners", flat=True))
    hospitals = (
        analysis.hospital_table(hospital_allocation_frame(round_=round_, run=run))
        if with_hospitals
        else None
    )
    return Analysis(
        totals=analysis.cut_totals(frame),
        items=analysis.item_table(frame),
        provinces=analysis.province_table(frame),
        manufacturers=analysis.manufacturer_table(frame),
        hospitals=hospitals,
        winner_counts=analysis.winner_count_distribution(winners),
    )


def round_get_for_open_data(
    *, user: User | None, round_id: int | None = None, code: str | None = None
) -> tuple[Round, EvaluationRun | None]:
    """A round whose OCDS release the user may read: anyone once the award is final; the
    round's own office from the opening on (bids only exist in the release after it)."""
    qs = Round.objects.select_related("office__region")
    round_ = (
        qs.filter(pk=round_id).first() if round_id is not None else qs.filter(code=code).first()
    )
    if round_ is None:
        raise Http404
    run = official_run(round_=round_)
    if round_.status in FINAL and run is not None:
        return round_, run.source_run
    org = _org(user) if user is not None else None
    opened = Opening.objects.filter(round=round_).exists()
    if org is not None and org.pk == round_.office_id and opened:
        return round_, run.source_run if run is not None else None
    raise Http404


# --- per-hospital and per-manufacturer reports --------------------------------------------


def hospital_ids_of(*, run: EvaluationRun) -> list[int]:
    return sorted(
        set(HospitalAllocation.objects.filter(run=run).values_list("hospital_id", flat=True))
    )


def manufacturer_ids_of(*, run: EvaluationRun) -> list[int]:
    return sorted(set(BidResult.objects.filter(run=run).values_list("manufacturer_id", flat=True)))


def _contracts_of(round_: Round, **party: Organization) -> list[dict[str, Any]]:
    """Contracts of the round for one party, with current lines and purchases so far.

    Empty until the contracts app has drawn contracts up for the round.
    """
    from contracts.models import Contract, ContractLine, Purchase

    contracts = list(
        Contract.objects.filter(round=round_, **party)
        .select_related("hospital", "manufacturer")
        .order_by("number")
    )
    if not contracts:
        return []
    bought: dict[tuple[int, int], int] = defaultdict(int)
    for contract_id, round_item_id, quantity in Purchase.objects.filter(
        contract__in=contracts
    ).values_list("contract_id", "round_item_id", "quantity"):
        bought[(contract_id, round_item_id)] += quantity
    out = []
    for c in contracts:
        lines: list[dict[str, Any]] = []
        for line in (
            ContractLine.objects.filter(contract=c, version=c.current_version)
            .select_related("round_item__item", "region")
            .order_by("round_item__item__code")
        ):
            purchased = bought[(c.pk, line.round_item_id)]
            lines.append(
                {
                    "item_code": line.round_item.item.code,
                    "item_name": line.round_item.item.display_name,
                    "unit": line.round_item.item.display_unit,
                    "region": line.region.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "amount": line.amount,
                    "purchased": purchased,
                    "progress_pct": analysis.percent(Decimal(purchased), Decimal(line.quantity)),
                    "ends_on": line.ends_on,
                }
            )
        out.append(
            {
                "number": c.number,
                "hospital": c.hospital.display_name,
                "manufacturer": c.manufacturer.display_name,
                "status": c.get_status_display(),
                "total": c.total,
                "starts_on": c.starts_on,
                "quantity": sum(int(line["quantity"]) for line in lines),
                "purchased": sum(int(line["purchased"]) for line in lines),
                "lines": lines,
            }
        )
    return out


def hospital_report_data(
    *, round_: Round, run: EvaluationRun, hospital: Organization
) -> dict[str, Any]:
    """A hospital's allocations (with price cuts), contracts and purchase progress."""
    frame = hospital_allocation_frame(round_=round_, run=run, hospital=hospital)
    rows = analysis.cut_table(frame, ["item_code", "item_name", "unit", "manufacturer"])
    return {
        "round": round_,
        "organization": hospital,
        "allocations": rows.to_dict(orient="records"),
        "totals": analysis.cut_totals(frame),
        "contracts": _contracts_of(round_, hospital=hospital),
    }


def manufacturer_report_data(
    *, round_: Round, run: EvaluationRun, manufacturer: Organization
) -> dict[str, Any]:
    """A manufacturer's results per bid, its provinces and its contract volumes."""
    results = list(
        BidResult.objects.filter(run=run, manufacturer=manufacturer)
        .select_related("round_item__item", "opened_bid__product", "opened_bid__specification")
        .order_by("round_item__item__code", "opened_bid_id")
    )
    provinces = list(
        ProvinceAllocation.objects.filter(run=run, manufacturer=manufacturer)
        .select_related("round_item__item", "region")
        .order_by("round_item__item__code", "region__code")
    )
    terms = dict(ItemAward.objects.filter(run=run).values_list("round_item_id", "term_years"))
    return {
        "round": round_,
        "organization": manufacturer,
        "results": [
            {
                "item_code": r.round_item.item.code,
                "item_name": r.round_item.item.display_name,
                "product": r.opened_bid.product.display_name if r.opened_bid.product else "",
                "specification": r.opened_bid.specification.display_label,
                "outcome": r.get_outcome_display(),
                "won": r.outcome == "won",
                "rank": r.rank,
                "unit_price": r.unit_price,
                "award_price": r.award_price,
                "term_years": terms.get(r.round_item_id) if r.outcome == "won" else None,
                "reason": bid_result_reason(r),
            }
            for r in results
        ],
        "provinces": [
            {
                "item_code": p.round_item.item.code,
                "region": p.region.name,
                "quantity": p.quantity,
                "unit_price": p.unit_price,
                "amount": analysis.money(p.unit_price * p.quantity),
            }
            for p in provinces
        ],
        "province_total": analysis.money(
            sum((p.unit_price * p.quantity for p in provinces), Decimal(0))
        ),
        "province_quantity": sum(p.quantity for p in provinces),
        "contracts": _contracts_of(round_, manufacturer=manufacturer),
    }


def party_documents_for_user(*, user: User) -> QuerySet[ReportDocument]:
    """The hospital's or manufacturer's own report documents (metadata only), newest
    round first, in a stable order (the home panel shows them a page at a time)."""
    org = _org(user)
    if org is None or org.kind not in {Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER}:
        return ReportDocument.objects.none()
    return (
        ReportDocument.objects.filter(organization=org, round__status__in=FINAL)
        .select_related("round")
        .order_by("-round__opening_at", "round__code", "-language", "pk")
    )


def rounds_for_office_panel(*, user: User) -> list[dict[str, Any]]:
    """The office's rounds from the evaluation on, with their published award-result PDFs."""
    org = _org(user)
    if org is None or org.kind != Organization.Kind.OFFICE:
        return []
    rounds = list(
        Round.objects.filter(office=org, status__in=EVALUATED_OR_LATER).order_by("-opening_at")[:20]
    )
    published = defaultdict(list)
    for document in ReportDocument.objects.filter(
        round__in=rounds, kind=ReportDocument.Kind.AWARD_RESULT, organization=None
    ).order_by("-language"):
        published[document.round_id].append(document)
    generating = set(
        GenerationJob.objects.filter(
            round__in=rounds, kind=GenerationJob.Kind.AWARD_RESULT, finished_at__isnull=True
        ).values_list("round_id", flat=True)
    )
    return [
        {
            "round": r,
            "final": r.status in FINAL,
            "documents": published.get(r.pk, []),
            "generating": r.pk in generating,
        }
        for r in rounds
    ]

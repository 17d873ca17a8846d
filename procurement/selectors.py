"""Reads of rounds, rule sets and demand, with the access checks.

Who sees what:
* an office sees the rounds it runs (and all rule sets);
* a hospital sees rounds past draft whose region scope includes its province, and only its
  own declarations;
* a manufacturer sees rounds past draft (it bids on them), never any declaration by
  hospital, only totals are for the office.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from accounts.models import Organization, Region, User
from catalog.comparable_price import ComparablePriceCoefficients, representative_ceiling
from catalog.models import Product, Specification
from procurement.models import (
    Ceiling,
    DemandChange,
    DemandDeclaration,
    Round,
    RoundItem,
    RoundTransition,
    RuleSet,
)
from procurement.optimiser.allocation import VolumeByWinners, agreed_volume_by_winners


def round_list_for_user(*, user: User) -> QuerySet[Round]:
    organization = user.organization
    queryset = Round.objects.select_related("office", "rule_set").prefetch_related("regions")
    if organization is None:
        return queryset.none() if not user.is_superuser else queryset
    if organization.kind == Organization.Kind.OFFICE:
        return queryset.filter(office=organization)
    visible = queryset.exclude(status=Round.Status.DRAFT)
    if organization.kind == Organization.Kind.HOSPITAL:
        return visible.filter(regions=organization.region_id)
    return visible


def round_search(rounds: QuerySet[Round], *, query: str = "", status: str = "") -> QuerySet[Round]:
    """Narrow a list of rounds by code or name (``query``) and state; newest first."""
    query = query.strip()
    if query:
        rounds = rounds.filter(
            Q(code__icontains=query) | Q(name__icontains=query) | Q(name_en__icontains=query)
        )
    if status in Round.Status.values:
        rounds = rounds.filter(status=status)
    return rounds.order_by("-created_at", "-pk")


def round_get_for_user(*, user: User, code: str) -> Round:
    """The round if the user may see it; ``Round.DoesNotExist`` otherwise (a 404)."""
    return round_list_for_user(user=user).get(code=code)


def round_can_declare(*, round_: Round, organization: Organization | None) -> bool:
    return (
        organization is not None
        and organization.kind == Organization.Kind.HOSPITAL
        and round_.status == Round.Status.DEMAND_OPEN
    )


def round_items_with_prices(*, round_: Round) -> list[RoundItem]:
    return list(
        round_.items.select_related("item").prefetch_related(
            "item__specifications", "ceilings__specification"
        )
    )


@dataclass
class PriceRow:
    round_item: RoundItem
    specification: Specification
    ceiling: object  # Decimal | None
    first: bool
    span: int


def item_ceilings(*, round_: Round) -> dict[int, Decimal]:
    """Round item id -> its maximum valid bid price per unit of the representative
    specification (the one marked so, or the only one), under the round's rule set.

    The same computation the evaluation enforces (``representative_ceiling``); once a run
    exists, reports print the figure stored with its item awards instead. Items without a
    representative specification or any ceiling are left out.
    """
    coefficients = ComparablePriceCoefficients.from_parameters(
        round_.rule_set.parameters.get("comparable_price") or {}
    )
    specs: dict[int, list[Specification]] = defaultdict(list)
    for spec in Specification.objects.filter(item__round_items__round=round_):
        specs[spec.item_id].append(spec)
    prices: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for c in Ceiling.objects.filter(round_item__round=round_):
        prices[c.round_item_id][c.specification_id] = c.max_valid_bid_price
    out: dict[int, Decimal] = {}
    for round_item in RoundItem.objects.filter(round=round_):
        item_specs = specs.get(round_item.item_id, [])
        marked = [s for s in item_specs if s.is_representative]
        representative = marked[0] if marked else (item_specs[0] if len(item_specs) == 1 else None)
        if representative is None:
            continue
        by_id = {s.pk: s for s in item_specs}
        own = prices[round_item.pk]
        ceiling = representative_ceiling(
            own=own.get(representative.pk),
            others=[(by_id[pk].as_comparable(), p) for pk, p in own.items() if pk in by_id],
            representative=representative.as_comparable(),
            coefficients=coefficients,
        )
        if ceiling is not None:
            out[round_item.pk] = ceiling
    return out


def round_price_rows(*, round_: Round) -> list[PriceRow]:
    """One row per round item and specification, with its ceiling (None when not set)."""
    rows: list[PriceRow] = []
    for round_item in round_items_with_prices(round_=round_):
        ceilings = {c.specification_id: c.max_valid_bid_price for c in round_item.ceilings.all()}
        specifications = list(round_item.item.specifications.all())
        for i, specification in enumerate(specifications):
            rows.append(
                PriceRow(
                    round_item=round_item,
                    specification=specification,
                    ceiling=ceilings.get(specification.pk),
                    first=i == 0,
                    span=len(specifications),
                )
            )
    return rows


def round_transitions(*, round_: Round) -> QuerySet[RoundTransition]:
    return round_.transitions.select_related("by").order_by("-at", "-id")


def rule_set_list() -> QuerySet[RuleSet]:
    return RuleSet.objects.annotate(round_count=Count("rounds")).order_by("name", "-version")


# --- demand ------------------------------------------------------------------------------


@dataclass
class DemandRow:
    """One line of a hospital's demand table: a round item's specification or product."""

    index: int
    round_item: RoundItem
    specification: Specification | None
    product: Product | None
    declaration: DemandDeclaration | None

    @property
    def field_name(self) -> str:
        target = f"s{self.specification.pk}" if self.specification else f"p{self.product.pk}"  # type: ignore[union-attr]
        return f"q-{self.round_item.pk}-{target}"

    @property
    def quantity(self) -> int | None:
        return self.declaration.quantity if self.declaration else None


def demand_rows_for_hospital(*, round_: Round, hospital: Organization) -> list[DemandRow]:
    """Every line the hospital can declare on, with its current value (if any)."""
    declarations = {
        (d.round_item_id, d.specification_id, d.product_id): d
        for d in DemandDeclaration.objects.filter(round_item__round=round_, hospital=hospital)
    }
    rows: list[DemandRow] = []
    for round_item in round_.items.select_related("item").prefetch_related(
        "item__specifications", "item__products__manufacturer"
    ):
        if round_.kind == Round.Kind.DRUGS:
            for specification in round_item.item.specifications.all():
                rows.append(
                    DemandRow(
                        index=len(rows) + 1,
                        round_item=round_item,
                        specification=specification,
                        product=None,
                        declaration=declarations.get((round_item.pk, specification.pk, None)),
                    )
                )
        else:
            for product in round_item.item.products.all():
                rows.append(
                    DemandRow(
                        index=len(rows) + 1,
                        round_item=round_item,
                        specification=None,
                        product=product,
                        declaration=declarations.get((round_item.pk, None, product.pk)),
                    )
                )
    return rows


def demand_template_rows(*, round_: Round, hospital: Organization) -> list[dict[str, object]]:
    """The hospital's demand sheet pre-filled with every line and its current quantity."""
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


def declaration_list_for_user(*, user: User, round_: Round) -> QuerySet[DemandDeclaration]:
    """A hospital's own declarations; for the round's office, everyone's."""
    organization = user.organization
    queryset = DemandDeclaration.objects.filter(round_item__round=round_).select_related(
        "round_item__item", "specification", "product", "hospital"
    )
    if organization is None:
        return queryset.none()
    if organization.kind == Organization.Kind.HOSPITAL:
        return queryset.filter(hospital=organization)
    if organization.kind == Organization.Kind.OFFICE and round_.office_id == organization.pk:
        return queryset
    return queryset.none()


def demand_history_for_user(
    *, user: User, round_: Round, query: str = ""
) -> QuerySet[DemandChange]:
    """The changes a user may see, newest first; ``query`` matches hospital or item."""
    organization = user.organization
    queryset = (
        DemandChange.objects.filter(round_item__round=round_)
        .select_related("round_item__item", "specification", "product", "by", "hospital")
        .order_by("-at", "-id")
    )
    query = query.strip()
    if query:
        queryset = queryset.filter(
            Q(round_item__item__code__icontains=query)
            | Q(round_item__item__name__icontains=query)
            | Q(round_item__item__name_en__icontains=query)
            | Q(hospital__name__icontains=query)
            | Q(hospital__name_en__icontains=query)
            | Q(hospital__social_credit_code__icontains=query)
        )
    if organization is None:
        return queryset.none()
    if organization.kind == Organization.Kind.HOSPITAL:
        return queryset.filter(hospital=organization)
    if organization.kind == Organization.Kind.OFFICE and round_.office_id == organization.pk:
        return queryset
    return queryset.none()


def demand_totals(*, round_: Round) -> tuple[pd.DataFrame, list[Region]]:
    """Total declared quantity by line (item x specification or product) and province.

    Returns a frame with one row per line (columns item_code, item, line, unit, one column
    per province code, total) and the provinces in column order.
    """
    from procurement import summaries

    regions = list(round_.regions.order_by("code"))
    snapshot = summaries.snapshot_for(round_.pk)
    # The maintained totals (``procurement.summaries``); before their first refresh (a
    # broker, the task not run yet) the same grouping, read here.
    records = snapshot.records if snapshot is not None else summaries.refresh_records(round_.pk)
    items = {ri.item.code: ri.item for ri in round_.items.select_related("item")}
    frame = pd.DataFrame(
        records,
        columns=[
            "round_item__item__code",
            "specification__label",
            "product__name",
            "product__model_number",
            "hospital__region__code",
            "quantity",
            "hospitals",
        ],
    )
    if frame.empty:
        return pd.DataFrame(columns=["item_code", "item", "line", "unit", "total"]), regions
    frame["line"] = frame["specification__label"].fillna("")
    product_line = (
        frame["product__name"].fillna("") + " " + frame["product__model_number"].fillna("")
    ).str.strip()
    frame.loc[frame["line"] == "", "line"] = product_line
    pivot = frame.pivot_table(
        index=["round_item__item__code", "line"],
        columns="hospital__region__code",
        values="quantity",
        aggfunc="sum",
        fill_value=0,
    )
    for region in regions:
        if region.code not in pivot.columns:
            pivot[region.code] = 0
    pivot = pivot[[r.code for r in regions]]
    pivot["total"] = pivot.sum(axis=1)
    pivot = pivot.reset_index().rename(columns={"round_item__item__code": "item_code"})
    pivot.insert(1, "item", pivot["item_code"].map(lambda c: items[c].display_name))
    pivot.insert(3, "unit", pivot["item_code"].map(lambda c: items[c].display_unit))
    return pivot, regions


def hospitals_in_scope(*, round_: Round) -> QuerySet[Organization]:
    return Organization.objects.filter(
        kind=Organization.Kind.HOSPITAL, region__in=round_.regions.all()
    ).select_related("region")


def hospitals_not_declared(*, round_: Round, query: str = "") -> QuerySet[Organization]:
    """Hospitals in the round's region scope with no declaration in the round.

    ``query`` keeps those whose name or credit code contains it."""
    # NOT EXISTS, not NOT IN: PostgreSQL runs it as a hashed anti-join; NOT IN over the
    # round's (national: ~900,000) declarations is a nested scan of minutes.
    declared = DemandDeclaration.objects.filter(round_item__round=round_, hospital=OuterRef("pk"))
    hospitals = (
        hospitals_in_scope(round_=round_)
        .filter(~Exists(declared))
        .order_by("region__code", "name", "pk")
    )
    query = query.strip()
    if query:
        hospitals = hospitals.filter(
            Q(name__icontains=query)
            | Q(name_en__icontains=query)
            | Q(social_credit_code__icontains=query)
        )
    return hospitals


def demand_summary(*, round_: Round) -> dict[str, Any]:
    """Hospitals in scope, declared and missing, and lines declared; the declared counts
    from the maintained snapshot (``procurement.summaries``), with ``computed_at`` (when
    they were totalled) and ``current`` (False while a refresh is queued)."""
    from procurement import summaries

    in_scope = hospitals_in_scope(round_=round_).count()
    snapshot = summaries.snapshot_for(round_.pk)
    if snapshot is None:
        declared = DemandDeclaration.objects.filter(round_item__round=round_).aggregate(
            h=Count("hospital", distinct=True), lines=Count("id")
        )
        hospitals, lines = declared["h"] or 0, declared["lines"] or 0
        computed_at, current = None, True
    else:
        hospitals, lines = snapshot.hospitals_declared, snapshot.lines
        computed_at, current = snapshot.computed_at, summaries.is_current(snapshot)
    return {
        "hospitals_in_scope": in_scope,
        "hospitals_declared": hospitals,
        "hospitals_missing": in_scope - hospitals,
        "lines": lines,
        "computed_at": computed_at,
        "current": current,
    }


def rounds_open_for_hospital(*, hospital: Organization) -> QuerySet[Round]:
    return (
        Round.objects.filter(status=Round.Status.DEMAND_OPEN, regions=hospital.region_id)
        .annotate(
            my_lines=Count(
                "items__declarations",
                filter=Q(items__declarations__hospital=hospital),
                distinct=True,
            )
        )
        .order_by("demand_closes_at")
    )


# Until demand closes the pooled demand still moves: the volumes are published from then
# on (with the procurement document, when bidding opens, at the latest).
_VOLUMES_UNPUBLISHED = {Round.Status.DRAFT, Round.Status.DEMAND_OPEN, Round.Status.CANCELLED}


@dataclass(frozen=True)
class ItemVolume:
    """An item's pooled demand (smallest units, every specification) and the first-year
    agreed volume for each number of winners the round's rule set names."""

    round_item: RoundItem
    pooled_demand: int
    by_winners: list[VolumeByWinners]


def round_item_volumes(*, round_: Round) -> list[ItemVolume]:
    """Per item of ``round_``, what bidders bid for: the pooled demand and the agreed
    volume by number of winners (``agreed_volume_by_winners``, province by province as
    the award computes it). Empty until demand has closed."""
    if round_.status in _VOLUMES_UNPUBLISHED:
        return []
    by_region: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        DemandDeclaration.objects.filter(round_item__round=round_)
        .values("round_item_id", "hospital__region__code")
        .annotate(total=Sum("quantity"))
    )
    for row in rows:
        by_region[row["round_item_id"]][row["hospital__region__code"]] = int(row["total"])
    parameters = round_.rule_set.parameters
    out = []
    for round_item in round_.items.select_related("item").order_by("item__code"):
        regions = by_region.get(round_item.pk, {})
        quantities = [regions[code] for code in sorted(regions)]
        out.append(
            ItemVolume(
                round_item=round_item,
                pooled_demand=sum(quantities),
                by_winners=agreed_volume_by_winners(parameters, quantities),
            )
        )
    return out

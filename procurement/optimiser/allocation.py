"""Who supplies which province and hospital, after the rule layer has chosen the winners.

Drug rounds: the province counts come from the rank-order draft, winners' stated
preferences are honoured in draft order, the rest is a CP-SAT assignment that minimises
price plus delivery cost within declared capacities. Consumables: hospitals keep the
intended volume of winning products, and the volume of losing products moves to the
winner the hospital chose or, when it chose none, to a cost-minimising default.

The solver works per province (hospitals aggregated); hospitals get their share
afterwards by a deterministic rule (``lay_out``), so the province-level optimum is also
the hospital-level one: a unit price does not depend on the hospital.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from ortools.sat.python import cp_model

from procurement.optimiser.model import (
    Allocation,
    Bid,
    HospitalAllocation,
    Item,
    Problem,
    RegionCost,
    RegionDemand,
    hospital_allocation,
)
from procurement.optimiser.reasons import (
    SOURCE_HOSPITAL_CHOICE,
    SOURCE_INTENDED_VOLUME,
    SOURCE_MINIMUM_COST_DEFAULT,
    SOURCE_PLATFORM_ASSIGNMENT,
    SOURCE_PREFERENCE,
    ReasonPart,
    message,
)
from procurement.optimiser.rules import ItemDecision, _volume_and_term

if TYPE_CHECKING:  # optimised.py builds on this module
    from procurement.optimiser.optimised import Solution


@dataclass
class SolveStats:
    """What the allocation solvers did, merged into the run record."""

    used_solver: bool = False
    all_optimal: bool = True
    warnings: list[ReasonPart] = field(default_factory=list)


@dataclass(frozen=True)
class Pricing:
    """Exact money for the solver: every figure times ``10 ** digits`` is an integer."""

    digits: int
    costs: Mapping[tuple[str, str], RegionCost]

    @property
    def scale(self) -> int:
        return 10**self.digits

    def to_int(self, value: Decimal) -> int:
        scaled = value * self.scale
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.digits} decimals")
        return int(scaled)

    def region_cost(self, bid: str, region: str) -> RegionCost | None:
        return self.costs.get((bid, region))


@dataclass(frozen=True)
class Allocated:
    """A rule kind's allocation of a problem: the decisions (the optimised award replaces
    the rule layer's), who supplies which region and hospital, and the optimised award's
    solution (None for the other kinds)."""

    decisions: list[ItemDecision]
    allocations: list[Allocation]
    hospitals: list[HospitalAllocation]
    solution: Solution | None = None


# A rule kind's allocation: (problem, the rule layer's decisions, exact money, solver stats).
Allocator = Callable[[Problem, list[ItemDecision], Pricing, SolveStats], Allocated]


def decimals_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -int(exponent)) if isinstance(exponent, int) else 0


def draft_order(winners: int, regions: int) -> list[int]:
    """Winner indexes (0 = lowest price) in picking order.

    The lowest-priced winner picks one province first; then winners take one province
    each per round in rank order until none is left: 4 winners of 31 get 9/8/7/7.
    """
    if winners == 0 or regions == 0:
        return []
    return [0] + [k % winners for k in range(regions - 1)]


def draft_counts(winners: int, regions: int) -> list[int]:
    counts = [0] * winners
    for index in draft_order(winners, regions):
        counts[index] += 1
    return counts


def agreed_quantity(quantity: int, share: Decimal) -> int:
    """Agreed volume of one province: share x its demand, rounded half up to a unit."""
    return int((share * quantity).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class VolumeByWinners:
    """What an item's winners are promised if ``winners`` of them win (``or_more``: that
    many or more): the share of the pooled demand, the first-year agreed volume it gives
    (smallest units, the sum of each province's share rounded half up, as the award
    computes it) and the contract term."""

    winners: int
    or_more: bool
    share: Decimal
    agreed_volume: int
    term_years: int

    @property
    def share_percent(self) -> str:
        """The share as a percentage without trailing zeros: "50", "62.5"."""
        return f"{(self.share * 100).normalize():f}"


def agreed_volume_by_winners(
    parameters: Mapping[str, Any], region_demand: Sequence[int]
) -> list[VolumeByWinners]:
    """The agreed volume for each number of winners a rule's tables name (约定采购量, as
    procurement documents publish it before bidding), from the pooled demand of each
    province. Empty for a rule without a share-by-winners table (consumables rules set
    the volume per group or per product)."""
    shares = parameters.get("volume_share_by_winners")
    terms = parameters.get("term_years_by_winners")
    if not shares or not terms:
        return []
    rows = max(len(shares), len(terms))
    out = []
    for winners in range(1, rows + 1):
        share, term = _volume_and_term(parameters, winners)
        assert share is not None and term is not None
        out.append(
            VolumeByWinners(
                winners=winners,
                or_more=winners == rows,
                share=share,
                agreed_volume=sum(agreed_quantity(q, share) for q in region_demand),
                term_years=term,
            )
        )
    return out


def largest_remainder(total: int, weights: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` exactly; remainders go by size, then id."""
    weight_sum = sum(w for _, w in weights)
    if weight_sum == 0:
        return {key: 0 for key, _ in weights}
    floors = {key: total * w // weight_sum for key, w in weights}
    rest = total - sum(floors.values())
    order = sorted(weights, key=lambda kw: (-(total * kw[1] % weight_sum), kw[0]))
    for key, _ in order[:rest]:
        floors[key] += 1
    return floors


def lay_out(
    hospitals: Iterable[tuple[str, int]], suppliers: Sequence[tuple[str, int]]
) -> list[tuple[str, str, int]]:
    """Deterministic disaggregation: hospitals (sorted here by id) and suppliers (in order)
    are laid end to end on the same line of units; a hospital takes from each supplier
    the units where their segments overlap. Sums are exact on both sides and each
    hospital gets as few suppliers as the totals allow."""
    result: list[tuple[str, str, int]] = []
    supplier_index = 0
    supplier_left = suppliers[0][1] if suppliers else 0
    for hospital, quantity in sorted(hospitals):
        need = quantity
        while need > 0 and supplier_index < len(suppliers):
            if supplier_left == 0:
                supplier_index += 1
                if supplier_index >= len(suppliers):
                    break
                supplier_left = suppliers[supplier_index][1]
                continue
            take = min(need, supplier_left)
            result.append((hospital, suppliers[supplier_index][0], take))
            need -= take
            supplier_left -= take
    return result


def _solver(seconds: float = 30.0) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # small models; one worker makes the search repeatable
    solver.parameters.random_seed = 0
    solver.parameters.max_time_in_seconds = seconds
    return solver


def _solve_lexicographic(
    model: cp_model.CpModel,
    shortfalls: Sequence[cp_model.IntVar],
    cost: cp_model.LinearExprT,
    what: str,
    stats: SolveStats,
) -> cp_model.CpSolver:
    """Least capacity shortfall first, then least cost at that shortfall.

    Every province must have a supplier even when declared capacities cannot cover the
    agreed volume; the shortfall is then reported, never hidden. Two solves instead of
    one weighted objective keep the coefficients small (no overflow at national volumes).
    """
    stats.used_solver = True
    if shortfalls:
        model.minimize(sum(shortfalls))
        solver = _solver()
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise RuntimeError(f"{what} failed: {solver.status_name(status)}")
        if status != cp_model.OPTIMAL:
            stats.all_optimal = False
        model.add(sum(shortfalls) <= int(solver.objective_value))
    model.minimize(cost)
    solver = _solver()
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"{what} failed: {solver.status_name(status)}")
    if status != cp_model.OPTIMAL:
        stats.all_optimal = False
    return solver


def allocate_drug_item(
    decision: ItemDecision,
    pricing: Pricing,
    stats: SolveStats,
) -> tuple[list[Allocation], list[HospitalAllocation]]:
    """Province draft, preferences, CP-SAT assignment, backups, hospital disaggregation."""
    item, winners = decision.item, list(decision.winners)
    share = decision.agreed_volume_share
    if not winners or share is None:
        return [], []
    demand = {d.region: d for d in item.demand}
    regions = sorted(demand)
    quantity = {r: agreed_quantity(demand[r].quantity, share) for r in regions}
    counts = draft_counts(len(winners), len(regions))
    owner: dict[str, int] = {}
    source: dict[str, str] = {}
    remaining = list(counts)
    cursor = [0] * len(winners)
    for index in draft_order(len(winners), len(regions)):
        preferences = winners[index].region_preferences
        # a province already drawn, or one without demand for this item (the JSON reader
        # refuses those; a problem built in Python may carry them), is passed over
        while cursor[index] < len(preferences) and (
            preferences[cursor[index]] in owner or preferences[cursor[index]] not in demand
        ):
            cursor[index] += 1
        if cursor[index] < len(preferences):
            region = preferences[cursor[index]]
            owner[region] = index
            source[region] = SOURCE_PREFERENCE
            remaining[index] -= 1
    open_regions = [r for r in regions if r not in owner]
    if open_regions:
        assigned = _assign_regions(
            item, winners, decision, open_regions, remaining, quantity, owner, pricing, stats
        )
        for region, index in assigned.items():
            owner[region] = index
            source[region] = SOURCE_PLATFORM_ASSIGNMENT
    backups = _backups(item, winners, decision, owner, pricing)
    allocations: list[Allocation] = []
    hospitals: list[HospitalAllocation] = []
    for region in regions:
        bid = winners[owner[region]]
        allocations.append(
            _allocation(
                item,
                bid,
                decision,
                region,
                quantity[region],
                pricing,
                backups.get(region),
                source[region],
            )
        )
        hospitals.extend(_hospital_rows(item, demand[region], [(bid.id, quantity[region])]))
    return allocations, hospitals


def _price(decision: ItemDecision, bid: Bid) -> Decimal:
    return decision.award_prices[bid.id]


def _unit_cost(decision: ItemDecision, bid: Bid, region: str, pricing: Pricing) -> Decimal:
    cost = pricing.region_cost(bid.id, region)
    return _price(decision, bid) + (cost.per_unit if cost else Decimal(0))


def _assign_regions(
    item: Item,
    winners: list[Bid],
    decision: ItemDecision,
    regions: list[str],
    counts: list[int],
    quantity: Mapping[str, int],
    owner: Mapping[str, int],
    pricing: Pricing,
    stats: SolveStats,
) -> dict[str, int]:
    model = cp_model.CpModel()
    x = {(w, r): model.new_bool_var(f"x_{w}_{r}") for w in range(len(winners)) for r in regions}
    for r in regions:
        model.add_exactly_one(x[w, r] for w in range(len(winners)))
    shortfall_terms = []
    for w, bid in enumerate(winners):
        model.add(sum(x[w, r] for r in regions) == max(counts[w], 0))
        if bid.capacity is not None:
            used = sum(quantity[r] for r, o in owner.items() if o == w)
            room = bid.capacity - used
            total = sum(quantity[r] for r in regions)
            short = model.new_int_var(0, max(total, 0) + max(-room, 0), f"short_{w}")
            model.add(sum(quantity[r] * x[w, r] for r in regions) <= room + short)
            shortfall_terms.append(short)
    costs: dict[tuple[int, str], int] = {}
    for w, r in x:
        extra = pricing.region_cost(winners[w].id, r)
        fixed = extra.fixed if extra else Decimal(0)
        costs[w, r] = pricing.to_int(
            _unit_cost(decision, winners[w], r, pricing) * quantity[r] + fixed
        )
    solver = _solve_lexicographic(
        model,
        shortfall_terms,
        cp_model.LinearExpr.weighted_sum(list(x.values()), [costs[k] for k in x]),
        f"province assignment of item {item.id}",
        stats,
    )
    for w, short in zip(
        [w for w, b in enumerate(winners) if b.capacity is not None], shortfall_terms, strict=True
    ):
        missing = solver.value(short)
        if missing > 0:
            stats.warnings.append(
                message(
                    "capacity_shortfall",
                    item=item.id,
                    bid=winners[w].id,
                    excess=missing,
                    capacity=winners[w].capacity or 0,
                )
            )
    return {r: w for (w, r), var in x.items() if solver.value(var)}


def _backups(
    item: Item,
    winners: list[Bid],
    decision: ItemDecision,
    owner: Mapping[str, int],
    pricing: Pricing,
) -> dict[str, str]:
    """Backup supplier per province: a winner that named it, else the cheapest other winner."""
    result: dict[str, str] = {}
    if len(winners) < 2:
        return result
    for region, own in sorted(owner.items()):
        named = [
            w for w, bid in enumerate(winners) if w != own and region in bid.backup_preferences
        ]
        if named:
            result[region] = winners[named[0]].id
            continue
        others = [w for w in range(len(winners)) if w != own]
        best = min(others, key=lambda w: (_unit_cost(decision, winners[w], region, pricing), w))
        result[region] = winners[best].id
    return result


def _allocation(
    item: Item,
    bid: Bid,
    decision: ItemDecision,
    region: str,
    quantity: int,
    pricing: Pricing,
    backup: str | None,
    source: str,
) -> Allocation:
    price = _price(decision, bid)
    extra = pricing.region_cost(bid.id, region)
    delivery = (extra.per_unit * quantity + extra.fixed) if extra and quantity else Decimal(0)
    return Allocation(
        item=item.id,
        bid=bid.id,
        supplier=bid.supplier,
        region=region,
        quantity=quantity,
        unit_price=price,
        delivery_cost=delivery,
        cost=price * quantity + delivery,
        backup_bid=backup,
        source=source,
    )


def _hospital_rows(
    item: Item,
    demand: RegionDemand,
    suppliers: Sequence[tuple[str, int]],
) -> list[HospitalAllocation]:
    if not demand.hospitals:
        return []
    total = sum(q for _, q in suppliers)
    agreed = largest_remainder(total, [(h.id, h.quantity) for h in demand.hospitals])
    row, item_id, region = hospital_allocation, item.id, demand.region
    laid = lay_out(agreed.items(), suppliers)
    return [row(item_id, bid, region, h, q) for h, bid, q in laid if q > 0]


def allocate_brand_choice(
    decision: ItemDecision,
    pricing: Pricing,
    stats: SolveStats,
) -> tuple[list[Allocation], list[HospitalAllocation]]:
    """Consumables and renewal: keep winners' intended volume, move losers' volume.

    A hospital's lost volume (its brand volumes of losing bids and of products nobody bid,
    or all of its volume when it gives no brand volumes) goes to the first winner in its
    ``reassign_to`` list; when it named none, the volume of its province is given to
    winners by a minimum-cost CP-SAT assignment within the winners' remaining capacities
    (split allowed).
    """
    item, winners = decision.item, list(decision.winners)
    if not winners:
        return [], []
    winner_ids = {b.id for b in winners}
    by_id = {b.id: b for b in winners}
    rows: dict[tuple[str, str, str], int] = {}
    hospital_rows: dict[tuple[str, str, str], int] = {}
    open_volume: dict[str, list[tuple[str, int]]] = {}
    for demand in item.demand:
        hospitals = demand.hospitals or ()
        if not hospitals:
            open_volume.setdefault(demand.region, []).append(("", demand.quantity))
            continue
        for hospital in hospitals:
            brands = hospital.brand_volumes
            unnamed = hospital.quantity - sum(b.quantity for b in brands)
            lost = unnamed
            for brand in brands:
                if brand.bid is not None and brand.bid in winner_ids:
                    _add(
                        rows,
                        (demand.region, brand.bid, SOURCE_INTENDED_VOLUME),
                        brand.quantity,
                    )
                    _add(hospital_rows, (demand.region, hospital.id, brand.bid), brand.quantity)
                else:
                    lost += brand.quantity
            if lost == 0:
                continue
            choice = next((b for b in hospital.reassign_to if b in winner_ids), None)
            if choice is not None:
                _add(rows, (demand.region, choice, SOURCE_HOSPITAL_CHOICE), lost)
                _add(hospital_rows, (demand.region, hospital.id, choice), lost)
            else:
                open_volume.setdefault(demand.region, []).append((hospital.id, lost))
    if open_volume:
        used: dict[str, int] = {}
        for (_, bid, _), q in rows.items():
            used[bid] = used.get(bid, 0) + q
        split = _min_cost_split(item, winners, decision, open_volume, used, pricing, stats)
        for region, parts in sorted(split.items()):
            for bid, q in parts:
                _add(rows, (region, bid, SOURCE_MINIMUM_COST_DEFAULT), q)
            named = [(h, q) for h, q in open_volume[region] if h]
            for hospital_id, bid, q in lay_out(named, parts):
                _add(hospital_rows, (region, hospital_id, bid), q)
    allocations = [
        _allocation(item, by_id[bid], decision, region, q, pricing, None, src)
        for (region, bid, src), q in sorted(rows.items())
        if q > 0
    ]
    hospitals_out = [
        hospital_allocation(item.id, bid, region, h, q)
        for (region, h, bid), q in sorted(hospital_rows.items())
        if q > 0
    ]
    return allocations, hospitals_out


def _add(table: dict[tuple[str, str, str], int], key: tuple[str, str, str], q: int) -> None:
    table[key] = table.get(key, 0) + q


def _min_cost_split(
    item: Item,
    winners: list[Bid],
    decision: ItemDecision,
    open_volume: Mapping[str, list[tuple[str, int]]],
    used: Mapping[str, int],
    pricing: Pricing,
    stats: SolveStats,
) -> dict[str, list[tuple[str, int]]]:
    model = cp_model.CpModel()
    regions = sorted(open_volume)
    need = {r: sum(q for _, q in open_volume[r]) for r in regions}
    y = {
        (b.id, r): model.new_int_var(0, need[r], f"y_{b.id}_{r}") for b in winners for r in regions
    }
    for r in regions:
        model.add(sum(y[b.id, r] for b in winners) == need[r])
    shortfalls: list[tuple[Bid, cp_model.IntVar]] = []
    for b in winners:
        if b.capacity is not None:
            room = b.capacity - used.get(b.id, 0)
            total = sum(need.values())
            short = model.new_int_var(0, total + max(-room, 0), f"short_{b.id}")
            model.add(sum(y[b.id, r] for r in regions) <= room + short)
            shortfalls.append((b, short))
    unit = {
        key: pricing.to_int(
            _unit_cost(decision, next(b for b in winners if b.id == key[0]), key[1], pricing)
        )
        for key in y
    }
    solver = _solve_lexicographic(
        model,
        [short for _, short in shortfalls],
        cp_model.LinearExpr.weighted_sum(list(y.values()), [unit[k] for k in y]),
        f"reassignment of item {item.id}",
        stats,
    )
    for b, short in shortfalls:
        if solver.value(short) > 0:
            stats.warnings.append(
                message(
                    "capacity_shortfall",
                    item=item.id,
                    bid=b.id,
                    excess=int(solver.value(short)),
                    capacity=b.capacity or 0,
                )
            )
    return {
        r: [(b.id, solver.value(y[b.id, r])) for b in winners if solver.value(y[b.id, r]) > 0]
        for r in regions
    }


# --- allocators of the rule kinds (procurement.optimiser.kinds) ---------------------------

ItemAllocator = Callable[
    [ItemDecision, Pricing, SolveStats], tuple[list[Allocation], list[HospitalAllocation]]
]


def _each_item(
    allocate: ItemAllocator,
    decisions: list[ItemDecision],
    pricing: Pricing,
    stats: SolveStats,
) -> Allocated:
    allocations: list[Allocation] = []
    hospitals: list[HospitalAllocation] = []
    for decision in decisions:
        a, h = allocate(decision, pricing, stats)
        allocations.extend(a)
        hospitals.extend(h)
    return Allocated(decisions, allocations, hospitals)


def allocate_by_province(
    problem: Problem, decisions: list[ItemDecision], pricing: Pricing, stats: SolveStats
) -> Allocated:
    """Drug rounds: each item's provinces by draft, preference and assignment."""
    return _each_item(allocate_drug_item, decisions, pricing, stats)


def allocate_by_brand_choice(
    problem: Problem, decisions: list[ItemDecision], pricing: Pricing, stats: SolveStats
) -> Allocated:
    """Consumables: each item's intended volume kept, lost volume by hospitals' choices."""
    return _each_item(allocate_brand_choice, decisions, pricing, stats)

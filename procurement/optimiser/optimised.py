"""Optimised award: minimum total cost under supply-security constraints (scenarios).

One mixed-integer model over all items (suppliers' capacity and share are shared across
items), built once in a small neutral form (``LinearModel``) and handed to either CP-SAT
(exact integers: every cost is scaled by ``10 ** digits``) or HiGHS through OR-Tools'
MathOpt (floating point, in yuan). Whichever backend chooses the allocation, every
reported figure is recomputed in Decimal from it.

An infeasible model is explained: each constraint group gets an enforcement literal,
CP-SAT is asked for assumptions sufficient for infeasibility, and that set is shrunk
to a minimal one by deletion, so the explanation names only constraints that conflict.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from ortools.math_opt.python import mathopt
from ortools.sat.python import cp_model

from procurement.optimiser.allocation import (
    Allocated,
    Pricing,
    SolveStats,
    agreed_quantity,
    decimals_of,
    largest_remainder,
    lay_out,
)
from procurement.optimiser.model import (
    Allocation,
    Bid,
    BidOutcome,
    HospitalAllocation,
    Item,
    Problem,
)
from procurement.optimiser.reasons import (
    SOURCE_OPTIMISED_AWARD,
    ReasonPart,
    format_message,
    message,
    part,
)
from procurement.optimiser.rules import ItemDecision


@dataclass
class Constraint:
    terms: list[tuple[int, int]]  # (variable index, integer coefficient)
    lower: int | None
    upper: int | None
    group: str
    hard: bool = False  # structural links are never part of an explanation


@dataclass
class LinearModel:
    """Variables are integer in [0, upper]; ``objective`` has integer (scaled) costs."""

    names: list[str] = field(default_factory=list)
    upper: list[int] = field(default_factory=list)
    objective: list[int] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    # group name (its English text) -> the run message that names it in an explanation
    messages: dict[str, ReasonPart] = field(default_factory=dict)
    hint: dict[int, int] = field(default_factory=dict)
    _group_set: set[str] = field(default_factory=set, repr=False)

    def var(self, name: str, upper: int, cost: int = 0) -> int:
        self.names.append(name)
        self.upper.append(upper)
        self.objective.append(cost)
        return len(self.names) - 1

    def add(
        self,
        terms: list[tuple[int, int]],
        lower: int | None,
        upper: int | None,
        group: ReasonPart | str,
        *,
        hard: bool = False,
    ) -> None:
        """A constraint of a group; a group that may explain infeasibility is a run
        message, a structural link (``hard``) only a name."""
        if isinstance(group, ReasonPart):
            name = format_message(group)
            self.messages.setdefault(name, group)
        elif not hard:
            raise ValueError(f"constraint group {group!r} needs a message to explain it")
        else:
            name = group
        if not hard and name not in self._group_set:  # a set: one model has ~10^5 constraints
            self._group_set.add(name)
            self.groups.append(name)
        self.constraints.append(Constraint(terms, lower, upper, name, hard))


@dataclass(frozen=True)
class Cell:
    """One (bid, region) pair the model may award: its quantity and selection variables."""

    item: str
    bid: Bid
    region: str
    quantity: int  # agreed quantity of the region
    select: int  # variable index: 1 when the bid supplies the region
    amount: int | None  # variable index of the quantity when splitting is allowed


@dataclass(frozen=True)
class UnmetCell:
    """The agreed units of one (item, region) that may be left unmet, at a penalty."""

    item: str
    region: str
    quantity: int
    var: int  # single source: 1 when the region is left unmet; split: the units left
    single: bool
    penalty: Decimal  # per unit


@dataclass(frozen=True)
class AwardModel:
    model: LinearModel
    cells: tuple[Cell, ...]
    awards: Mapping[str, int]  # bid id -> award variable
    volume_share: Decimal
    unmet: tuple[UnmetCell, ...] = ()


@dataclass(frozen=True)
class Solution:
    status: str  # optimal | feasible | infeasible
    objective: Decimal | None
    bound: Decimal | None
    quantities: Mapping[tuple[str, str], int]  # (bid, region) -> units
    explanation: tuple[ReasonPart, ...] = ()
    solver: str = "cp-sat"
    unmet: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (item, region)
    penalties: Mapping[str, Decimal] = field(default_factory=dict)  # items that may go unmet
    warnings: tuple[ReasonPart, ...] = ()
    solver_reason: tuple[ReasonPart, ...] = ()


def agreed_total(problem: Problem) -> int:
    """All agreed units of the problem (the base of ``max_supplier_share``)."""
    share = Decimal(problem.rule_set.parameters["volume_share"])
    return sum(agreed_quantity(d.quantity, share) for item in problem.items for d in item.demand)


@dataclass(frozen=True)
class ItemTerms:
    """The optimised award's per-item limits: the item's own values, else the rule set's."""

    min_winners: int
    max_winners: int | None
    penalty: Decimal | None  # per agreed unit left unmet; None: every unit must be supplied


def unmet_penalty_price(item: Item, parameters: Mapping[str, Any]) -> Decimal | None:
    """The item's ``unmet_penalty_price``, else ``unmet_penalty_ratio`` x its maximum valid
    bid price (rounded half up to 6 decimals, the format's money precision, only when the
    product has more), else None: the item's agreed units must all be supplied."""
    if item.unmet_penalty_price is not None:
        return item.unmet_penalty_price
    ratio = parameters.get("unmet_penalty_ratio")
    if ratio is None:
        return None
    price = Decimal(ratio) * item.max_valid_bid_price
    if decimals_of(price) > 6:
        price = price.quantize(Decimal("0.000001"), ROUND_HALF_UP)
    return price


def item_terms(item: Item, parameters: Mapping[str, Any]) -> ItemTerms:
    return ItemTerms(
        min_winners=(
            item.min_winners if item.min_winners is not None else parameters["min_winners_per_item"]
        ),
        max_winners=(
            item.max_winners if item.max_winners is not None else parameters["max_winners_per_item"]
        ),
        penalty=unmet_penalty_price(item, parameters),
    )


def price_windows(prices: Sequence[tuple[Decimal, str]], ratio: Decimal) -> list[list[str]]:
    """The maximal sets of bids whose prices lie within ``ratio`` x the lowest of the set.

    ``prices`` are (award price, bid id). Sorted by price, the bids a lowest winner w
    admits are w and every later bid priced at most ``ratio`` x w's price (exactly at the
    limit included): a window. A window inside another is left out. Empty when every
    bid fits in one window (the limit cannot bind).
    """
    ordered = sorted(prices)
    if not ordered or ordered[-1][0] <= ratio * ordered[0][0]:
        return []
    windows: list[list[str]] = []
    end = 0
    for start, (low, _) in enumerate(ordered):
        if start > 0 and ordered[start - 1][0] == low:
            continue  # equal prices open the same window
        end = max(end, start)
        while end + 1 < len(ordered) and ordered[end + 1][0] <= ratio * low:
            end += 1
        members = [b for _, b in ordered[start : end + 1]]
        if not windows or members[-1] != windows[-1][-1]:
            windows.append(members)
    return windows


def build_award_model(
    problem: Problem,
    decisions: Sequence[ItemDecision],
    pricing: Pricing,
    total_volume: int | None = None,
) -> AwardModel:
    """Translate the optimised-award parameters into a ``LinearModel`` over ``decisions``.

    ``total_volume`` is the base of the supplier share limit: all agreed units of the
    problem, also when the model covers only some of its items. A problem that uses none
    of the national-shape parameters gets exactly the model (variables, constraints and
    their order, hint) it had before they existed, so its result is unchanged.
    """
    p = problem.rule_set.parameters
    share = Decimal(p["volume_share"])
    if total_volume is None:
        total_volume = agreed_total(problem)
    build = _ModelBuild(
        parameters=p,
        pricing=pricing,
        share=share,
        single=bool(p["single_source_per_region"]),
        use={k: c.capacity_use_per_unit for k, c in pricing.costs.items()},
    )
    for decision in decisions:
        build.add_item(decision)
    model = build.model
    for supplier in problem.suppliers:
        terms = build.supplier_terms.get(supplier.id, [])
        if supplier.capacity is not None and terms:
            model.add(
                terms,
                None,
                supplier.capacity,
                message("supplier_capacity", supplier=supplier.id, units=supplier.capacity),
            )
    cap = p.get("max_supplier_share")
    if cap is not None:
        limit = int(Decimal(cap) * total_volume)
        for supplier_id, terms in sorted(build.supplier_terms.items()):
            model.add(
                terms,
                None,
                limit,
                message("supplier_share", supplier=supplier_id, share=str(cap), units=total_volume),
            )
    return AwardModel(model, tuple(build.cells), build.awards, share, tuple(build.unmet))


@dataclass
class _ModelBuild:
    """The model under construction, item by item (``build_award_model``)."""

    parameters: Mapping[str, Any]
    pricing: Pricing
    share: Decimal
    single: bool
    use: Mapping[tuple[str, str], int]
    model: LinearModel = field(default_factory=LinearModel)
    cells: list[Cell] = field(default_factory=list)
    unmet: list[UnmetCell] = field(default_factory=list)
    awards: dict[str, int] = field(default_factory=dict)
    supplier_terms: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def add_item(self, decision: ItemDecision) -> None:
        model, item = self.model, decision.item
        terms = item_terms(item, self.parameters)
        bids = list(decision.winners)  # for this kind: every valid bid, in rank order
        for bid in bids:
            self.awards[bid.id] = model.var(
                f"award[{bid.id}]", 1, self.pricing.to_int(bid.fixed_award_cost)
            )
        item_awards = [(self.awards[b.id], 1) for b in bids]
        low, high = terms.min_winners, terms.max_winners
        model.add(item_awards, low, None, message("min_winners_for_item", count=low, item=item.id))
        if high is not None:
            model.add(
                item_awards, None, high, message("max_winners_for_item", count=high, item=item.id)
            )
        bid_terms: dict[str, list[tuple[int, int]]] = {b.id: [] for b in bids}
        volume_terms: dict[str, list[tuple[int, int]]] = {b.id: [] for b in bids}
        item_volume = 0
        for demand in item.demand:
            q = agreed_quantity(demand.quantity, self.share)
            if q == 0:
                continue
            item_volume += q
            self._add_region(decision, demand.region, q, terms.penalty, bid_terms, volume_terms)
        for bid in bids:
            model.add(
                [*bid_terms[bid.id], (self.awards[bid.id], -1)], 0, None, "award link", hard=True
            )
            if bid.capacity is not None:
                model.add(
                    bid_terms[bid.id],
                    None,
                    bid.capacity,
                    message("bid_capacity", bid=bid.id, units=bid.capacity),
                )
        self._add_national_shape(decision, item_volume, volume_terms)

    def _add_region(
        self,
        decision: ItemDecision,
        region: str,
        q: int,
        penalty: Decimal | None,
        bid_terms: dict[str, list[tuple[int, int]]],
        volume_terms: dict[str, list[tuple[int, int]]],
    ) -> None:
        """The cells of one (item, region): who may supply its q agreed units, or none."""
        model, pricing, item = self.model, self.pricing, decision.item
        min_split = self.parameters.get("min_split_share")
        region_cover: list[tuple[int, int]] = []
        region_cells: list[Cell] = []
        for bid in decision.winners:
            extra = pricing.region_cost(bid.id, region)
            unit = decision.award_prices[bid.id] + (extra.per_unit if extra else Decimal(0))
            fixed = extra.fixed if extra else Decimal(0)
            weight = self.use.get((bid.id, region), 1)
            if self.single:
                select = model.var(
                    f"supply[{bid.id},{region}]", 1, pricing.to_int(unit * q + fixed)
                )
                amount = None
                region_cover.append((select, q))
                bid_terms[bid.id].append((select, q * weight))
                volume_terms[bid.id].append((select, q))
                self.supplier_terms.setdefault(bid.supplier, []).append((select, q))
            else:
                select = model.var(f"uses[{bid.id},{region}]", 1, pricing.to_int(fixed))
                amount = model.var(f"units[{bid.id},{region}]", q, pricing.to_int(unit))
                region_cover.append((amount, 1))
                bid_terms[bid.id].append((amount, weight))
                volume_terms[bid.id].append((amount, 1))
                self.supplier_terms.setdefault(bid.supplier, []).append((amount, 1))
                model.add([(amount, 1), (select, -q)], None, 0, "split link", hard=True)
                if min_split is not None:
                    least = int((Decimal(min_split) * q).to_integral_value(rounding=ROUND_CEILING))
                    model.add(
                        [(amount, 1), (select, -least)],
                        0,
                        None,
                        message("min_split_share_for_item", item=item.id, share=str(min_split)),
                    )
            model.add([(select, 1), (self.awards[bid.id], -1)], None, 0, "award link", hard=True)
            cell = Cell(item.id, bid, region, q, select, amount)
            self.cells.append(cell)
            region_cells.append(cell)
        code = "supply_region_single_source" if self.single else "supply_region"
        if penalty is not None:
            if self.single:
                left = model.var(f"unmet[{item.id},{region}]", 1, pricing.to_int(penalty * q))
                region_cover.append((left, q))
            else:
                left = model.var(f"unmet[{item.id},{region}]", q, pricing.to_int(penalty))
                region_cover.append((left, 1))
            self.unmet.append(UnmetCell(item.id, region, q, left, self.single, penalty))
            code += "_or_unmet"
        model.add(region_cover, q, q, message(code, units=q, item=item.id, region=region))
        # Hint: the cheapest valid bid supplies the region (the rule-based default); one
        # pass over this region's own cells.
        if self.single and region_cells:
            cheapest = min(region_cells, key=lambda c: (model.objective[c.select], c.bid.id))
            model.hint[cheapest.select] = 1

    def _add_national_shape(
        self,
        decision: ItemDecision,
        item_volume: int,
        volume_terms: dict[str, list[tuple[int, int]]],
    ) -> None:
        """A minimum national share per winner and a maximum price ratio among winners."""
        model, item, bids = self.model, decision.item, decision.winners
        least_share = self.parameters.get("min_national_share_per_winner")
        if least_share is not None and item_volume > 0:
            least = int(
                (Decimal(least_share) * item_volume).to_integral_value(rounding=ROUND_CEILING)
            )
            group = message(
                "min_national_share_for_item",
                item=item.id,
                share=str(least_share),
                total=item_volume,
                units=least,
            )
            for bid in bids:
                award = self.awards[bid.id]
                model.add([*volume_terms[bid.id], (award, -least)], 0, None, group)
        ratio = self.parameters.get("max_price_ratio_among_winners")
        if ratio is None:
            return
        windows = price_windows([(decision.award_prices[b.id], b.id) for b in bids], Decimal(ratio))
        if not windows:
            return
        group = message("max_price_ratio_for_item", item=item.id, ratio=str(ratio))
        opened: dict[str, list[tuple[int, int]]] = {b.id: [] for b in bids}
        lowest: list[tuple[int, int]] = []
        for members in windows:
            window = model.var(f"window[{members[0]}]", 1)
            lowest.append((window, 1))
            for bid_id in members:
                opened[bid_id].append((window, -1))
        # At most one window: the set of winners lies within ratio x its lowest price.
        model.add(lowest, None, 1, "one price window", hard=True)
        for bid in bids:
            model.add([(self.awards[bid.id], 1), *opened[bid.id]], None, 0, group)


def _cp_model(
    lm: LinearModel, *, with_objective: bool, enforce: bool
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], dict[str, cp_model.IntVar]]:
    model = cp_model.CpModel()
    xs = [
        model.new_bool_var(n) if u == 1 else model.new_int_var(0, u, n)
        for n, u in zip(lm.names, lm.upper, strict=True)
    ]
    literals: dict[str, cp_model.IntVar] = {}
    if enforce:
        for group in lm.groups:
            literals[group] = model.new_bool_var(group)
    for c in lm.constraints:
        expr = cp_model.LinearExpr.weighted_sum(
            [xs[i] for i, _ in c.terms], [k for _, k in c.terms]
        )
        lower = c.lower if c.lower is not None else -(2**62)
        upper = c.upper if c.upper is not None else 2**62
        ct = model.add_linear_constraint(expr, lower, upper)
        if enforce and not c.hard:
            ct.only_enforce_if(literals[c.group])
    if with_objective:
        nz = [(xs[i], k) for i, k in enumerate(lm.objective) if k]
        model.minimize(cp_model.LinearExpr.weighted_sum([v for v, _ in nz], [k for _, k in nz]))
        for i, v in sorted(lm.hint.items()):
            model.add_hint(xs[i], v)
    return model, xs, literals


def solve_cp_sat(
    lm: LinearModel, *, time_limit: float, relative_gap: float, workers: int, scale: int
) -> tuple[str, list[int] | None, Decimal | None]:
    model, xs, _ = _cp_model(lm, with_objective=True, enforce=False)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 0
    # Full LP relaxation in the search: on national award models (31,000 binaries, capacity
    # shared across items) one worker at level 2 proved the optimum in ~10 s where the
    # default two-worker portfolio stopped at a 0.0001% gap after 60 s (bench/).
    solver.parameters.linearization_level = 2
    # Interleaved search makes a multi-worker run repeatable (same input, same result).
    solver.parameters.interleave_search = workers > 1
    solver.parameters.relative_gap_limit = relative_gap
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return "infeasible", None, None
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return "unknown", None, None
    values = [int(v) for v in solver.values(xs)]
    # The objective is integral (scaled money), so its bound may be rounded up.
    bound = Decimal(math.ceil(solver.best_objective_bound - 1e-6)) / scale
    proven = status == cp_model.OPTIMAL
    return ("optimal" if proven else "feasible"), values, bound


def solve_highs(
    lm: LinearModel, *, time_limit: float, relative_gap: float, scale: int
) -> tuple[str, list[int] | None, Decimal | None]:
    """The same model in HiGHS through MathOpt (costs in yuan as floats)."""
    model = mathopt.Model(name="optimised-award")
    xs = [
        model.add_binary_variable(name=n)
        if u == 1
        else model.add_integer_variable(lb=0, ub=u, name=n)
        for n, u in zip(lm.names, lm.upper, strict=True)
    ]
    for c in lm.constraints:
        expr = mathopt.LinearSum(k * xs[i] for i, k in c.terms)
        model.add_linear_constraint(
            lb=-math.inf if c.lower is None else c.lower,
            ub=math.inf if c.upper is None else c.upper,
            expr=expr,
        )
    model.minimize(mathopt.LinearSum((k / scale) * xs[i] for i, k in enumerate(lm.objective) if k))
    params = mathopt.SolveParameters(
        time_limit=timedelta(seconds=time_limit), relative_gap_tolerance=relative_gap
    )
    result = mathopt.solve(model, mathopt.SolverType.HIGHS, params=params)
    reason = result.termination.reason
    if reason == mathopt.TerminationReason.INFEASIBLE:
        return "infeasible", None, None
    if not result.has_primal_feasible_solution():
        return "unknown", None, None
    values = [round(v) for v in result.variable_values(xs)]
    bound = Decimal(repr(result.termination.objective_bounds.dual_bound)).quantize(Decimal("0.01"))
    status = "optimal" if reason == mathopt.TerminationReason.OPTIMAL else "feasible"
    return status, values, bound


def explain_infeasible(
    lm: LinearModel, *, time_limit: float = 10.0, budget: float = 30.0
) -> tuple[ReasonPart, ...]:
    """A minimal set of constraint groups that cannot hold together.

    Minimal when the deletion filter finishes within ``budget`` seconds; otherwise the
    (still conflicting, but perhaps not minimal) set reached so far.
    """
    stop = time.monotonic() + budget
    model, _, literals = _cp_model(lm, with_objective=False, enforce=True)
    groups = list(lm.groups)

    def infeasible(active: list[str]) -> tuple[bool, list[str]]:
        model.clear_assumptions()
        model.add_assumptions([literals[g] for g in active])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = 0
        solver.parameters.max_time_in_seconds = time_limit
        status = solver.solve(model)
        if status != cp_model.INFEASIBLE:
            return False, []
        core_ids = set(solver.sufficient_assumptions_for_infeasibility())
        return True, [g for g in active if literals[g].index in core_ids]

    is_infeasible, core = infeasible(groups)
    if not is_infeasible:
        return ()
    core = core or groups
    # Deletion filter: drop every group whose removal keeps the rest infeasible.
    index = 0
    while index < len(core) and time.monotonic() < stop:
        trial = core[:index] + core[index + 1 :]
        still, smaller = infeasible(trial)
        if still:
            core = [g for g in trial if g in smaller] if smaller else trial
        else:
            index += 1
    return tuple(lm.messages[g] for g in core)


def independent_groups(
    problem: Problem, decisions: Sequence[ItemDecision]
) -> list[list[ItemDecision]]:
    """Items that share no constraint, as separate groups (each its own, smaller model).

    Items are linked only through a supplier: by its capacity across items, or by the
    share limit, which counts a supplier's units over all items.
    """
    parameters = problem.rule_set.parameters
    share_limit = parameters.get("max_supplier_share") is not None
    limited = {s.id for s in problem.suppliers if s.capacity is not None}
    parent = list(range(len(decisions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_item_of: dict[str, int] = {}
    for index, decision in enumerate(decisions):
        for bid in decision.winners:
            if share_limit or bid.supplier in limited:
                other = first_item_of.setdefault(bid.supplier, index)
                parent[root(index)] = root(other)
    groups: dict[int, list[ItemDecision]] = {}
    for index, decision in enumerate(decisions):
        groups.setdefault(root(index), []).append(decision)
    return [groups[key] for key in sorted(groups)]


def _solve_group(
    problem: Problem,
    decisions: Sequence[ItemDecision],
    pricing: Pricing,
    total_volume: int,
    time_limit: float,
) -> Solution:
    p: Mapping[str, Any] = problem.rule_set.parameters
    award = build_award_model(problem, decisions, pricing, total_volume)
    lm = award.model
    gap = float(p["relative_gap"])
    backend, reason = p["backend"], None
    if backend == "auto":
        backend, reason = choose_backend(award)
        lm.hint.clear()  # the rule-based hint breaks shared capacities; CP-SAT was faster without
    if backend == "highs":
        status, values, bound = solve_highs(
            lm, time_limit=time_limit, relative_gap=gap, scale=pricing.scale
        )
        solver = "highs (mathopt)"
    else:
        status, values, bound = solve_cp_sat(
            lm,
            time_limit=time_limit,
            relative_gap=gap,
            workers=int(p.get("num_workers", 1)),
            scale=pricing.scale,
        )
        solver = "cp-sat"
    if reason is not None:
        solver = f"auto: {solver}"
    solution = _solution_of(award, decisions, p, status, values, bound, solver, pricing.scale)
    return replace(solution, solver_reason=() if reason is None else (reason,))


#: The automatic backend gives models of at least this many variables with no national-
#: shape constraint to HiGHS (see ``choose_backend``).
AUTO_HIGHS_MIN_VARIABLES = 10_000


def choose_backend(award: AwardModel) -> tuple[str, ReasonPart]:
    """The backend for one model, by its structure, and why (a run message).

    Measured on the benchmarks (bench/bench_optimiser.py, 2 cores): large assignment
    models whose only links are capacities and share limits (50 items x 20 bidders x 31
    regions, 32,000 variables) are proven by HiGHS in 3.6 s against 5.5 s for CP-SAT; small
    ones (OR-Library cap71, gap12: under 1,000 variables) and every model with the national
    shape's constraints (price windows, minimum national shares, unmet demand: 55 items x
    445 firms x 32 regions) are proven faster by CP-SAT (the national shape: optimal in
    about 20 s, where HiGHS needed 36 s to reach a 0.01% gap).
    """
    lm = award.model
    national = (
        bool(award.unmet)
        or any(name.startswith("window[") for name in lm.names)
        or any(m.code == "min_national_share_for_item" for m in lm.messages.values())
    )
    if national:
        return "cp_sat", message("backend_cp_sat_national_shape")
    if len(lm.names) >= AUTO_HIGHS_MIN_VARIABLES:
        return "highs", message(
            "backend_highs_large_assignment",
            variables=len(lm.names),
            threshold=AUTO_HIGHS_MIN_VARIABLES,
        )
    return "cp_sat", message(
        "backend_cp_sat_small", variables=len(lm.names), threshold=AUTO_HIGHS_MIN_VARIABLES
    )


def _solution_of(
    award: AwardModel,
    decisions: Sequence[ItemDecision],
    p: Mapping[str, Any],
    status: str,
    values: list[int] | None,
    bound: Decimal | None,
    solver: str,
    scale: int,
) -> Solution:
    lm = award.model
    if status == "infeasible":
        return Solution("infeasible", None, None, {}, explain_infeasible(lm), solver)
    if values is None:
        # The configured limit, not the remaining time: the result must not depend on the clock.
        limit = float(p["time_limit_seconds"])
        explanation = (
            message(
                "no_solution_within_time",
                seconds=f"{limit:g}",
                items=[d.item.id for d in decisions],
            ),
        )
        return Solution("unknown", None, None, {}, explanation, solver)
    return _read_solution(award, values, status, bound, solver, scale)


def _read_solution(
    award: AwardModel,
    values: Sequence[int],
    status: str,
    bound: Decimal | None,
    solver: str,
    scale: int,
) -> Solution:
    """The units per (bid, region) and per unmet (item, region) of the model's values; the
    objective recomputed exactly from the scaled integer costs."""
    lm = award.model
    quantities: dict[tuple[str, str], int] = {}
    for cell in award.cells:
        q = values[cell.amount] if cell.amount is not None else cell.quantity * values[cell.select]
        if q:
            quantities[cell.bid.id, cell.region] = q
    unmet: dict[tuple[str, str], int] = {}
    for left in award.unmet:
        q = left.quantity * values[left.var] if left.single else values[left.var]
        if q:
            unmet[left.item, left.region] = q
    exact = Decimal(sum(k * v for k, v in zip(lm.objective, values, strict=True))) / scale
    penalties = {u.item: u.penalty for u in award.unmet}
    return Solution(status, exact, bound, quantities, (), solver, unmet, penalties)


def solve_award(problem: Problem, decisions: Sequence[ItemDecision], pricing: Pricing) -> Solution:
    """Solve each independent group of items; merge into one solution.

    The status is the weakest of the groups (infeasible, then unknown, then feasible);
    objective and bound are sums over groups.
    """
    time_limit = float(problem.rule_set.parameters["time_limit_seconds"])
    deadline = time.monotonic() + time_limit
    total_volume = agreed_total(problem)
    groups = independent_groups(problem, decisions)
    solutions = []
    for group in groups:
        remaining = max(deadline - time.monotonic(), 1.0)
        solutions.append(_solve_group(problem, group, pricing, total_volume, remaining))
    solver = _solver_name(solutions)
    if len(groups) > 1:
        solver += f" ({len(groups)} independent models)"
    reasons = tuple(dict.fromkeys(r for s in solutions for r in s.solver_reason))
    for weakest in ("infeasible", "unknown"):
        failed = [s for s in solutions if s.status == weakest]
        if failed:
            explanation = tuple(line for s in failed for line in s.explanation)
            return Solution(weakest, None, None, {}, explanation, solver, solver_reason=reasons)
    quantities: dict[tuple[str, str], int] = {}
    unmet: dict[tuple[str, str], int] = {}
    penalties: dict[str, Decimal] = {}
    for s in solutions:
        quantities.update(s.quantities)
        unmet.update(s.unmet)
        penalties.update(s.penalties)
    status = "optimal" if all(s.status == "optimal" for s in solutions) else "feasible"
    objective = sum((s.objective for s in solutions if s.objective is not None), Decimal(0))
    bound = sum((s.bound for s in solutions if s.bound is not None), Decimal(0))
    return Solution(
        status,
        objective,
        bound,
        quantities,
        (),
        solver,
        unmet,
        penalties,
        _unmet_warnings(unmet, penalties),
        reasons,
    )


def _solver_name(solutions: Sequence[Solution]) -> str:
    """``cp-sat``, ``highs (mathopt)``, or for the automatic backend ``auto: <solver>``;
    ``auto: cp-sat + highs (mathopt)`` when it chose differently for independent models."""
    names = list(dict.fromkeys(s.solver for s in solutions))
    if not names:
        return "none"
    if len(names) == 1:
        return names[0]
    return "auto: " + " + ".join(n.removeprefix("auto: ") for n in names)


def _unmet_warnings(
    unmet: Mapping[tuple[str, str], int], penalties: Mapping[str, Decimal]
) -> tuple[ReasonPart, ...]:
    """One warning per item that leaves agreed units unmet, in item order."""
    by_item: dict[str, list[int]] = {}
    for (item, _), units in sorted(unmet.items()):
        by_item.setdefault(item, []).append(units)
    return tuple(
        message(
            "unmet_demand", item=item, units=sum(units), regions=len(units), penalty=penalties[item]
        )
        for item, units in by_item.items()
    )


def allocate_optimised_award(
    problem: Problem, decisions: list[ItemDecision], pricing: Pricing, stats: SolveStats
) -> Allocated:
    """The optimised award's allocator: one model over all items picks winners and volumes."""
    solution = solve_award(problem, decisions, pricing)
    decided, allocations, hospitals = _apply_solution(problem, decisions, solution, pricing)
    return Allocated(decided, allocations, hospitals, solution)


def _apply_solution(
    problem: Problem,
    decisions: list[ItemDecision],
    solution: Solution,
    pricing: Pricing,
) -> tuple[list[ItemDecision], list[Allocation], list[HospitalAllocation]]:
    """The solver's quantities as each bid's verdict, the region allocations and the hospital
    rows. One pass per item, so the three are built from the same figures (longer than
    most functions for that reason)."""
    parameters = problem.rule_set.parameters
    share = Decimal(parameters["volume_share"])
    term = int(parameters["term_years"])
    new_decisions: list[ItemDecision] = []
    allocations: list[Allocation] = []
    hospitals: list[HospitalAllocation] = []
    for decision in decisions:
        item = decision.item
        supplied: dict[str, list[tuple[str, int]]] = {}
        for bid in decision.winners:
            for demand in item.demand:
                q = solution.quantities.get((bid.id, demand.region), 0)
                if q:
                    supplied.setdefault(bid.id, []).append((demand.region, q))
        winners = tuple(b for b in decision.winners if b.id in supplied)
        item_unmet = sum(solution.unmet.get((item.id, d.region), 0) for d in item.demand)
        outcomes: list[BidOutcome] = []
        for outcome in decision.outcomes:
            if outcome.status == "invalid":
                outcomes.append(outcome)
                continue
            if outcome.bid in supplied:
                regions = supplied[outcome.bid]
                units = sum(q for _, q in regions)
                reason = part(
                    "optimiser_awarded",
                    regions=len(regions),
                    units=units,
                    price=decision.award_prices[outcome.bid],
                )
                status = "won"
                price = decision.award_prices[outcome.bid]
            elif solution.status in ("infeasible", "unknown"):
                reason = part("optimiser_no_award", status=solution.status)
                status, price = "lost", None
            elif not winners and item_unmet:
                reason = part(
                    "optimiser_item_left_unmet",
                    units=item_unmet,
                    penalty=solution.penalties[item.id],
                )
                status, price = "lost", None
            else:
                reason = part("optimiser_not_chosen")
                status, price = "lost", None
            outcomes.append(
                BidOutcome(
                    bid=outcome.bid,
                    item=outcome.item,
                    supplier=outcome.supplier,
                    status=status,  # type: ignore[arg-type]
                    reason_parts=(reason,),
                    unit_comparable_price=outcome.unit_comparable_price,
                    award_price=price,
                )
            )
        for bid in winners:
            for region, q in supplied[bid.id]:
                extra = pricing.region_cost(bid.id, region)
                delivery = (extra.per_unit * q + extra.fixed) if extra else Decimal(0)
                price = decision.award_prices[bid.id]
                allocations.append(
                    Allocation(
                        item=item.id,
                        bid=bid.id,
                        supplier=bid.supplier,
                        region=region,
                        quantity=q,
                        unit_price=price,
                        delivery_cost=delivery,
                        cost=price * q + delivery,
                        source=SOURCE_OPTIMISED_AWARD,
                    )
                )
        for demand in item.demand:
            parts = [
                (b.id, solution.quantities[b.id, demand.region])
                for b in winners
                if (b.id, demand.region) in solution.quantities
            ]
            if not demand.hospitals or not parts:
                continue
            total = sum(q for _, q in parts)
            agreed = largest_remainder(total, [(h.id, h.quantity) for h in demand.hospitals])
            hospitals.extend(
                HospitalAllocation(item.id, bid, demand.region, h, q)
                for h, bid, q in lay_out(sorted(agreed.items()), parts)
                if q > 0
            )
        new_decisions.append(
            ItemDecision(
                item=item,
                outcomes=tuple(outcomes),
                winners=winners,
                award_prices=decision.award_prices,
                bidders=decision.bidders,
                valid_bids=decision.valid_bids,
                winner_cap=None,
                agreed_volume_share=share if winners else None,
                term_years=term if winners else None,
                notes=decision.notes,
            )
        )
    return new_decisions, allocations, hospitals

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
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from ortools.math_opt.python import mathopt
from ortools.sat.python import cp_model

from procurement.optimiser.allocation import (
    Allocated,
    Pricing,
    SolveStats,
    agreed_quantity,
    largest_remainder,
    lay_out,
)
from procurement.optimiser.model import (
    Allocation,
    Bid,
    BidOutcome,
    HospitalAllocation,
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
        if not hard and name not in self.groups:
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
class AwardModel:
    model: LinearModel
    cells: tuple[Cell, ...]
    awards: Mapping[str, int]  # bid id -> award variable
    volume_share: Decimal


@dataclass(frozen=True)
class Solution:
    status: str  # optimal | feasible | infeasible
    objective: Decimal | None
    bound: Decimal | None
    quantities: Mapping[tuple[str, str], int]  # (bid, region) -> units
    explanation: tuple[ReasonPart, ...] = ()
    solver: str = "cp-sat"


def agreed_total(problem: Problem) -> int:
    """All agreed units of the problem (the base of ``max_supplier_share``)."""
    share = Decimal(problem.rule_set.parameters["volume_share"])
    return sum(agreed_quantity(d.quantity, share) for item in problem.items for d in item.demand)


def build_award_model(
    problem: Problem,
    decisions: Sequence[ItemDecision],
    pricing: Pricing,
    total_volume: int | None = None,
) -> AwardModel:
    """Translate the optimised-award parameters into a ``LinearModel`` over ``decisions``.

    ``total_volume`` is the base of the supplier share limit: all agreed units of the
    problem, also when the model covers only some of its items.
    """
    p = problem.rule_set.parameters
    share = Decimal(p["volume_share"])
    single = bool(p["single_source_per_region"])
    min_split = p.get("min_split_share")
    model = LinearModel()
    cells: list[Cell] = []
    awards: dict[str, int] = {}
    region_costs = pricing.costs
    use: dict[tuple[str, str], int] = {k: c.capacity_use_per_unit for k, c in region_costs.items()}
    supplier_terms: dict[str, list[tuple[int, int]]] = {}
    if total_volume is None:
        total_volume = agreed_total(problem)
    for decision in decisions:
        item = decision.item
        bids = list(decision.winners)  # for this kind: every valid bid, in rank order
        for bid in bids:
            awards[bid.id] = model.var(f"award[{bid.id}]", 1, pricing.to_int(bid.fixed_award_cost))
        item_awards = [(awards[b.id], 1) for b in bids]
        low, high = p["min_winners_per_item"], p["max_winners_per_item"]
        model.add(item_awards, low, None, message("min_winners_for_item", count=low, item=item.id))
        if high is not None:
            model.add(
                item_awards, None, high, message("max_winners_for_item", count=high, item=item.id)
            )
        bid_terms: dict[str, list[tuple[int, int]]] = {b.id: [] for b in bids}
        coverage: list[tuple[int, int]] = []
        for demand in item.demand:
            q = agreed_quantity(demand.quantity, share)
            if q == 0:
                continue
            region_cover: list[tuple[int, int]] = []
            for bid in bids:
                extra = pricing.region_cost(bid.id, demand.region)
                unit = decision.award_prices[bid.id] + (extra.per_unit if extra else Decimal(0))
                fixed = extra.fixed if extra else Decimal(0)
                weight = use.get((bid.id, demand.region), 1)
                if single:
                    select = model.var(
                        f"supply[{bid.id},{demand.region}]",
                        1,
                        pricing.to_int(unit * q + fixed),
                    )
                    amount = None
                    region_cover.append((select, q))
                    bid_terms[bid.id].append((select, q * weight))
                    supplier_terms.setdefault(bid.supplier, []).append((select, q))
                else:
                    select = model.var(f"uses[{bid.id},{demand.region}]", 1, pricing.to_int(fixed))
                    amount = model.var(f"units[{bid.id},{demand.region}]", q, pricing.to_int(unit))
                    region_cover.append((amount, 1))
                    bid_terms[bid.id].append((amount, weight))
                    supplier_terms.setdefault(bid.supplier, []).append((amount, 1))
                    model.add([(amount, 1), (select, -q)], None, 0, "split link", hard=True)
                    if min_split is not None:
                        least = int(
                            (Decimal(min_split) * q).to_integral_value(rounding=ROUND_CEILING)
                        )
                        model.add(
                            [(amount, 1), (select, -least)],
                            0,
                            None,
                            message("min_split_share_for_item", item=item.id, share=str(min_split)),
                        )
                model.add([(select, 1), (awards[bid.id], -1)], None, 0, "award link", hard=True)
                cells.append(Cell(item.id, bid, demand.region, q, select, amount))
            model.add(
                region_cover,
                q,
                q,
                message(
                    "supply_region_single_source" if single else "supply_region",
                    units=q,
                    item=item.id,
                    region=demand.region,
                ),
            )
            coverage.extend(region_cover)
            # Hint: the cheapest valid bid supplies the region (the rule-based default).
            if single and bids:
                cheapest = min(
                    (c for c in cells if c.item == item.id and c.region == demand.region),
                    key=lambda c: (model.objective[c.select], c.bid.id),
                )
                model.hint[cheapest.select] = 1
        for bid in bids:
            model.add([*bid_terms[bid.id], (awards[bid.id], -1)], 0, None, "award link", hard=True)
            if bid.capacity is not None:
                model.add(
                    bid_terms[bid.id],
                    None,
                    bid.capacity,
                    message("bid_capacity", bid=bid.id, units=bid.capacity),
                )
    for supplier in problem.suppliers:
        terms = supplier_terms.get(supplier.id, [])
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
        for supplier_id, terms in sorted(supplier_terms.items()):
            model.add(
                terms,
                None,
                limit,
                message("supplier_share", supplier=supplier_id, share=str(cap), units=total_volume),
            )
    return AwardModel(model, tuple(cells), awards, share)


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
    if p["backend"] == "highs":
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
    quantities: dict[tuple[str, str], int] = {}
    for cell in award.cells:
        q = values[cell.amount] if cell.amount is not None else cell.quantity * values[cell.select]
        if q:
            quantities[cell.bid.id, cell.region] = q
    exact = Decimal(sum(k * v for k, v in zip(lm.objective, values, strict=True))) / pricing.scale
    return Solution(status, exact, bound, quantities, (), solver)


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
    solver = solutions[0].solver if solutions else "none"
    if len(groups) > 1:
        solver += f" ({len(groups)} independent models)"
    for weakest in ("infeasible", "unknown"):
        failed = [s for s in solutions if s.status == weakest]
        if failed:
            explanation = tuple(line for s in failed for line in s.explanation)
            return Solution(weakest, None, None, {}, explanation, solver)
    quantities: dict[tuple[str, str], int] = {}
    for s in solutions:
        quantities.update(s.quantities)
    status = "optimal" if all(s.status == "optimal" for s in solutions) else "feasible"
    objective = sum((s.objective for s in solutions if s.objective is not None), Decimal(0))
    bound = sum((s.bound for s in solutions if s.bound is not None), Decimal(0))
    return Solution(status, objective, bound, quantities, (), solver)


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

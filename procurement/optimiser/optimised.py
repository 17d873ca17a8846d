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

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from ortools.sat.python import cp_model

from procurement.optimiser.allocation import (
    Allocated,
    Pricing,
    SolveStats,
    largest_remainder,
    lay_out,
)
from procurement.optimiser.award_model import (  # re-exported: the model's public names
    AwardModel,
    Cell,
    Constraint,
    ItemTerms,
    LinearModel,
    UnmetCell,
    agreed_total,
    build_award_model,
    item_terms,
    price_windows,
    unmet_penalty_price,
)
from procurement.optimiser.backends import (
    CP_SAT,
    HIGHS,
    Race,
    _cp_model,
    solve_cp_sat,
    solve_highs,
    solve_side_by_side,
)
from procurement.optimiser.decompose import solve_decomposed
from procurement.optimiser.model import (
    Allocation,
    BidOutcome,
    HospitalAllocation,
    Problem,
    hospital_allocation,
)
from procurement.optimiser.reasons import (
    SOURCE_OPTIMISED_AWARD,
    ReasonPart,
    message,
    part,
)
from procurement.optimiser.rules import ItemDecision

__all__ = [
    "AwardModel",
    "Cell",
    "Constraint",
    "ItemTerms",
    "LinearModel",
    "Solution",
    "UnmetCell",
    "agreed_total",
    "allocate_optimised_award",
    "build_award_model",
    "item_terms",
    "price_windows",
    "solve_award",
    "solve_cp_sat",
    "solve_highs",
    "unmet_penalty_price",
]


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
        backend, reason = choose_backend(award, national=_national_shape(problem, decisions))
        lm.hint.clear()  # the rule-based hint breaks shared capacities; CP-SAT was faster without
    if backend == "decomposed":
        (status, values, bound), _ = solve_decomposed(
            problem,
            decisions,
            pricing,
            award,
            total_volume,
            time_limit=time_limit,
            relative_gap=gap,
        )
        solver = DECOMPOSED if reason is None else f"auto: {DECOMPOSED}"
        solution = _solution_of(award, decisions, p, status, values, bound, solver, pricing.scale)
        return replace(solution, solver_reason=() if reason is None else (reason,))
    if backend == "side_by_side":
        race = Race(HIGHS, 0.0, SIDE_BY_SIDE_HIGHS_NODES)
        status, values, bound, used = solve_side_by_side(
            lm, race, time_limit=time_limit, relative_gap=gap, scale=pricing.scale
        )
        return _solution_of(
            award, decisions, p, status, values, bound, f"side by side: {used}", pricing.scale
        )
    if backend == "highs":
        status, values, bound = solve_highs(
            lm, time_limit=time_limit, relative_gap=gap, scale=pricing.scale
        )
        solver = HIGHS
    else:
        status, values, bound = solve_cp_sat(
            lm,
            time_limit=time_limit,
            relative_gap=gap,
            workers=int(p.get("num_workers", 1)),
            scale=pricing.scale,
        )
        solver = CP_SAT
    if reason is not None:
        solver = f"auto: {solver}"
    solution = _solution_of(award, decisions, p, status, values, bound, solver, pricing.scale)
    return replace(solution, solver_reason=() if reason is None else (reason,))


#: The automatic backend runs CP-SAT on models with fewer variables than this and HiGHS
#: on larger ones (see ``choose_backend``).
AUTO_HIGHS_MIN_VARIABLES = 10_000
#: Side by side, HiGHS is preferred up to this many branch-and-bound nodes (a limit that
#: is the same on every machine; more than a 60 s national-shape run needs).
SIDE_BY_SIDE_HIGHS_NODES = 100_000


#: The decomposition's name in ``run.solver``.
DECOMPOSED = "decomposition + highs (mathopt)"


def _national_shape(problem: Problem, decisions: Sequence[ItemDecision]) -> int:
    """The number of items of a model whose per-item terms make the decomposition pay:
    more than one item (linked through capacity: they are one model) and any of the
    national shape's terms (price ratio, national share, unmet demand at a penalty);
    0 otherwise."""
    p = problem.rule_set.parameters
    shaped = any(
        p.get(name) is not None
        for name in (
            "max_price_ratio_among_winners",
            "min_national_share_per_winner",
            "unmet_penalty_ratio",
        )
    ) or any(d.item.unmet_penalty_price is not None for d in decisions)
    return len(decisions) if shaped and len(decisions) > 1 else 0


def choose_backend(award: AwardModel, national: int = 0) -> tuple[str, ReasonPart]:
    """The backend for one model, by its size and shape, and why (a run message).

    A large model of the national shape over ``national`` (> 1) linked items is
    decomposed (``decompose``): on the national benchmark it proved the 1e-4 gap in about
    half of HiGHS's time on the same machine, with a better solution (docs/optimiser.md).

    Measured on the benchmarks (bench/, a shared 2-core machine): small models (OR-Library
    cap71 and gap12, under 1,000 variables) are proven fastest by CP-SAT (0.2 to 1.0 s
    against 0.4 to 2.4 s for HiGHS); large ones by HiGHS: 50 items x 20 bidders x 31
    regions (32,000 variables, shared capacities) in 3.6 s against 5.5 s for CP-SAT, and
    the national shape (28,000 variables with price windows, minimum national shares and
    unmet demand) to a 0.01% gap within 60 s on every instance tried, where CP-SAT was
    faster on some and 0.6% to 0.8% away after 60 s on others (docs/optimiser.md,
    *Benchmark*). Running both side by side (backend ``side_by_side``) was no faster than
    HiGHS alone on that machine.
    """
    variables = len(award.model.names)
    if variables >= AUTO_HIGHS_MIN_VARIABLES and national > 1:
        return "decomposed", message(
            "backend_decomposed_national",
            variables=variables,
            threshold=AUTO_HIGHS_MIN_VARIABLES,
            items=national,
        )
    if variables < AUTO_HIGHS_MIN_VARIABLES:
        return "cp_sat", message(
            "backend_cp_sat_small", variables=variables, threshold=AUTO_HIGHS_MIN_VARIABLES
        )
    return "highs", message(
        "backend_highs_large", variables=variables, threshold=AUTO_HIGHS_MIN_VARIABLES
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
                hospital_allocation(item.id, bid, demand.region, h, q)
                for h, bid, q in lay_out(agreed.items(), parts)
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

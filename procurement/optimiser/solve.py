"""``solve(problem) -> Result``: the rule layer, then allocation or optimisation, then totals."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from procurement.optimiser.allocation import Pricing, SolveStats, decimals_of
from procurement.optimiser.kinds import rule_kind
from procurement.optimiser.model import (
    Allocation,
    Bid,
    BidOutcome,
    HospitalAllocation,
    Item,
    ItemOutcome,
    Problem,
    Result,
    RunRecord,
    Totals,
    UnmetDemand,
)
from procurement.optimiser.optimised import Solution, unmet_penalty_price
from procurement.optimiser.reasons import ReasonPart
from procurement.optimiser.rules import ItemDecision

CENT = Decimal("0.01")


def money_scale_digits(problem: Problem, decisions: Sequence[ItemDecision]) -> int:
    """Decimals needed so every price and cost times ``10 ** digits`` is an integer."""
    values = [c.per_unit for c in problem.region_costs] + [c.fixed for c in problem.region_costs]
    values += [b.fixed_award_cost for b in problem.bids]
    values += [i.unmet_penalty_price for i in problem.items if i.unmet_penalty_price is not None]
    if problem.rule_set.parameters.get("unmet_penalty_ratio") is not None:
        parameters = problem.rule_set.parameters
        values += [p for i in problem.items if (p := unmet_penalty_price(i, parameters))]
    for decision in decisions:
        values += list(decision.award_prices.values())
    return max((decimals_of(v) for v in values), default=0)


def decide_items(problem: Problem) -> list[ItemDecision]:
    """Apply the problem's rule kind to every item, in item id order."""
    decide = rule_kind(problem.rule_set.kind).decide
    parameters = problem.rule_set.parameters
    by_item: dict[str, list[Bid]] = {item.id: [] for item in problem.items}
    for bid in problem.bids:
        by_item[bid.item].append(bid)
    return [decide(item, by_item[item.id], parameters) for item in problem.items]


@dataclass(frozen=True)
class Part:
    """What the rule layer and the allocation decide for some of a problem's items: the
    piece of the result they own, and what the solvers did. ``solve`` makes one part of
    all items; a fanned-out evaluation (``fanout``) makes one per chunk of items. Either
    way the result is ``merge_parts``: the one merge, so the two cannot drift."""

    items: tuple[ItemOutcome, ...]
    bids: tuple[BidOutcome, ...]
    allocations: tuple[Allocation, ...]
    hospitals: tuple[HospitalAllocation, ...]
    used_solver: bool = False
    all_optimal: bool = True
    warnings: tuple[ReasonPart, ...] = ()
    seconds: float = 0.0


def solve(problem: Problem) -> Result:
    """Evaluate a parsed problem (see ``io.problem_from_dict``)."""
    started = time.perf_counter()
    decisions = decide_items(problem)
    part, solution = _solve_part(problem, decisions, money_scale_digits(problem, decisions))
    return merge_parts(
        problem, [part], solution=solution, solve_seconds=time.perf_counter() - started
    )


def solve_items(problem: Problem, digits: int) -> Part:
    """The part of every item of ``problem`` (a chunk's sub-problem), with money scaled
    by ``10 ** digits``: the whole problem's scale (``money_scale_digits``), so that the
    solvers see exactly the numbers the single-process ``solve`` gives them. Only for the
    kinds whose items are independent (not the optimised award: ``fanout.fans_out``)."""
    started = time.perf_counter()
    part, solution = _solve_part(problem, decide_items(problem), digits)
    if solution is not None:
        raise ValueError("the optimised award couples its items: it is solved whole")
    return replace(part, seconds=time.perf_counter() - started)


def _solve_part(
    problem: Problem, decisions: list[ItemDecision], digits: int
) -> tuple[Part, Solution | None]:
    pricing = Pricing(digits=digits, costs={(c.bid, c.region): c for c in problem.region_costs})
    stats = SolveStats()
    allocated = rule_kind(problem.rule_set.kind).allocate(problem, decisions, pricing, stats)
    by_item: dict[str, list[Allocation]] = {d.item.id: [] for d in allocated.decisions}
    for a in allocated.allocations:
        by_item.setdefault(a.item, []).append(a)
    part = Part(
        items=tuple(_item_outcome(d, by_item[d.item.id]) for d in allocated.decisions),
        bids=tuple(o for d in allocated.decisions for o in d.outcomes),
        allocations=tuple(allocated.allocations),
        hospitals=tuple(allocated.hospitals),
        used_solver=stats.used_solver,
        all_optimal=stats.all_optimal,
        warnings=tuple(stats.warnings),
    )
    return part, allocated.solution


def merge_parts(
    problem: Problem,
    parts: Sequence[Part],
    *,
    solution: Solution | None = None,
    solve_seconds: float | None = None,
) -> Result:
    """The result of ``problem`` from the parts of its items, in any order: parts are put
    in the problem's item order (warnings follow it), and every list is sorted as the
    result document sorts it. ``solution``: the optimised award's (one part of all items).
    ``solve_seconds``: the time taken (default: the parts' seconds added up)."""
    order = {item.id: n for n, item in enumerate(problem.items)}
    parts = sorted(parts, key=lambda p: min((order[i.item] for i in p.items), default=-1))
    outcomes = sorted((i for p in parts for i in p.items), key=lambda i: order[i.item])
    if len(outcomes) != len(problem.items) or len({i.item for i in outcomes}) != len(order):
        raise ValueError("the parts do not cover every item of the problem exactly once")
    stats = SolveStats(
        used_solver=any(p.used_solver for p in parts),
        all_optimal=all(p.all_optimal for p in parts),
        warnings=[w for p in parts for w in p.warnings],
    )
    run = _run_record(problem, stats, solution)
    unmet = _unmet(solution)
    totals = _totals(outcomes, problem.items)
    if solution is not None and solution.penalties:
        totals = replace(totals, unmet_penalty=sum((u.penalty for u in unmet), Decimal(0)))
    return Result(
        rule_set=problem.rule_set,
        run=run,
        bids=tuple(sorted((b for p in parts for b in p.bids), key=lambda o: o.bid)),
        items=tuple(outcomes),
        allocations=tuple(
            sorted(
                (a for p in parts for a in p.allocations),
                key=lambda a: (a.item, a.region, a.bid, a.source),
            )
        ),
        hospital_allocations=tuple(
            sorted(
                (h for p in parts for h in p.hospitals),
                key=lambda h: (h.item, h.region, h.hospital, h.bid),
            )
        ),
        totals=totals,
        solve_seconds=sum(p.seconds for p in parts) if solve_seconds is None else solve_seconds,
        unmet=unmet,
        unmet_allowed=solution is not None and bool(solution.penalties),
    )


def _unmet(solution: Solution | None) -> tuple[UnmetDemand, ...]:
    if solution is None:
        return ()
    return tuple(
        UnmetDemand(item, region, q, solution.penalties[item], solution.penalties[item] * q)
        for (item, region), q in sorted(solution.unmet.items())
    )


def _run_record(problem: Problem, stats: SolveStats, solution: Solution | None) -> RunRecord:
    if solution is None:
        status = (
            ("optimal" if stats.all_optimal else "feasible") if stats.used_solver else "rule_only"
        )
        return RunRecord(
            status=status,  # type: ignore[arg-type]
            input_hash=problem.input_hash,
            solver="cp-sat (province assignment)" if stats.used_solver else "none",
            warning_parts=tuple(stats.warnings),
        )
    gap: Decimal | None = None
    if solution.objective is not None and solution.bound is not None:
        if solution.objective == 0:
            gap = Decimal(0)
        else:
            gap = ((solution.objective - solution.bound) / solution.objective).quantize(
                Decimal("0.000001"), ROUND_HALF_UP
            )
            if gap <= 0:  # a float dual bound (HiGHS) can round to just above the cost
                gap = Decimal("0.000000")
    return RunRecord(
        status=solution.status,  # type: ignore[arg-type]
        input_hash=problem.input_hash,
        solver=solution.solver,
        objective=solution.objective,
        bound=solution.bound,
        gap=gap,
        explanation_parts=solution.explanation,
        warning_parts=solution.warnings,
        solver_reason_parts=solution.solver_reason,
    )


def _item_outcome(decision: ItemDecision, allocations: list[Allocation]) -> ItemOutcome:
    item = decision.item
    cost = sum((a.cost for a in allocations), Decimal(0))
    units = sum(a.quantity for a in allocations)
    reference = (
        None
        if item.reference_price is None
        else (item.reference_price * units - cost).quantize(CENT, ROUND_HALF_UP)
    )
    return ItemOutcome(
        item=item.id,
        winners=tuple(b.id for b in decision.winners),
        bidders=decision.bidders,
        valid_bids=decision.valid_bids,
        winner_cap=decision.winner_cap,
        agreed_volume_share=decision.agreed_volume_share,
        pooled_demand=item.pooled_demand,
        agreed_volume=units,
        term_years=decision.term_years,
        cost=cost.quantize(CENT, ROUND_HALF_UP),
        savings_vs_reference=reference,
        savings_vs_ceiling=(item.max_valid_bid_price * units - cost).quantize(CENT, ROUND_HALF_UP),
        notes=decision.notes,
    )


def _totals(items: list[ItemOutcome], problem_items: Sequence[Item]) -> Totals:
    """``items`` in the order of ``problem_items`` (one outcome per item)."""
    cost = sum((i.cost for i in items), Decimal(0))
    ceiling = sum(
        (
            p.max_valid_bid_price * i.agreed_volume
            for p, i in zip(problem_items, items, strict=True)
        ),
        Decimal(0),
    ).quantize(CENT, ROUND_HALF_UP)
    with_reference = [
        (p, i) for p, i in zip(problem_items, items, strict=True) if p.reference_price is not None
    ]
    reference: Decimal | None = None
    if with_reference and len(with_reference) == len(items):
        reference = sum(
            (p.reference_price * i.agreed_volume for p, i in with_reference if p.reference_price),
            Decimal(0),
        ).quantize(CENT, ROUND_HALF_UP)
    return Totals(
        cost=cost,
        reference_cost=reference,
        ceiling_cost=ceiling,
        savings_vs_reference=None if reference is None else reference - cost,
        savings_vs_ceiling=ceiling - cost,
    )

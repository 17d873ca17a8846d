"""The national shape by decomposition: a Lagrangian bound over per-item models, then the
full model cut off below that bound (backend ``decomposed``; ``auto`` on large models).

The structure (issue 15): given its winners, an item's regions are independent, and items
are linked only through a firm's capacity. So the capacities of firms that bid on more
than one item are priced (a multiplier ``lambda_f`` per unit, in the scaled integer money
of the model) instead of imposed, and the award splits into one small model per item
(its bids, regions, windows, winners and national shares; a firm's capacity still limits
its units *within* the item). For any ``lambda >= 0``

    L(lambda) = sum over items of min(cost + lambda x units) - sum over firms lambda_f x cap_f

is a lower bound on the optimum (weak duality); it is computed from CP-SAT's proven
per-item optima, exactly, in scaled integers. The per-item models are far tighter than
the linear relaxation of the whole model (each item's winners, windows and shares are
solved as integers), so after a few subgradient steps on ``lambda`` the bound is close
to the optimum. The full model is then solved with the constraint ``cost >= L`` added: a
valid cut that starts the solver's own bound at ``L``, so it stops as soon as its
incumbent is within the relative gap of the decomposition's bound.

Every step has a fixed number of iterations and CP-SAT runs single-threaded with a fixed
seed, so the same input gives the same multipliers, the same cut and the same answer;
only a run stopped by its time limit depends on the machine (as for any backend).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ortools.sat.python import cp_model

from procurement.optimiser.allocation import Pricing
from procurement.optimiser.award_model import AwardModel, LinearModel, build_award_model
from procurement.optimiser.backends import SolverRun, _cp_model, solve_highs
from procurement.optimiser.model import Problem
from procurement.optimiser.rules import ItemDecision

#: Subgradient steps on the multipliers (fixed: the bound must not depend on the clock).
LAGRANGE_STEPS = 12
#: The step aims at the best bound plus 1/LAGRANGE_TARGET of it (Polyak's step; on the
#: national benchmark 1/100 gave a slightly higher bound than 1/1000 in the same steps).
LAGRANGE_TARGET = 100
#: CP-SAT deterministic-time limit of one per-item model (the same on every machine).
ITEM_WORK_LIMIT = 20.0


@dataclass
class _ItemModel:
    """One item's model in CP-SAT, with the per-unit coefficients that carry the
    multipliers: (variable, firm, units per unit of the variable)."""

    item: str
    award: AwardModel
    model: cp_model.CpModel
    xs: list[cp_model.IntVar]
    usage: list[tuple[int, str, int]]
    firms: frozenset[str]
    values: list[int] = field(default_factory=list)
    bound: int = 0
    winners: set[str] = field(default_factory=set)  # every bid awarded at some step

    def solve(self, prices: Mapping[str, int]) -> None:
        """The item's optimum with every unit of a priced firm costing its multiplier more;
        ``bound``: CP-SAT's proven lower bound of it (exact integers)."""
        lm = self.award.model
        costs = list(lm.objective)
        for var, firm, units in self.usage:
            costs[var] += prices.get(firm, 0) * units
        nz = [(self.xs[i], k) for i, k in enumerate(costs) if k]
        self.model.minimize(
            cp_model.LinearExpr.weighted_sum([v for v, _ in nz], [k for _, k in nz])
        )
        self.model.clear_hints()
        for i, v in enumerate(self.values):
            self.model.add_hint(self.xs[i], v)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = 0
        solver.parameters.linearization_level = 2
        solver.parameters.max_deterministic_time = ITEM_WORK_LIMIT
        status = solver.solve(self.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise _NoBound(self.item)
        self.values = [int(v) for v in solver.values(self.xs)]
        self.bound = math.ceil(solver.best_objective_bound - 1e-6)
        self.winners.update(b for b, var in self.award.awards.items() if self.values[var])


class _NoBound(Exception):
    """An item's model found no solution within its work limit: no bound from it."""


@dataclass(frozen=True)
class Decomposition:
    """What the decomposition proved: the bound (scaled integers), its value at the
    multipliers of 0 (the items alone), the steps taken and the firms priced."""

    bound: int
    items_alone: int
    steps: int
    priced_firms: int
    seconds: float
    winners: frozenset[str]  # every bid some item's model awarded at some step


def lagrangian_bound(
    problem: Problem,
    decisions: Sequence[ItemDecision],
    pricing: Pricing,
    total_volume: int,
    *,
    steps: int = LAGRANGE_STEPS,
    deadline: float | None = None,
) -> Decomposition | None:
    """The best ``L(lambda)`` over ``steps`` subgradient steps (module docstring); None
    when an item's model gives no bound (then the full model is solved alone).

    The step is Polyak's towards a target ``(1 + 1/LAGRANGE_TARGET) x`` the best bound so
    far, at least one unit of money per firm whose capacity is exceeded (the multipliers
    are integers), halved when the bound fails to improve twice. ``deadline`` (a
    ``time.monotonic`` value) ends the steps early on a very slow machine: only then does
    the bound depend on the clock (as any solve stopped by its time limit does).
    """
    started = time.monotonic()
    capacity = {s.id: s.capacity for s in problem.suppliers if s.capacity is not None}
    items_of: dict[str, set[str]] = {}
    for decision in decisions:
        for bid in decision.winners:
            items_of.setdefault(bid.supplier, set()).add(decision.item.id)
    models: list[_ItemModel] = []
    most: dict[str, int] = {}  # a firm's largest possible units over its items
    for decision in decisions:
        award = build_award_model(problem, [decision], pricing, total_volume)
        model, xs, _ = _cp_model(award.model, with_objective=False, enforce=False)
        usage: list[tuple[int, str, int]] = []
        per_firm: dict[str, int] = {}
        for cell in award.cells:
            firm = cell.bid.supplier
            if cell.amount is None:
                usage.append((cell.select, firm, cell.quantity))
            else:
                usage.append((cell.amount, firm, 1))
            per_firm[firm] = per_firm.get(firm, 0) + cell.quantity
        for firm, units in per_firm.items():
            most[firm] = most.get(firm, 0) + units
        firms = frozenset(per_firm)
        models.append(_ItemModel(decision.item.id, award, model, xs, usage, firms))
    # Only a capacity that links items and can bind is priced.
    priced = sorted(
        f for f, cap in capacity.items() if len(items_of.get(f, ())) > 1 and most.get(f, 0) > cap
    )
    prices: dict[str, int] = {}
    best: int | None = None
    alone = 0
    theta = 1.0
    stale = 0
    taken = 0
    changed: set[str] | None = None  # firms whose price moved; None: solve every item
    try:
        for step in range(steps + 1):
            for m in models:
                if changed is None or m.firms & changed:
                    m.solve(prices)
            taken = step
            value = sum(m.bound for m in models) - sum(
                prices.get(f, 0) * capacity[f] for f in priced
            )
            if step == 0:
                alone = value
            if best is None or value > best:
                best, stale = value, 0
            else:
                stale += 1
                if stale >= 2:
                    theta, stale = theta / 2, 0
            if step == steps or (deadline is not None and time.monotonic() > deadline):
                break
            used: dict[str, int] = {}
            for m in models:
                for var, firm, units in m.usage:
                    if m.values[var]:
                        used[firm] = used.get(firm, 0) + units * m.values[var]
            gradient = {f: used.get(f, 0) - capacity[f] for f in priced}
            # a firm at 0 with spare capacity cannot go lower: no part of the step
            norm = sum(g * g for f, g in gradient.items() if g > 0 or prices.get(f, 0) > 0)
            if norm == 0:
                break  # the items' own optima fit every capacity: the bound is the optimum
            target = best + max(best // LAGRANGE_TARGET, 1)
            size = theta * (target - value) / norm
            changed = set()
            for f, g in gradient.items():
                move = math.floor(size * g + 0.5)
                if g > 0:
                    move = max(move, 1)  # at least one unit of money: integer multipliers
                elif g < 0:
                    move = min(move, -1)
                new = max(0, prices.get(f, 0) + move)
                if new != prices.get(f, 0):
                    prices[f] = new
                    changed.add(f)
            if not changed:
                break
    except _NoBound:
        return None
    assert best is not None
    winners = frozenset(b for m in models for b in m.winners)
    return Decomposition(best, alone, taken, len(priced), time.monotonic() - started, winners)


def restricted(award: AwardModel, winners: frozenset[str]) -> LinearModel:
    """The full model with every bid outside ``winners`` fixed to 0 (its award and its
    cells): the same variables, so its values are the full model's."""
    upper = list(award.model.upper)
    for bid, var in award.awards.items():
        if bid not in winners:
            upper[var] = 0
    for cell in award.cells:
        if cell.bid.id not in winners:
            upper[cell.select] = 0
            if cell.amount is not None:
                upper[cell.amount] = 0
    lm = award.model
    return LinearModel(
        names=lm.names,
        upper=upper,
        objective=lm.objective,
        constraints=lm.constraints,
        groups=lm.groups,
        messages=lm.messages,
    )


def solve_decomposed(
    problem: Problem,
    decisions: Sequence[ItemDecision],
    pricing: Pricing,
    award: AwardModel,
    total_volume: int,
    *,
    time_limit: float,
    relative_gap: float,
) -> tuple[SolverRun, Decomposition | None]:
    """Bound, then a master over winner sets, then (only if needed) the full model.

    1. The Lagrangian bound (at most half of the time; its 12 steps took 13 to 20 s on
       the national benchmark at load 8 to 13 on 2 cores).
    2. The master: the full model restricted to the bids some item's model awarded at some
       step (a fraction of the variables), by HiGHS. Its optimum is a feasible award of
       the whole problem; when it lies within ``relative_gap`` of the bound it is proven.
    3. Otherwise the full model by HiGHS for the rest of the time; the better of the two
       solutions, and the larger of the two bounds.
    """
    started = time.monotonic()
    lm = award.model
    decomposition = lagrangian_bound(
        problem, decisions, pricing, total_volume, deadline=started + time_limit / 2
    )
    if decomposition is None:
        return solve_highs(
            lm, time_limit=time_limit, relative_gap=relative_gap, scale=pricing.scale
        ), None
    floor = decomposition.bound
    gap = Decimal(repr(relative_gap))

    def within(values: list[int]) -> bool:
        cost = _cost(lm, values)
        return cost - floor <= gap * cost

    remaining = max(time_limit - (time.monotonic() - started), 1.0)
    master = solve_highs(
        restricted(award, decomposition.winners),
        time_limit=remaining / 2,
        relative_gap=relative_gap / 10,
        scale=pricing.scale,
    )
    proven = Decimal(floor) / pricing.scale
    if master[1] is not None and within(master[1]):
        return ("optimal", master[1], proven), decomposition
    remaining = max(time_limit - (time.monotonic() - started), 1.0)
    status, values, bound = solve_highs(
        lm, time_limit=remaining, relative_gap=relative_gap, scale=pricing.scale
    )
    if status == "infeasible":
        return (status, values, bound), decomposition
    if master[1] is not None and (values is None or _cost(lm, master[1]) < _cost(lm, values)):
        values = master[1]
    if values is None:
        return ("unknown", None, None), decomposition
    bound = proven if bound is None else max(bound, proven)
    if status != "optimal" and within(values):
        status = "optimal"
    return (status, values, bound), decomposition


def _cost(lm: LinearModel, values: list[int]) -> int:
    return sum(k * v for k, v in zip(lm.objective, values, strict=True))

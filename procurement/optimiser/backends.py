"""The solvers behind the optimised award: CP-SAT (exact integers) and HiGHS (through
OR-Tools' MathOpt, floating point), each on the same ``LinearModel``."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from ortools.math_opt.python import mathopt
from ortools.sat.python import cp_model

from procurement.optimiser.award_model import LinearModel


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

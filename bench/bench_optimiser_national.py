"""Award optimiser: the national shape (issue 15), seeded by ``bench/national.py``.

55 drugs x 445 firms x 32 regions x 46,000 institutions (~10^6 demand lines, 790 bids),
single source per region, firms' capacity shared across items, each item's maximum
number of winners from the batch-4 cap table, winners within 1.8 x the item's lowest
winning price, each winner at least 5% of the item's national volume, unmet demand at
the item's ceiling price per unit, no forced winner. Relative gap 1e-4, 60 s limit:
the project's default (backend ``auto``: the decomposition, ``decompose.py``) beside
HiGHS and CP-SAT alone on the same problem in the same run, each of those with twice
the time (120 s; ``BENCH_NATIONAL_BASELINE_LIMIT``). Goal: the default proves a gap
<= 1e-4 within 60 s.

Each solve is end to end (``solve``: rule layer, model, solver, hospital rows), so the
figure is what the evaluation would wait for. Set ``BENCH_NATIONAL_SEEDS`` (e.g.
``2025,2026``) to run more seeds; ``BENCH_NATIONAL_LIMIT`` to change the 60 s limit.

Run alone: ``python -m bench.run optimiser_national`` (at most 60 + 2 x 120 s per seed).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from bench.common import Row, load, stopwatch
from bench.national import national_award
from procurement.optimiser import optimised
from procurement.optimiser.model import Problem, Result
from procurement.optimiser.solve import solve


def _with_backend(problem: Problem, backend: str, limit: float) -> Problem:
    seconds = int(limit) if limit == int(limit) else limit
    parameters = {**problem.rule_set.parameters, "backend": backend, "time_limit_seconds": seconds}
    return dataclasses.replace(
        problem, rule_set=dataclasses.replace(problem.rule_set, parameters=parameters)
    )


def _state(result: Result, seconds: float) -> str:
    gap = result.run.gap
    shown = "-" if gap is None else f"{float(gap) * 100:.4f}%"
    return f"{result.run.solver}: {result.run.status}, gap {shown} at {seconds:.1f} s"


def _gap(result: Result) -> float:
    return float("nan") if result.run.gap is None else float(result.run.gap)


@contextmanager
def _timed_solver_phase() -> Iterator[list[float]]:
    """Seconds spent in ``optimised.solve_award`` (model build, solver, reading the values)
    during the block: the figure the goal is about."""
    box = [0.0]
    original = optimised.solve_award

    def timed(*args: Any, **kwargs: Any) -> Any:
        with stopwatch() as seconds:
            outcome = original(*args, **kwargs)
        box[0] += seconds[0]
        return outcome

    optimised.solve_award = timed  # type: ignore[assignment]
    try:
        yield box
    finally:
        optimised.solve_award = original  # type: ignore[assignment]


def run() -> list[Row]:
    limit = float(os.environ.get("BENCH_NATIONAL_LIMIT", "60"))
    # the baselines get twice the default's time (the issue: neither proves it in 120 s)
    baseline_limit = float(os.environ.get("BENCH_NATIONAL_BASELINE_LIMIT", str(2 * limit)))
    seeds = [int(s) for s in os.environ.get("BENCH_NATIONAL_SEEDS", "2025").split(",")]
    rows: list[Row] = []
    for seed in seeds:
        with stopwatch() as generate:
            problem = national_award(seed=seed, time_limit=limit)
        lines = sum(len(d.hospitals) for item in problem.items for d in item.demand)
        runs: dict[str, tuple[float, Result]] = {}
        solver_phase: dict[str, float] = {}
        for backend in ("auto", "highs", "cp_sat"):
            with stopwatch() as seconds, _timed_solver_phase() as phase:
                budget = limit if backend == "auto" else baseline_limit
                result = solve(_with_backend(problem, backend, budget))
            runs[backend] = (seconds[0], result)
            solver_phase[backend] = phase[0]
        (auto_s, auto), (highs_s, highs), (cp_s, cp) = (
            runs[b] for b in ("auto", "highs", "cp_sat")
        )
        proven = auto.run.gap is not None and auto.run.gap <= Decimal("0.0001")
        verdict = "met" if proven and solver_phase["auto"] <= limit else "NOT met"
        benchmark = f"optimiser national shape (seed {seed})"
        rows.append(
            Row(
                benchmark=benchmark,
                figure="project default (auto): relative gap at stop",
                value=_gap(auto),
                unit="",
                baseline=f"HiGHS alone, same problem, {baseline_limit:g} s",
                baseline_value=_gap(highs),
                baseline_unit="",
                note=(
                    f"goal <= 0.0001 within {limit:g} s: {verdict}; "
                    f"{_state(auto, auto_s)}; {_state(highs, highs_s)}; {_state(cp, cp_s)}; "
                    f"objective {auto.run.objective}, bound {auto.run.bound}; {load()}"
                ),
            )
        )
        rows.append(
            Row(
                benchmark=benchmark,
                figure="project default (auto): solver phase (model, solve, read back)",
                value=solver_phase["auto"],
                unit="s",
                baseline="HiGHS alone / CP-SAT alone",
                baseline_value=solver_phase["highs"],
                baseline_unit="s",
                note=(
                    f"CP-SAT alone {solver_phase['cp_sat']:.1f} s; the goal's 60 s is this "
                    "phase (optimised.solve_award); the rest of end to end is the rule layer "
                    "and laying 10^6 hospital rows out"
                ),
            )
        )
        rows.append(
            Row(
                benchmark=benchmark,
                figure="project default (auto): time to stop, end to end",
                value=auto_s,
                unit="s",
                baseline="HiGHS alone / CP-SAT alone",
                baseline_value=highs_s,
                baseline_unit="s",
                note=(
                    f"CP-SAT alone {cp_s:.1f} s; {len(problem.items)} items, "
                    f"{len(problem.bids)} bids, {len({b.supplier for b in problem.bids})} firms, "
                    f"{lines:,} demand lines (generated in {generate[0]:.1f} s); "
                    f"{len(auto.unmet)} (item, region) pairs left unmet, "
                    f"{sum(1 for i in auto.items if not i.winners)} items without a winner"
                ),
            )
        )
    return rows

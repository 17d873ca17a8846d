"""Scenario comparison (issue 15): the constraint costs of the optimised award's comparison
row on the seeded 50 items x 20 bidders x 31 provinces of ``bench/national.py``, each
relaxation solved with its own time budget (``AWARDS_RELAXATION_SECONDS``, 60 s), in one
worker process and then in two.

In the application each relaxation is a Celery task of a group (awards.services.comparison:
``relaxations_send`` -> ``relaxation_execute``), so the worker processes share them; the
official problem is never solved again (the row is built from the run's own result). Here the
same solves (``scenarios.relaxations`` + ``scenarios.relaxed_cost``, what
``relaxation_execute`` calls) run in a process pool of one and of two processes, so the
figure is the gain from a second worker process without the database and broker around it
(the real-worker path is tested in tests/integration/test_relaxations_worker.py). Baseline in
the same run: the official solve of the same problem, once.

Run alone: ``python -m bench.run comparison``.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal

from bench.common import Row, load, stopwatch
from bench.national import award_scenario
from procurement.optimiser.model import Problem
from procurement.optimiser.scenarios import relaxations, relaxed_cost
from procurement.optimiser.solve import solve

BUDGET = 60.0
_PROBLEM: Problem | None = None


def _scenario() -> Problem:
    return award_scenario(time_limit=BUDGET, backend="auto")


def _init() -> None:
    global _PROBLEM
    _PROBLEM = _scenario()  # seeded: every process builds the same problem


def _relaxed(index: int) -> tuple[int, Decimal | None]:
    assert _PROBLEM is not None
    return index, relaxed_cost(relaxations(_PROBLEM)[index][2], BUDGET)


def _pool(processes: int, count: int) -> tuple[float, list[Decimal | None]]:
    with ProcessPoolExecutor(max_workers=processes, initializer=_init) as pool:
        # the problem is built in each process before the clock starts
        list(pool.map(_warm, range(processes)))
        with stopwatch() as seconds:
            costs = dict(pool.map(_relaxed, range(count)))
    return seconds[0], [costs[i] for i in range(count)]


def _warm(_: int) -> None:
    assert _PROBLEM is not None


def run() -> list[Row]:
    problem = _scenario()
    count = len(relaxations(problem))
    with stopwatch() as official:
        result = solve(problem)
    one, costs_one = _pool(1, count)
    two, costs_two = _pool(2, count)
    benchmark = "scenario comparison 50x20x31: constraint costs"
    return [
        Row(
            benchmark=benchmark,
            figure=f"{count} relaxations, 1 worker process",
            value=one,
            unit="s",
            baseline="official solve of the same problem, once",
            baseline_value=official[0],
            baseline_unit="s",
            note=f"official {result.run.status} by {result.run.solver}; {load()}",
        ),
        Row(
            benchmark=benchmark,
            figure=f"{count} relaxations, 2 worker processes",
            value=two,
            unit="s",
            baseline="the same relaxations, 1 worker process",
            baseline_value=one,
            baseline_unit="s",
            note=(
                f"speed-up {one / two:.2f}x; same costs in both: {costs_one == costs_two}; "
                f"budget {BUDGET:.0f} s each; {load()}"
            ),
        ),
    ]

"""The solver layer (``procurement.optimiser.backends``) on its own: both solvers on a tiny
model (a variable twice in one constraint, a stop before the start), the stop switch, and
the side-by-side verdict with scripted solver runs, so every branch of the verdict is
reached without depending on which real solver happens to finish first."""

from __future__ import annotations

import re
import threading
from decimal import Decimal
from typing import Any

import pytest

from procurement.optimiser import backends
from procurement.optimiser.award_model import LinearModel
from procurement.optimiser.backends import CP_SAT, HIGHS, Race, Stop

D = Decimal


def twice_model() -> tuple[LinearModel, int]:
    """Minimise -x (cost -1 per unit, x in [0, 5]) under x + x <= 4: x = 2."""
    lm = LinearModel()
    x = lm.var("x", 5, -1)
    lm.add([(x, 1), (x, 1)], None, 4, "twice", hard=True)
    return lm, x


def test_cp_sat_sums_a_variable_given_twice() -> None:
    lm, _ = twice_model()
    status, values, bound = backends.solve_cp_sat(
        lm, time_limit=10, relative_gap=0, workers=1, scale=1
    )
    assert (status, values, bound) == ("optimal", [2], D(-2))


def test_highs_sums_a_variable_given_twice() -> None:
    lm, _ = twice_model()
    status, values, bound = backends.solve_highs(lm, time_limit=10, relative_gap=0, scale=1)
    assert (status, values, bound) == ("optimal", [2], D("-2.00"))


def test_an_infeasible_model_on_both_solvers() -> None:
    lm = LinearModel()
    x = lm.var("x", 1, 1)
    lm.add([(x, 1)], 2, None, "at least two of one", hard=True)
    assert backends.solve_cp_sat(lm, time_limit=10, relative_gap=0, workers=1, scale=1) == (
        "infeasible",
        None,
        None,
    )
    assert backends.solve_highs(lm, time_limit=10, relative_gap=0, scale=1) == (
        "infeasible",
        None,
        None,
    )


def test_a_solve_stopped_before_it_starts_does_not_run() -> None:
    lm, _ = twice_model()
    for solve in (
        lambda stop: backends.solve_cp_sat(
            lm, time_limit=10, relative_gap=0, workers=1, scale=1, stop=stop
        ),
        lambda stop: backends.solve_highs(lm, time_limit=10, relative_gap=0, scale=1, stop=stop),
    ):
        stop = Stop()
        stop()
        assert solve(stop) == ("unknown", None, None)
        running = Stop()
        assert solve(running)[0] == "optimal"  # registered, never stopped: runs


def test_the_stop_switch() -> None:
    calls: list[str] = []
    stop = Stop()
    assert stop.register(lambda: calls.append("first")) is True
    assert stop.register(lambda: calls.append("second")) is True  # the last one counts
    stop()
    assert calls == ["second"]
    assert stop.register(lambda: calls.append("late")) is False  # stopped before it started
    assert calls == ["second"]
    stop()  # stopping again calls the registered action again; harmless
    assert calls == ["second", "late"]
    idle = Stop()
    idle()  # nothing registered yet: nothing to call, and it is remembered
    assert idle.register(lambda: calls.append("never")) is False
    assert calls == ["second", "late"]


def test_the_objective_of_values() -> None:
    lm = LinearModel()
    lm.var("a", 1, 3)
    lm.var("b", 9, 5)
    lm.var("c", 9, 0)
    assert backends._objective(lm, [1, 2, 7]) == 13
    with pytest.raises(AssertionError):
        backends._objective(lm, None)
    with pytest.raises(ValueError):
        backends._objective(lm, [1, 2])


# --- side by side, with scripted runs -------------------------------------------------------------


def scripted(monkeypatch: pytest.MonkeyPatch, runs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Replace both solvers: each returns its scripted run (or raises it); the keyword
    arguments each was called with are recorded, and whether it was stopped."""
    seen: dict[str, dict[str, Any]] = {}

    def fake(name: str):  # type: ignore[no-untyped-def]
        def solve(lm: LinearModel, **kwargs: Any) -> Any:
            stopped = threading.Event()
            kwargs["stop"].register(stopped.set)
            seen[name] = {k: v for k, v in kwargs.items() if k != "stop"}
            seen[name]["stopped"] = stopped
            run = runs[name]
            if isinstance(run, BaseException):
                raise run
            if run == "wait for stop":
                assert stopped.wait(10)
                return "unknown", None, None
            return run

        return solve

    monkeypatch.setattr(backends, "solve_cp_sat", fake(CP_SAT))
    monkeypatch.setattr(backends, "solve_highs", fake(HIGHS))
    monkeypatch.setattr(backends, "_lower_priority", lambda: None)
    return seen


def three_vars() -> LinearModel:
    lm = LinearModel()
    for name, cost in (("a", 10), ("b", 20), ("c", 30)):
        lm.var(name, 1, cost)
    return lm


def side_by_side(preferred: str) -> tuple[str, Any, Any, str]:
    race = Race(preferred, cp_sat_work=2.5, highs_work=777)
    return backends.solve_side_by_side(
        three_vars(), race, time_limit=9.0, relative_gap=0.01, scale=100
    )


@pytest.mark.parametrize("preferred", [CP_SAT, HIGHS])
@pytest.mark.parametrize("verdict", ["optimal", "infeasible"])
def test_a_proof_of_the_preferred_solver_is_the_answer_and_stops_the_other(
    monkeypatch: pytest.MonkeyPatch, preferred: str, verdict: str
) -> None:
    other = HIGHS if preferred == CP_SAT else CP_SAT
    values = [1, 0, 0] if verdict == "optimal" else None
    bound = D("0.10") if verdict == "optimal" else None
    seen = scripted(monkeypatch, {preferred: (verdict, values, bound), other: "wait for stop"})
    assert side_by_side(preferred) == (verdict, values, bound, preferred)
    assert seen[other]["stopped"].is_set()
    assert not seen[preferred]["stopped"].is_set()


def test_each_solver_gets_its_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The preferred solver runs under its work limit, the other under the clock only."""
    for preferred, other in ((HIGHS, CP_SAT), (CP_SAT, HIGHS)):
        seen = scripted(
            monkeypatch,
            {preferred: ("optimal", [1, 0, 0], D(0)), other: "wait for stop"},
        )
        side_by_side(preferred)
        common = {"time_limit": 9.0, "relative_gap": 0.01, "scale": 100}
        cp_sat = {**common, "workers": 1, "work_limit": 2.5 if preferred == CP_SAT else None}
        highs = {**common, "work_limit": 777 if preferred == HIGHS else None}
        assert {k: v for k, v in seen[CP_SAT].items() if k != "stopped"} == cp_sat
        assert {k: v for k, v in seen[HIGHS].items() if k != "stopped"} == highs


@pytest.mark.parametrize("verdict", ["optimal", "infeasible"])
def test_else_a_proof_of_the_other_solver_with_the_best_bound(
    monkeypatch: pytest.MonkeyPatch, verdict: str
) -> None:
    values = [0, 1, 0] if verdict == "optimal" else None
    scripted(
        monkeypatch,
        {
            HIGHS: ("feasible", [0, 0, 1], D("0.05")),
            CP_SAT: (verdict, values, D("0.20") if values else None),
        },
    )
    bound = D("0.20") if verdict == "optimal" else None  # no bound without values
    assert side_by_side(HIGHS) == (verdict, values, bound, CP_SAT)


def test_else_the_lower_objective_and_the_higher_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(
        monkeypatch,
        {HIGHS: ("feasible", [0, 0, 1], D("0.07")), CP_SAT: ("feasible", [0, 1, 0], D("0.05"))},
    )
    assert side_by_side(HIGHS) == ("feasible", [0, 1, 0], D("0.07"), CP_SAT)  # 20 < 30


def test_a_tie_goes_to_the_preferred_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(
        monkeypatch,
        {HIGHS: ("feasible", [0, 1, 0], None), CP_SAT: ("feasible", [0, 1, 0], D("0.05"))},
    )
    assert side_by_side(HIGHS) == ("feasible", [0, 1, 0], D("0.05"), HIGHS)
    scripted(
        monkeypatch,
        {HIGHS: ("feasible", [0, 0, 1], None), CP_SAT: ("feasible", [0, 1, 0], None)},
    )
    assert side_by_side(CP_SAT) == ("feasible", [0, 1, 0], None, CP_SAT)


def test_only_one_solver_found_values(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch, {HIGHS: ("unknown", None, None), CP_SAT: ("feasible", [1, 1, 0], None)})
    assert side_by_side(HIGHS) == ("feasible", [1, 1, 0], None, CP_SAT)


def test_neither_found_values(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch, {HIGHS: ("unknown", None, None), CP_SAT: ("unknown", None, None)})
    assert side_by_side(HIGHS) == ("unknown", None, None, HIGHS)
    scripted(monkeypatch, {HIGHS: ("unknown", None, None), CP_SAT: ("unknown", None, None)})
    assert side_by_side(CP_SAT) == ("unknown", None, None, CP_SAT)


@pytest.mark.parametrize("failing", [CP_SAT, HIGHS])
def test_an_error_in_either_solver_is_raised_and_stops_the_other(
    monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    other = HIGHS if failing == CP_SAT else CP_SAT
    error = RuntimeError(f"{failing} failed")
    runs: dict[str, Any] = {failing: error, other: "wait for stop"}
    if failing == CP_SAT:  # the preferred HiGHS returns without a proof
        runs[other] = ("feasible", [1, 0, 0], None)
    seen = scripted(monkeypatch, runs)
    with pytest.raises(RuntimeError, match=f"^{re.escape(failing)} failed$"):
        side_by_side(HIGHS)
    if failing == HIGHS:
        assert seen[CP_SAT]["stopped"].is_set()


@pytest.mark.parametrize(("preferred", "other"), [(HIGHS, CP_SAT), (CP_SAT, HIGHS)])
def test_the_stand_in_solver_runs_at_lower_priority(
    monkeypatch: pytest.MonkeyPatch, preferred: str, other: str
) -> None:
    """Only the thread of the solver that is not preferred gives way to other work."""
    seen = scripted(monkeypatch, {preferred: ("optimal", [1, 0, 0], D(0)), other: "wait for stop"})
    lowered: list[int] = []
    monkeypatch.setattr(backends, "_lower_priority", lambda: lowered.append(threading.get_ident()))
    threads: dict[str, int] = {}

    def recording(name: str, scripted_solve: Any) -> Any:
        def solve(lm: LinearModel, **kw: Any) -> Any:
            threads[name] = threading.get_ident()
            return scripted_solve(lm, **kw)

        return solve

    monkeypatch.setattr(backends, "solve_cp_sat", recording(CP_SAT, backends.solve_cp_sat))
    monkeypatch.setattr(backends, "solve_highs", recording(HIGHS, backends.solve_highs))
    assert side_by_side(preferred)[3] == preferred
    assert lowered == [threads[other]]
    assert seen[other]["stopped"].is_set()

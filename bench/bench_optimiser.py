"""Award optimiser at national scale (seeded problems from ``bench/national.py``).

(a) The national drug rule, province allocation and hospital disaggregation end to end:
    60 items, 3 to 39 bids each, 31 provinces, 46,000 hospitals (~920,000 demand lines).
(b) The optimised award, single source per province, capacity shared across items:
    50 items x 20 bidders x 31 provinces x 3,000 hospitals, 60 s limit, CP-SAT beside
    HiGHS (through OR-Tools MathOpt) on the same model in the same run.
Hospitals are aggregated to provinces before solving and disaggregated afterwards.
"""

from __future__ import annotations

from decimal import Decimal

from bench.common import Row, stopwatch
from bench.national import award_scenario, drug_round
from procurement.optimiser.io import problem_from_dict, problem_to_dict
from procurement.optimiser.solve import decide_items, solve

TIME_LIMIT = 60.0


def _gap_percent(gap: Decimal | None) -> float:
    return float(gap * 100) if gap is not None else float("nan")


def run() -> list[Row]:
    rows: list[Row] = []
    problem = drug_round()
    lines = sum(len(d.hospitals) for item in problem.items for d in item.demand)
    with stopwatch() as rules_only:
        decide_items(problem)
    with stopwatch() as end_to_end:
        result = solve(problem)
    rows.append(
        Row(
            benchmark="optimiser (a) national drug rule",
            figure="rules + province allocation + hospitals",
            value=end_to_end[0],
            unit="s",
            baseline="rule layer alone",
            baseline_value=rules_only[0],
            baseline_unit="s",
            note=(
                f"{len(problem.items)} items, {len(problem.bids)} bids, {lines:,} demand lines "
                f"-> {len(result.allocations)} province and "
                f"{len(result.hospital_allocations):,} hospital allocations; {result.run.status}, "
                f"{len(result.run.warnings)} capacity-shortfall warning(s)"
            ),
        )
    )

    document = problem_to_dict(problem)
    with stopwatch() as parse:
        problem_from_dict(document)
    rows.append(
        Row(
            benchmark="optimiser (a) national drug rule",
            figure="JSON document -> checked problem",
            value=parse[0],
            unit="s",
            note=f"problem_from_dict: schema, cross-references, hash; {lines:,} hospital lines",
        )
    )

    outcomes = {}
    for backend in ("cp_sat", "highs"):
        scenario = award_scenario(time_limit=TIME_LIMIT, backend=backend)
        with stopwatch() as seconds:
            outcome = solve(scenario)
        outcomes[backend] = (seconds[0], outcome)
    cp_seconds, cp = outcomes["cp_sat"]
    highs_seconds, highs = outcomes["highs"]

    def describe(name: str, seconds: float, status: str, gap: Decimal | None) -> str:
        if status == "optimal":
            return f"{name} proved optimal in {seconds:.1f} s"
        return f"{name} {status}, gap {_gap_percent(gap):.4f}% at {seconds:.0f} s"

    difference = (
        cp.run.objective - highs.run.objective
        if cp.run.objective is not None and highs.run.objective is not None
        else None
    )
    rows.append(
        Row(
            benchmark="optimiser (b) optimised award 50x20x31",
            figure="CP-SAT (1 worker, LP level 2) time to stop",
            value=cp_seconds,
            unit="s",
            baseline="HiGHS (MathOpt) same model",
            baseline_value=highs_seconds,
            baseline_unit="s",
            note=(
                f"{describe('CP-SAT', cp_seconds, cp.run.status, cp.run.gap)}; "
                f"{describe('HiGHS', highs_seconds, highs.run.status, highs.run.gap)}; "
                f"CP-SAT cost - HiGHS cost = {difference} yuan"
            ),
        )
    )
    rows.append(
        Row(
            benchmark="optimiser (b) optimised award 50x20x31",
            figure="relative gap at stop",
            value=_gap_percent(cp.run.gap),
            unit="%",
            baseline="HiGHS (MathOpt) same model",
            baseline_value=_gap_percent(highs.run.gap),
            baseline_unit="%",
            note=f"objective CP-SAT {cp.run.objective}, HiGHS {highs.run.objective} yuan",
        )
    )
    return rows

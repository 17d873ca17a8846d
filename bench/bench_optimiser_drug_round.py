"""Award optimiser (a): the national drug rule, province allocation and hospital
disaggregation end to end on the seeded ``bench/national.py`` round: 60 items, 3 to 39
bids each, 31 provinces, 46,000 hospitals (~920,000 demand lines).

Run alone: ``python -m bench.run optimiser_drug`` (``optimiser`` runs every optimiser
benchmark: drug round, award 50x20x31, national shape, OR-Library, problem I/O).
"""

from __future__ import annotations

from bench.common import Row, load, stopwatch
from bench.national import drug_round
from procurement.optimiser.io import problem_from_dict, problem_to_dict
from procurement.optimiser.solve import decide_items, solve


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
                f"{len(result.run.warnings)} capacity-shortfall warning(s); {load()}"
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
    return rows

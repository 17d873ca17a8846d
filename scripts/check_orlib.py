"""Check the optimised award mode against OR-Library instances with known optima.

    python scripts/check_orlib.py [--data ../shared/data/orlib]
                                  [--backend auto|cp_sat|highs|both|all]
                                  [--time-limit 60]

Each instance is converted into the documented JSON problem format (optimised award
kind: per (bid, region) costs, capacities, fixed award costs, single sourcing), checked
by ``problem_from_dict`` and solved by ``solve``; nothing reaches the solver any other
way.

* ``sscflp_cap71.txt``, single-source capacitated facility location: a facility is a
  bid (unit price 0, capacity, fixed award cost = opening cost), a customer is a region
  whose demand must come from one facility, and the cost of serving a customer entirely
  from a facility is the (bid, region) ``fixed`` cost. Known optimum 932615.75.
* ``gap12.txt``, five generalized assignment problems (maximise profit): an agent is a
  bid with a capacity, a job is a region with demand 1, job j on agent i uses r_ij of its
  capacity (``capacity_use_per_unit``) and costs ``K - p_ij`` with K the largest profit,
  so minimum cost = 60 K - maximum profit. Known optima 1451, 1449, 1433, 1447, 1446.

The files are reference data: read, never copied into the project.
"""

from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from procurement.optimiser import PRESETS, problem_from_dict, solve

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared/data/orlib"
GAP_OPTIMA = (1451, 1449, 1433, 1447, 1446)


def _rule_set(backend: str, time_limit: float) -> dict[str, Any]:
    preset = PRESETS["optimised-award"]
    parameters = preset.copy_parameters()
    parameters.update(
        {
            "min_winners_per_item": 1,
            "max_winners_per_item": None,
            "single_source_per_region": True,
            "time_limit_seconds": time_limit,
            "backend": backend,
        }
    )
    return {"kind": preset.kind, "name": "orlib", "version": "1", "parameters": parameters}


def _number(token: str) -> str:
    """OR-Library writes '6051.70000' and '146.0': keep the value exactly, as a string."""
    value = Decimal(token).normalize()
    return format(value, "f")


def sscflp_problem(path: Path, backend: str, time_limit: float) -> tuple[dict[str, Any], Decimal]:
    tokens = path.read_text(encoding="ascii").split()
    facilities, customers = int(tokens[0]), int(tokens[1])
    at = 2
    bids = []
    for f in range(facilities):
        capacity, fixed = tokens[at], tokens[at + 1]
        at += 2
        bids.append(
            {
                "id": f"F{f + 1:02d}",
                "supplier": f"F{f + 1:02d}",
                "item": "cap71",
                "unit_price": "0",
                "capacity": int(Decimal(capacity)),
                "fixed_award_cost": _number(fixed),
            }
        )
    demand = [
        {"region": f"C{c + 1:02d}", "quantity": int(Decimal(tokens[at + c]))}
        for c in range(customers)
    ]
    at += customers
    region_costs = []
    for f in range(facilities):
        for c in range(customers):
            region_costs.append(
                {"bid": f"F{f + 1:02d}", "region": f"C{c + 1:02d}", "fixed": _number(tokens[at])}
            )
            at += 1
    optimum = Decimal(tokens[at])
    document = {
        "format": "jicai.optimiser.problem/1",
        "rule_set": _rule_set(backend, time_limit),
        "items": [{"id": "cap71", "name": "cap71", "max_valid_bid_price": "1", "demand": demand}],
        "bids": bids,
        "region_costs": region_costs,
    }
    return document, optimum


def gap_problems(path: Path, backend: str, time_limit: float) -> list[tuple[dict[str, Any], int]]:
    tokens = [int(t) for t in path.read_text(encoding="ascii").split()]
    count, at = tokens[0], 1
    problems = []
    for instance in range(count):
        agents, jobs = tokens[at], tokens[at + 1]
        at += 2
        profit = [tokens[at + i * jobs : at + (i + 1) * jobs] for i in range(agents)]
        at += agents * jobs
        use = [tokens[at + i * jobs : at + (i + 1) * jobs] for i in range(agents)]
        at += agents * jobs
        capacity = tokens[at : at + agents]
        at += agents
        top = max(max(row) for row in profit)
        document = {
            "format": "jicai.optimiser.problem/1",
            "rule_set": _rule_set(backend, time_limit),
            "items": [
                {
                    "id": f"gap12-{instance + 1}",
                    "name": f"gap12 instance {instance + 1}",
                    "max_valid_bid_price": "1",
                    "demand": [{"region": f"J{j + 1:02d}", "quantity": 1} for j in range(jobs)],
                }
            ],
            "bids": [
                {
                    "id": f"A{i + 1:02d}",
                    "supplier": f"A{i + 1:02d}",
                    "item": f"gap12-{instance + 1}",
                    "unit_price": "0",
                    "capacity": capacity[i],
                }
                for i in range(agents)
            ],
            "region_costs": [
                {
                    "bid": f"A{i + 1:02d}",
                    "region": f"J{j + 1:02d}",
                    "per_unit": str(top - profit[i][j]),
                    "capacity_use_per_unit": use[i][j],
                }
                for i in range(agents)
                for j in range(jobs)
            ],
        }
        problems.append((document, jobs * top))
    return problems


def check(
    data: Path, backend: str, time_limit: float, out: Any = sys.stdout
) -> list[dict[str, Any]]:
    """Solve every instance; return one row per instance (value found, known optimum)."""
    rows = []
    document, optimum = sscflp_problem(data / "sscflp_cap71.txt", backend, time_limit)
    started = time.perf_counter()
    result = solve(problem_from_dict(document))
    seconds = time.perf_counter() - started
    found = result.run.objective
    rows.append(
        {
            "instance": "sscflp cap71",
            "backend": backend,
            "status": result.run.status,
            "value": found,
            "known": optimum,
            # The published optimum is rounded to one decimal.
            "match": found is not None and abs(found - optimum) <= Decimal("0.05"),
            "seconds": seconds,
        }
    )
    for document, offset in gap_problems(data / "gap12.txt", backend, time_limit):
        started = time.perf_counter()
        result = solve(problem_from_dict(document))
        seconds = time.perf_counter() - started
        cost = result.run.objective
        profit = None if cost is None else offset - cost
        index = len(rows) - 1
        rows.append(
            {
                "instance": f"gap12 #{index + 1}",
                "backend": backend,
                "status": result.run.status,
                "value": profit,
                "known": Decimal(GAP_OPTIMA[index]),
                "match": profit == GAP_OPTIMA[index],
                "seconds": seconds,
            }
        )
    for row in rows:
        print(
            f"{row['instance']:<14} {row['backend']:<7} {row['status']:<9} "
            f"found {row['value']}  known {row['known']}  "
            f"{'MATCH' if row['match'] else 'DIFFERENT'}  {row['seconds']:.1f} s",
            file=out,
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--backend", choices=["auto", "cp_sat", "highs", "both", "all"], default="all"
    )
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args(argv)
    backends = {"both": ["cp_sat", "highs"], "all": ["auto", "cp_sat", "highs"]}.get(
        args.backend, [args.backend]
    )
    ok = True
    for backend in backends:
        rows = check(args.data, backend, args.time_limit)
        ok = ok and all(r["match"] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

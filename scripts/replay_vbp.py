"""Replay the national drug rule on the published bids of batch 2.

    python scripts/replay_vbp.py [--csv ../shared/data/vbp/batch2_bids.csv]

Each tender becomes one item of a problem in the documented JSON format (rule set
``national-drug-batch-2``: batch-2 cap table; N counts every company that bid, including
those above the ceiling). The script solves it and prints every drug as MATCH or
MISMATCH against the published winners, with the rule's reasoning for each mismatch.
The file is reference data: it is read, never copied into the project.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from procurement.optimiser import PRESETS, problem_from_dict, solve

DEFAULT_CSV = Path(__file__).resolve().parent.parent.parent / "shared/data/vbp/batch2_bids.csv"
EXPECTED_MISMATCHES = {"16", "24", "26", "30"}


def _strength_mg(spec: str) -> str:
    """'0.25g' -> '250', '20mg' -> '20': strengths in one unit for the comparable price."""
    match = re.fullmatch(r"([\d.]+)\s*(mg|g)", spec.strip())
    if not match:
        raise ValueError(f"unknown specification {spec!r}")
    value = Decimal(match.group(1)) * (1000 if match.group(2) == "g" else 1)
    return format(value.normalize(), "f")


def _price(text: str) -> str:
    """Published per-unit prices are pack prices divided by pack counts (0.0344999...);
    the rule compares unit comparable prices at 4 decimals, as they are published."""
    return str(Decimal(text).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def build_problem(rows: list[dict[str, str]]) -> tuple[dict[str, Any], dict[str, set[str]]]:
    preset = PRESETS["national-drug-batch-2"]
    items: list[dict[str, Any]] = []
    bids: list[dict[str, Any]] = []
    published: dict[str, set[str]] = {}
    by_tender: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_tender.setdefault(row["tender_no"], []).append(row)
    for tender, tender_rows in sorted(by_tender.items(), key=lambda kv: int(kv[0])):
        item_id = f"T{int(tender):02d}"
        specs = Counter(r["spec"] for r in tender_rows)
        # The representative specification: the one most bids use (ties: listed first).
        representative = max(specs, key=lambda s: (specs[s], -list(specs).index(s)))
        items.append(
            {
                "id": item_id,
                "name": tender_rows[0]["drug"],
                "max_valid_bid_price": _price(tender_rows[0]["ceiling_price_per_unit"]),
                "representative_specification": representative,
                "specifications": [
                    {"id": s, "strength": _strength_mg(s), "oral_solid": True} for s in specs
                ],
                "demand": [],
            }
        )
        published[item_id] = set()
        for position, row in enumerate(tender_rows, start=1):
            bid_id = f"{item_id}-{position:02d}"
            if row["won"] == "1":
                published[item_id].add(bid_id)
            bids.append(
                {
                    "id": bid_id,
                    "supplier": row["company_short"],
                    "item": item_id,
                    "specification": row["spec"],
                    "unit_price": _price(row["bid_price_per_unit"]),
                    # The data record no tie-break attribute; the published listing order
                    # stands in for the published order (it decides only tender 9's tie).
                    "tie_break_rank": position,
                }
            )
    problem = {
        "format": "jicai.optimiser.problem/1",
        "rule_set": {
            "kind": preset.kind,
            "name": preset.name,
            "version": preset.version,
            "parameters": preset.copy_parameters(),
        },
        "items": items,
        "bids": bids,
    }
    return problem, published


def replay(csv_path: Path, out: Any = sys.stdout) -> tuple[int, int, list[str]]:
    with csv_path.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["batch"] == "2"]
    document, published = build_problem(rows)
    result = solve(problem_from_dict(document))
    names = {i["id"]: i["name"] for i in document["items"]}
    suppliers = {b["id"]: b["supplier"] for b in document["bids"]}
    matched, mismatched = 0, []
    for item in result.items:
        ours = set(item.winners)
        theirs = published[item.item]
        if ours == theirs:
            matched += 1
            print(f"MATCH     {item.item} {names[item.item]}: {len(ours)} winners", file=out)
            continue
        mismatched.append(item.item)
        print(f"MISMATCH  {item.item} {names[item.item]}", file=out)
        for outcome in (b for b in result.bids if b.item == item.item):
            if (outcome.bid in ours) != (outcome.bid in theirs):
                said = "won" if outcome.bid in theirs else "lost"
                print(
                    f"    {suppliers[outcome.bid]} ({outcome.bid}): published {said}; "
                    f"rule says {outcome.status}: {outcome.reason}",
                    file=out,
                )
    total = len(result.items)
    print(f"{matched} of {total} drugs match the published winners", file=out)
    return matched, total, mismatched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    args = parser.parse_args(argv)
    _, _, mismatched = replay(args.csv)
    unexpected = sorted(set(mismatched) - {f"T{int(t):02d}" for t in EXPECTED_MISMATCHES})
    if unexpected:
        print(f"unexpected mismatches: {', '.join(unexpected)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run every ``bench/bench_*.py`` module and print one table of figures.

Usage: ``python -m bench.run [name ...]`` (names filter modules by substring).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from bench.common import Row


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}" if value < 1 else f"{value:,.2f}"


def main(argv: list[str]) -> int:
    folder = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    )
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    rows: list[Row] = []
    failed = 0
    for name in names:
        print(f"running bench/{name}.py ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            rows.extend(module.run())
        except Exception:  # a failing benchmark is reported, the others still run
            failed += 1
            traceback.print_exc()
    header = (
        "benchmark",
        "figure",
        "value",
        "unit",
        "baseline (same run)",
        "value",
        "unit",
        "note",
    )
    table = [header] + [
        (
            r.benchmark,
            r.figure,
            _fmt(r.value),
            r.unit,
            r.baseline,
            _fmt(r.baseline_value),
            r.baseline_unit,
            r.note,
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    if not rows:
        print("(no benchmark figures)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

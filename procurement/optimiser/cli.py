"""Command line: ``python -m procurement.optimiser PROBLEM.json --out RESULT.json``.

Exit status 0 when solved (whatever the award status, infeasible included: that is an
answer), 2 when the problem document is invalid (errors printed as ``path: message``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from procurement.optimiser.io import (
    ProblemError,
    load_problem_json,
    problem_from_dict,
    result_to_dict,
)
from procurement.optimiser.solve import solve


class Writer(Protocol):
    """Where messages go: ``sys.stderr``, or a Django command's ``self.stderr``."""

    def write(self, text: str, /) -> object: ...


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optimise", description="Evaluate bids and allocate volume (Jicai award optimiser)."
    )
    parser.add_argument("problem", help="problem JSON file (format jicai.optimiser.problem/1)")
    parser.add_argument("--out", help="write the result JSON here instead of standard output")
    parser.add_argument(
        "--no-timing",
        action="store_true",
        help="leave out the timing section, so equal inputs give byte-identical files",
    )
    return parser


def run(problem_path: str, out: str | None, *, timing: bool, stderr: Writer | None = None) -> int:
    err = stderr if stderr is not None else sys.stderr
    try:
        document = load_problem_json(Path(problem_path).read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.write(f"cannot read {problem_path}: {exc}\n")
        return 2
    try:
        problem = problem_from_dict(document)
    except ProblemError as exc:
        err.write(f"{exc}\n")
        return 2
    result = solve(problem)
    text = json.dumps(result_to_dict(result, include_timing=timing), ensure_ascii=False, indent=2)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
        winners = sum(1 for b in result.bids if b.status == "won")
        summary = (
            f"{result.run.status}: {winners} winning bids, total cost {result.totals.cost} -> {out}"
        )
        err.write(f"{summary}\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args.problem, args.out, timing=not args.no_timing)

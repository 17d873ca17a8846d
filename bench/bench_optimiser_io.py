"""Optimiser problem I/O at national size: the national-shape problem of
``bench/national.py`` (55 drugs, 790 bids, ~25,000 region costs, ~10^6 demand lines).

* write: ``problem_to_json`` (readable, one hospital per line) beside the former way,
  ``json.dumps(problem_to_dict(problem))`` of the same problem (compact: ~77 MB);
* read and validate: ``problem_from_json`` (parse, schema and cross-reference checks,
  dataclasses, input hash) beside parsing alone with the standard library;
* input hash: ``problem_canonical`` (canonical bytes and SHA-256 in one pass) beside
  ``canonical_json(problem_to_dict(problem))`` (the former way; the bytes are checked
  equal).
Goals: read and validate <= 5 s, write <= 3 s (quiet machine).

Run alone: ``python -m bench.run optimiser_io``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from bench.common import Row, load, stopwatch
from bench.national import national_award
from procurement.optimiser.io import (
    canonical_json,
    problem_canonical,
    problem_from_json,
    problem_to_dict,
    problem_to_json,
)


def run() -> list[Row]:
    problem = national_award()
    lines = sum(len(d.hospitals) for item in problem.items for d in item.demand)
    benchmark = "optimiser problem I/O, national size"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "national.json"
        with stopwatch() as write:
            path.write_bytes(problem_to_json(problem))
        size = path.stat().st_size
        with stopwatch() as former_write:
            compact = json.dumps(problem_to_dict(problem), ensure_ascii=False).encode("utf-8")
        with stopwatch() as read:
            parsed = problem_from_json(path.read_bytes())
        with stopwatch() as stdlib_parse:
            json.loads(path.read_bytes(), parse_float=str)
    with stopwatch() as canonical:
        fast = problem_canonical(problem)
    with stopwatch() as former_canonical:
        former = canonical_json(problem_to_dict(problem)).encode("utf-8")
    same = fast.data == former and fast.input_hash == hashlib.sha256(former).hexdigest()
    return [
        Row(
            benchmark=benchmark,
            figure="write problem_to_json -> file",
            value=write[0],
            unit="s",
            baseline="json.dumps(problem_to_dict) (former)",
            baseline_value=former_write[0],
            baseline_unit="s",
            note=(
                f"{size / 1e6:.1f} MB readable file; former compact document "
                f"{len(compact) / 1e6:.1f} MB; {lines:,} demand lines; goal <= 3 s; {load()}"
            ),
        ),
        Row(
            benchmark=benchmark,
            figure="read + validate problem_from_json",
            value=read[0],
            unit="s",
            baseline="json.loads alone (standard library)",
            baseline_value=stdlib_parse[0],
            baseline_unit="s",
            note=(
                "parse (orjson), schema and cross-reference checks, dataclasses, input hash; "
                f"read back with the same input hash: {parsed.input_hash == fast.input_hash}; "
                "goal <= 5 s"
            ),
        ),
        Row(
            benchmark=benchmark,
            figure="canonical bytes + input hash (problem_canonical)",
            value=canonical[0],
            unit="s",
            baseline="canonical_json(problem_to_dict) (former)",
            baseline_value=former_canonical[0],
            baseline_unit="s",
            note=f"{len(fast.data) / 1e6:.1f} MB canonical bytes; byte-identical: {same}",
        ),
    ]

"""Award optimiser on OR-Library instances with known optima, through the JSON format:
single-source capacitated facility location ``cap71`` and the five generalized
assignment problems of ``gap12`` (``scripts/check_orlib.py`` converts them). The
project's default (backend ``auto``) beside HiGHS on the same documents, same run.

The instances are read at run time from ``../shared/data/orlib`` (reference data,
never copied into the project); without them the benchmark says so and adds no figure.

Run alone: ``python -m bench.run optimiser_orlib``.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType

from bench.common import Row, load

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "orlib"


def _check_orlib() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_orlib", ROOT / "scripts/check_orlib.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run() -> list[Row]:
    if not (DATA / "sscflp_cap71.txt").exists():
        print(f"bench_optimiser_orlib: no OR-Library data in {DATA}; skipped")
        return []
    check = _check_orlib()
    found = {b: check.check(DATA, b, 60.0, io.StringIO()) for b in ("auto", "highs")}
    rows = []
    for auto, highs in zip(found["auto"], found["highs"], strict=True):
        rows.append(
            Row(
                benchmark="optimiser OR-Library via JSON",
                figure=f"{auto['instance']}: default (auto) time to optimum",
                value=auto["seconds"],
                unit="s",
                baseline="HiGHS, same document",
                baseline_value=highs["seconds"],
                baseline_unit="s",
                note=(
                    f"found {auto['value']} ({auto['status']}), HiGHS {highs['value']} "
                    f"({highs['status']}), known {auto['known']}: "
                    f"{'MATCH' if auto['match'] and highs['match'] else 'DIFFERENT'}; {load()}"
                ),
            )
        )
    return rows

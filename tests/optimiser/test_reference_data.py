"""Checks against published data and known optima (they read ../shared/data)."""

import importlib.util
import io
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.reference_data
def test_batch2_replay_matches_28_of_32_drugs_and_explains_the_other_four() -> None:
    replay = load_script("replay_vbp")
    out = io.StringIO()
    matched, total, mismatched = replay.replay(SHARED / "vbp" / "batch2_bids.csv", out)
    assert (matched, total) == (28, 32)
    assert mismatched == ["T16", "T24", "T26", "T30"]
    text = out.getvalue()
    assert (
        "华润赛科 (T24-02): published won; rule says invalid: 0.4836 is above the maximum "
        "valid bid price 0.3788"
    ) in text
    assert "28 of 32 drugs match the published winners" in text


@pytest.mark.reference_data
@pytest.mark.parametrize("backend", ["auto", "cp_sat", "highs"])
def test_orlib_instances_reach_their_known_optima(backend: str) -> None:
    check = load_script("check_orlib")
    rows = check.check(SHARED / "orlib", backend, 60.0, io.StringIO())
    assert [r["instance"] for r in rows] == [
        "sscflp cap71",
        "gap12 #1",
        "gap12 #2",
        "gap12 #3",
        "gap12 #4",
        "gap12 #5",
    ]
    assert rows[0]["value"] == Decimal("932615.75")
    assert [r["value"] for r in rows[1:]] == [1451, 1449, 1433, 1447, 1446]
    assert {r["status"] for r in rows} == {"optimal"}

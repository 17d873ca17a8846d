"""An evaluation cut into chunks and merged (``procurement.optimiser.fanout``) gives the
result document of the single-process ``solve`` byte for byte, for every per-item rule
kind, 1, 2 and 7 chunks and any order of the parts."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench.national import drug_round
from procurement.optimiser import result_to_dict, solve
from procurement.optimiser.canonical import with_input_hash
from procurement.optimiser.fanout import (
    fans_out,
    item_chunks,
    part_from_bytes,
    part_to_bytes,
    solve_in_chunks,
    sub_problem,
    sub_problem_bytes,
    sub_problem_from_bytes,
    whole_digits,
)
from procurement.optimiser.io import problem_from_dict
from procurement.optimiser.model import Problem
from procurement.optimiser.presets import PRESETS
from procurement.optimiser.solve import merge_parts, solve_items

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "optimiser"


def _drug(preset: str, items: int = 11, seed: int = 7) -> Problem:
    problem = drug_round(seed=seed, items=items, hospitals=300)
    p = PRESETS[preset]
    rule_set = dataclasses.replace(
        problem.rule_set,
        kind=p.kind,
        parameters=p.copy_parameters(),
        name=p.name,
        version=p.version,
    )
    # the generator's preferences may name a province without demand at this small size
    regions = {i.id: {d.region for d in i.demand} for i in problem.items}
    bids = tuple(
        dataclasses.replace(
            b, region_preferences=tuple(r for r in b.region_preferences if r in regions[b.item])
        )
        for b in problem.bids
    )
    return with_input_hash(dataclasses.replace(problem, rule_set=rule_set, bids=bids))


def _replicated(example: str, copies: int) -> Problem:
    """The example's items ``copies`` times, under other ids (bids renamed everywhere)."""
    document = json.loads((EXAMPLES / example).read_text())
    items: list[Any] = []
    bids: list[Any] = []
    for c in range(copies):
        rename = {b["id"]: f"{b['id']}-{c}" for b in document["bids"]}
        text = json.dumps(document["items"])
        for old, new in sorted(rename.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(f'"{old}"', f'"{new}"')
        copied = json.loads(text)
        for item in copied:
            item["id"] = f"{item['id']}-{c:02d}"
        items += copied
        for bid in document["bids"]:
            bids.append({**bid, "id": rename[bid["id"]], "item": f"{bid['item']}-{c:02d}"})
    return problem_from_dict({**document, "items": items, "bids": bids})


def _per_item_problems() -> list[tuple[str, Problem]]:
    return [
        ("national_drug", _drug("national-drug-batch-4")),
        ("national_drug_batch10", _drug("national-drug-batch-10", seed=11)),
        ("consumables_groups", _replicated("consumables_joints.json", 9)),
        ("renewal", _replicated("stent_renewal.json", 8)),
    ]


def _bytes(result: Any) -> bytes:
    return orjson.dumps(result_to_dict(result, include_timing=False), option=orjson.OPT_SORT_KEYS)


@pytest.mark.parametrize(
    "name,problem", _per_item_problems(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_chunks_merge_to_the_single_process_result_byte_for_byte(
    name: str, problem: Problem
) -> None:
    assert problem.rule_set.kind == name and fans_out(problem)
    single = _bytes(solve(problem))
    for n in (1, 2, 7):
        chunks = item_chunks(problem, n)
        assert len(chunks) == min(n, len(problem.items))
        assert [i for c in chunks for i in c] == [i.id for i in problem.items]
        assert _bytes(solve_in_chunks(problem, n)) == single, f"{n} chunks"


def test_parts_merged_in_any_order_give_the_same_bytes() -> None:
    problem = _drug("national-drug-batch-4", items=9, seed=3)
    digits = whole_digits(problem)
    parts = [solve_items(sub_problem(problem, c), digits) for c in item_chunks(problem, 7)]
    random.Random(5).shuffle(parts)
    assert _bytes(merge_parts(problem, parts)) == _bytes(solve(problem))


def test_a_part_and_a_chunks_problem_read_back_equal() -> None:
    problem = _drug("national-drug-batch-4", items=5, seed=2)
    chunk = item_chunks(problem, 2)[1]
    data, input_hash = sub_problem_bytes(problem, chunk)
    read = sub_problem_from_bytes(data)
    assert read.input_hash == input_hash
    expected = sub_problem(problem, chunk)
    assert (read.items, read.bids, read.region_costs, read.regions) == (
        expected.items,
        expected.bids,
        expected.region_costs,
        expected.regions,
    )
    assert [i.id for i in read.items] == list(chunk)
    part = solve_items(read, whole_digits(problem))
    assert dataclasses.replace(part_from_bytes(part_to_bytes(part)), seconds=0) == (
        dataclasses.replace(part, seconds=0)
    )


def test_the_whole_problems_money_scale_is_used_not_the_chunks() -> None:
    """A chunk whose prices have fewer decimals than the whole problem's still solves
    with the whole problem's scale: the part it gives is what ``solve`` gives."""
    problem = _drug("national-drug-batch-4", items=4, seed=9)
    first = problem.items[0].id
    bids = tuple(
        dataclasses.replace(b, unit_price=b.unit_price.quantize(1) or b.unit_price)
        if b.item == first
        else b
        for b in problem.bids
    )
    problem = with_input_hash(dataclasses.replace(problem, bids=bids))
    assert _bytes(solve_in_chunks(problem, 4)) == _bytes(solve(problem))


def test_a_merge_missing_an_item_is_refused() -> None:
    problem = _drug("national-drug-batch-4", items=4, seed=1)
    digits = whole_digits(problem)
    parts = [solve_items(sub_problem(problem, c), digits) for c in item_chunks(problem, 2)]
    with pytest.raises(ValueError, match="every item"):
        merge_parts(problem, parts[:1])
    with pytest.raises(ValueError, match="every item"):
        merge_parts(problem, [parts[0], *parts])


def test_the_optimised_award_is_never_cut() -> None:
    problem = problem_from_dict(json.loads((EXAMPLES / "optimised_award.json").read_text()))
    assert not fans_out(problem)
    with pytest.raises(ValueError, match="couples its items"):
        solve_in_chunks(problem, 2)


def test_a_preference_for_a_province_without_demand_is_passed_over() -> None:
    """The generator's bids may prefer a province where the item has no demand (the JSON
    reader refuses such a problem; a Python-built one reached a KeyError in the draft).
    Passing it over allocates exactly as if it had not been listed."""
    problem = drug_round(seed=7, items=11, hospitals=300)
    regions = {i.id: {d.region for d in i.demand} for i in problem.items}
    assert any(r not in regions[b.item] for b in problem.bids for r in b.region_preferences), (
        "the seed no longer produces a preference without demand"
    )
    filtered = with_input_hash(
        dataclasses.replace(
            problem,
            bids=tuple(
                dataclasses.replace(
                    b,
                    region_preferences=tuple(
                        r for r in b.region_preferences if r in regions[b.item]
                    ),
                )
                for b in problem.bids
            ),
        )
    )
    got, expected = solve(problem), solve(filtered)
    assert [(a.item, a.bid, a.region, a.quantity, a.source) for a in got.allocations] == [
        (a.item, a.bid, a.region, a.quantity, a.source) for a in expected.allocations
    ]
    assert got.allocations

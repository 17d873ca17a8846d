"""Structured reasons: every outcome carries codes with parameters, the English ``reason``
is derived from them by one formatter, and the result format documents every code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from procurement.optimiser import problem_from_dict, result_to_dict, solve
from procurement.optimiser.io import load_schema
from procurement.optimiser.model import BidOutcome
from procurement.optimiser.reasons import (
    ALLOCATION_SOURCES,
    REASON_CODES,
    ReasonPart,
    format_reason,
    part,
)
from tests.optimiser.conftest import bids_at, problem, provinces

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "optimiser"

# Written by the rule layer for the optimised award and always replaced by the optimiser's
# own verdict before a result is returned.
RULE_LAYER_ONLY = {"awaiting_optimiser"}


def _crafted_problems() -> list[dict[str, Any]]:
    """Small problems that between them reach the codes the examples do not."""
    same_supplier = bids_at("0.0500", "0.0600", "0.0500")
    same_supplier[1]["supplier"] = "S-B1"  # B1 and B2 from one supplier; B1 and B3 tie
    ineligible = bids_at("0.0500", "0.0600")
    ineligible[1]["eligible"] = False
    declined = bids_at("0.5000", "0.9900")
    by_ratio = bids_at("0.5000", "0.9900")
    by_ratio[1]["accepts_price_adjustment"] = True
    specification = bids_at("0.5000", "0.7000")
    specification[0]["specification"] = "1mg"
    specification[1]["specification"] = "2mg"
    return [
        problem("national-drug-batch-4", same_supplier, demand=provinces(2)),
        problem("national-drug-batch-4", ineligible, demand=provinces(1)),
        # 0.0900 is 4.5 x 0.0200 but at most 0.10 per unit
        problem("national-drug-batch-4", bids_at("0.0200", "0.0900"), demand=provinces(2)),
        problem("national-drug-batch-10", declined, demand=provinces(2)),
        problem(
            "national-drug-batch-10",
            by_ratio,
            demand=provinces(2),
            parameters={"adjusted_price": "ratio_to_lowest"},
        ),
        problem(
            "national-drug-batch-11",
            bids_at("2.0000", "2.1000", "4.0000", "4.5000"),
            ceiling="5.0000",
            demand=provinces(3),
        ),
        problem("national-drug-batch-4", bids_at("0.5000", "0.9900"), demand=provinces(2)),
        problem(
            "national-drug-batch-4",
            specification,
            demand=provinces(1),
            item={
                "specifications": [
                    {"id": "1mg", "strength": "1"},
                    {"id": "2mg", "strength": "2", "max_valid_bid_price": "0.6000"},
                ],
                "representative_specification": "1mg",
            },
        ),
    ]


def emitted_outcomes() -> list[BidOutcome]:
    """Bid outcomes of every documented example and of the crafted problems."""
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json"))]
    outcomes: list[BidOutcome] = []
    for document in [*documents, *_crafted_problems()]:
        outcomes.extend(solve(problem_from_dict(document)).bids)
    return outcomes


def test_every_reason_code_is_emitted_by_some_problem() -> None:
    emitted = {p.code for o in emitted_outcomes() for p in o.reason_parts}
    assert emitted == REASON_CODES - RULE_LAYER_ONLY


def test_the_english_reason_is_the_formatted_parts() -> None:
    for outcome in emitted_outcomes():
        assert outcome.reason_parts, outcome
        assert outcome.reason == format_reason(outcome.reason_parts)
        assert "{" not in outcome.reason


def test_a_tied_winner_reads_as_before_and_its_parts_carry_the_numbers() -> None:
    bids = bids_at("0.5000", "0.9900", "0.5000")
    result = solve(problem_from_dict(problem("national-drug-batch-4", bids, demand=provinces(2))))
    tied = next(b for b in result.bids if b.bid == "B1")
    assert tied.reason == (
        "rank 1 of 3 valid bids, cap 2 for 3 bidders; 1.00 x the lowest 0.5000, limit 1.8 "
        "(tied at 0.5000 with B3; ties ordered by tie_break_rank, capacity_desc, bid_id)"
    )
    assert [p.to_dict() for p in tied.reason_parts] == [
        {"code": "rank", "params": {"bidders": 3, "cap": 2, "rank": 1, "valid_bids": 3}},
        {
            "code": "ratio_to_lowest_within",
            "params": {"limit": "1.8", "lowest": "0.5000", "ratio": "1.00"},
        },
        {
            "code": "tied",
            "params": {
                "bids": ["B3"],
                "order": ["tie_break_rank", "capacity_desc", "bid_id"],
                "price": "0.5000",
            },
        },
    ]


def test_a_failing_candidate_lists_every_condition_it_failed() -> None:
    document = problem("national-drug-batch-4", bids_at("0.5000", "0.9900"), demand=provinces(2))
    result = solve(problem_from_dict(document))
    lost = next(b for b in result.bids if b.bid == "B2")
    assert lost.status == "lost"
    assert [p.code for p in lost.reason_parts] == [
        "rank",
        "ratio_to_lowest_above",
        "unit_price_above",
        "cut_from_ceiling_short",
    ]
    assert lost.reason == (
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 1.98 x the lowest 0.5000, limit 1.8; "
        "0.9900 per unit is above 0.10; cuts 1.0% from the maximum valid bid price 1.0000, "
        "needs 50.0%"
    )


def test_result_document_carries_the_parts_and_matches_the_schema() -> None:
    document = problem("national-drug-batch-4", bids_at("0.5000", "0.9900"), demand=provinces(2))
    result = result_to_dict(solve(problem_from_dict(document)), include_timing=False)
    assert list(Draft202012Validator(load_schema("result")).iter_errors(result)) == []
    b2 = next(b for b in result["bids"] if b["id"] == "B2")
    assert b2["reason_parts"][1] == {
        "code": "ratio_to_lowest_above",
        "params": {"limit": "1.8", "lowest": "0.5000", "ratio": "1.98"},
    }
    # JSON data only: strings, integers and lists of strings.
    json.dumps(result, allow_nan=False)


def test_schema_enumerates_exactly_the_reason_codes() -> None:
    bid = load_schema("result")["properties"]["bids"]["items"]
    codes = bid["properties"]["reason_parts"]["items"]["properties"]["code"]["enum"]
    assert sorted(codes) == sorted(REASON_CODES)
    assert len(codes) == len(set(codes))


def test_schema_rejects_an_undocumented_code() -> None:
    document = problem("national-drug-batch-4", bids_at("0.5000"), demand=provinces(1))
    result = result_to_dict(solve(problem_from_dict(document)), include_timing=False)
    result["bids"][0]["reason_parts"][0]["code"] = "made_up"
    assert list(Draft202012Validator(load_schema("result")).iter_errors(result))


def test_part_rejects_an_unknown_code_and_keeps_decimals_exact() -> None:
    from decimal import Decimal

    with pytest.raises(ValueError, match="unknown reason code 'made_up'"):
        part("made_up")
    assert part("above_ceiling", price=Decimal("0.4200"), ceiling=Decimal("1E+1")).params == {
        "price": "0.4200",
        "ceiling": "10",
    }


def test_formatter_groups_units_and_puts_ties_in_brackets() -> None:
    parts = (
        part("optimiser_awarded", regions=2, units=1234567, price="0.5000"),
        part("tied", price="0.5000", bids=["B2", "B3"], order=["bid_id"]),
    )
    assert format_reason(parts) == (
        "awarded by the optimiser: 2 region(s), 1,234,567 units at 0.5000 "
        "(tied at 0.5000 with B2, B3; ties ordered by bid_id)"
    )
    assert format_reason(()) == ""
    assert ReasonPart("rank", {"rank": 1}) == ReasonPart("rank", {"rank": 1})


def test_every_allocation_source_is_a_documented_constant() -> None:
    sources = {a.source for d in _all_results() for a in d.allocations}
    assert sources <= ALLOCATION_SOURCES
    assert len(sources) >= 4


def _all_results() -> list[Any]:
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json"))]
    return [solve(problem_from_dict(d)) for d in [*documents, *_crafted_problems()]]

"""Run messages: warnings, infeasibility explanations and the constraints a scenario
comparison relaxes are codes with parameters; the English text of the result document is
derived from them by one formatter, and the schema lists every code."""

from __future__ import annotations

import string

import pytest
from jsonschema import Draft202012Validator

from procurement.optimiser import optimised, problem_from_dict, result_to_dict, solve
from procurement.optimiser.allocation import Pricing
from procurement.optimiser.io import load_schema
from procurement.optimiser.model import Result
from procurement.optimiser.reasons import (
    MESSAGE_CODES,
    MESSAGE_ENGLISH,
    REASON_CODES,
    format_message,
    message,
    message_record,
)
from procurement.optimiser.scenarios import _relaxations, compare_scenarios, comparison_to_dict
from procurement.optimiser.solve import decide_items, money_scale_digits
from tests.optimiser.conftest import bids_at, problem
from tests.optimiser.test_optimised_award import award_problem
from tests.optimiser.test_scenarios import preset_rule_set

WARNING_CODES = {"capacity_shortfall", "unmet_demand"}
TIME_LIMIT_CODES = {"no_solution_within_time"}
RELAX_CODES = {c for c in MESSAGE_CODES if c.startswith(("relax_", "relaxed_"))}
BACKEND_CODES = {c for c in MESSAGE_CODES if c.startswith("backend_")}
CONSTRAINT_CODES = MESSAGE_CODES - WARNING_CODES - TIME_LIMIT_CODES - RELAX_CODES - BACKEND_CODES


def _shortfall_result() -> Result:
    bids = bids_at("1.00", "1.01")
    bids[0]["capacity"] = 50
    bids[1]["capacity"] = 50
    demand = [
        {"region": "P01", "quantity": 100},
        {"region": "P02", "quantity": 1000},
        {"region": "P03", "quantity": 1000},
    ]
    document = problem("national-drug-batch-4", bids, ceiling="2.0000", demand=demand)
    return solve(problem_from_dict(document))


def _model_codes(**parameters: object) -> set[str]:
    """The codes naming the constraint groups of an optimised-award model."""
    document = award_problem(**parameters)
    document["suppliers"] = [{"id": "S-B1", "capacity": 400}, {"id": "S-B2"}, {"id": "S-B3"}]
    parsed = problem_from_dict(document)
    decisions = decide_items(parsed)
    pricing = Pricing(
        digits=money_scale_digits(parsed, decisions),
        costs={(c.bid, c.region): c for c in parsed.region_costs},
    )
    model = optimised.build_award_model(parsed, decisions, pricing).model
    assert set(model.groups) == set(model.messages)  # every group is explained by a message
    return {m.code for m in model.messages.values()}


def test_a_capacity_shortfall_warning_is_a_code_with_the_numbers() -> None:
    result = _shortfall_result()
    assert [m.to_dict() for m in result.run.warning_parts] == [
        {
            "code": "capacity_shortfall",
            "params": {"bid": "B1", "capacity": 50, "excess": 1150, "item": "X"},
        },
        {
            "code": "capacity_shortfall",
            "params": {"bid": "B2", "capacity": 50, "excess": 10, "item": "X"},
        },
    ]
    assert result.run.warnings[1] == (
        "item X: bid B2 is assigned 10 units more than its declared capacity 50: capacity shortfall"
    )


def test_every_constraint_code_names_a_group_of_some_model() -> None:
    single = _model_codes(max_winners_per_item=3, max_supplier_share="0.9")
    split = _model_codes(
        single_source_per_region=False, min_split_share="0.2", max_winners_per_item=3
    )
    national = _model_codes(
        min_winners_per_item=0,
        max_price_ratio_among_winners="1.1",
        min_national_share_per_winner="0.1",
        unmet_penalty_ratio="1",
    )
    national_split = _model_codes(
        single_source_per_region=False, min_winners_per_item=0, unmet_penalty_ratio="1"
    )
    assert single | split | national | national_split == CONSTRAINT_CODES
    assert "supply_region_single_source_or_unmet" in national
    assert "supply_region_or_unmet" in national_split
    assert "supply_region_single_source" in single
    assert "supply_region" in split


def test_an_infeasible_explanation_is_codes_and_the_english_is_derived_from_them() -> None:
    result = solve(
        problem_from_dict(award_problem(min_winners_per_item=1, max_supplier_share="0.3"))
    )
    assert result.run.status == "infeasible"
    assert result.run.explanation_parts[0].to_dict() == {
        "code": "supply_region_single_source",
        "params": {"item": "X", "region": "P3", "units": 300},
    }
    assert [p.code for p in result.run.explanation_parts[1:]] == ["supplier_share"] * 3
    assert result.run.explanation == tuple(format_message(p) for p in result.run.explanation_parts)
    assert result.run.explanation[1] == "supplier S-B1 at most 0.3 of all 600 units"


def test_units_in_an_explanation_are_grouped_in_thousands() -> None:
    assert format_message(message("bid_capacity", bid="B1", units=1234567)) == (
        "capacity of bid B1 (1,234,567 units)"
    )


def test_the_time_limit_explanation_lists_the_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optimised, "solve_cp_sat", lambda *args, **kwargs: ("unknown", None, None))
    result = solve(problem_from_dict(award_problem()))
    assert [p.to_dict() for p in result.run.explanation_parts] == [
        {"code": "no_solution_within_time", "params": {"items": ["X"], "seconds": "10"}}
    ]


def test_every_relaxation_code_is_used_by_the_comparison() -> None:
    base = problem_from_dict(award_problem(max_winners_per_item=3, max_supplier_share="0.9"))
    split = problem_from_dict(award_problem(single_source_per_region=False, min_split_share="0.2"))
    document = award_problem()
    document["suppliers"] = [{"id": "S-B1", "capacity": 400}, {"id": "S-B2"}, {"id": "S-B3"}]
    with_supplier_capacity = problem_from_dict(document)
    national = award_problem(
        max_price_ratio_among_winners="1.8", min_national_share_per_winner="0.1"
    )
    national["items"][0].update(min_winners=2, max_winners=3)
    national_shape = problem_from_dict(national)
    used = {
        p.code
        for source in (base, split, with_supplier_capacity, national_shape)
        for constraint, relaxed, _ in _relaxations(source)
        for p in (constraint, relaxed)
    }
    assert used == RELAX_CODES


def test_comparison_rows_carry_the_constraint_codes_beside_the_english() -> None:
    (row,) = comparison_to_dict(
        compare_scenarios(
            problem_from_dict(award_problem()),
            [preset_rule_set("optimised-award", time_limit_seconds=10)],
        )
    )
    first = row["constraint_costs"][0]
    assert first["constraint"] == "at least 2 winners per item"
    assert first["constraint_part"] == {"code": "relax_min_winners", "params": {"count": 2}}
    assert first["relaxed_to"] == "1"
    assert first["relaxed_to_part"] == {"code": "relaxed_to_count", "params": {"count": 1}}


def test_result_document_has_the_parts_and_matches_the_schema() -> None:
    for result in (
        _shortfall_result(),
        solve(problem_from_dict(award_problem(min_winners_per_item=4))),
    ):
        document = result_to_dict(result, include_timing=False)
        assert list(Draft202012Validator(load_schema("result")).iter_errors(document)) == []
        run = document["run"]
        assert len(run["warnings"]) == len(run["warning_parts"])
        assert len(run["explanation"]) == len(run["explanation_parts"])
    assert run["explanation_parts"] == [
        {"code": "min_winners_for_item", "params": {"count": 4, "item": "X"}}
    ]
    assert run["explanation"] == ["at least 4 winners for item X"]


def test_schema_enumerates_exactly_the_explanation_and_warning_codes() -> None:
    run = load_schema("result")["properties"]["run"]["properties"]
    explained = run["explanation_parts"]["items"]["properties"]["code"]["enum"]
    warned = run["warning_parts"]["items"]["properties"]["code"]["enum"]
    assert set(explained) == CONSTRAINT_CODES | TIME_LIMIT_CODES
    assert set(warned) == WARNING_CODES
    chosen = run["solver_reason_parts"]["items"]["properties"]["code"]["enum"]
    assert set(chosen) == BACKEND_CODES


def test_message_codes_are_their_own_and_unknown_ones_are_refused() -> None:
    assert not MESSAGE_CODES & REASON_CODES
    with pytest.raises(ValueError, match="unknown message code 'made_up'"):
        message("made_up")
    with pytest.raises(ValueError, match="unknown message code 'rank'"):
        message("rank", rank=1)
    assert message_record(message("relax_bid_capacity")) == {
        "code": "relax_bid_capacity",
        "params": {},
        "text": "bid capacity",
    }


def test_every_message_formats_without_a_placeholder_left() -> None:
    for code, text in MESSAGE_ENGLISH.items():
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        formatted = format_message(message(code, **dict.fromkeys(names, "7")))
        assert "{" not in formatted, code
        assert formatted.count("7") >= len(names), code

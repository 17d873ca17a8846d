"""The JSON format: precise validation errors, canonical hashing, determinism, the CLI."""

import copy
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from procurement.optimiser import (
    ProblemError,
    problem_from_dict,
    problem_to_dict,
    result_to_dict,
    solve,
    validate_rule_set,
)
from procurement.optimiser.cli import main
from procurement.optimiser.io import load_schema
from procurement.optimiser.presets import PRESETS
from tests.optimiser.conftest import bids_at, problem, provinces

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "optimiser"


def errors_of(document: dict) -> list[tuple[str, str]]:
    with pytest.raises(ProblemError) as caught:
        problem_from_dict(document)
    return caught.value.errors


def test_a_float_price_is_rejected_with_its_path_and_the_expected_form() -> None:
    document = problem("national-drug-batch-4", bids_at("0.5"))
    document["bids"][0]["unit_price"] = 0.5
    assert errors_of(document) == [
        (
            "$.bids[0].unit_price",
            'expected a non-negative decimal with at most 6 decimals: a string such as "0.0526" '
            "(or, in a JSON file, a number, read exactly as written), got 0.5 (a binary float "
            "is not exact: pass the decimal as a string)",
        )
    ]


def test_missing_and_unknown_fields_are_reported_at_their_object() -> None:
    document = problem("national-drug-batch-4", bids_at("0.5"))
    del document["items"][0]["max_valid_bid_price"]
    document["bids"][0]["colour"] = "red"
    assert errors_of(document) == [
        ("$.bids[0]", "unknown field: 'colour' was unexpected"),
        ("$.items[0]", "'max_valid_bid_price' is a required property"),
    ]


def test_cross_references_are_checked() -> None:
    document = problem(
        "national-drug-batch-4",
        bids_at("0.5", "0.6"),
        demand=[{"region": "P1", "quantity": 10, "hospitals": [{"id": "H1", "quantity": 9}]}],
    )
    document["bids"][1]["item"] = "nope"
    document["bids"][0]["region_preferences"] = ["P9"]
    assert errors_of(document) == [
        ("$.bids[0].region_preferences[0]", "no demand for item in region 'P9'"),
        ("$.bids[1].item", "unknown item 'nope'"),
        (
            "$.items[0].demand[0].quantity",
            "expected the sum of its hospitals' quantities (9), got 10",
        ),
    ]


def test_rule_set_parameter_errors_carry_the_full_path() -> None:
    document = problem("national-drug-batch-4", bids_at("0.5"))
    document["rule_set"]["parameters"]["price_conditions"]["max_ratio_to_lowest"] = 1.8
    assert errors_of(document) == [
        (
            "$.rule_set.parameters.price_conditions.max_ratio_to_lowest",
            'expected a decimal string such as "1.8", or null when the rule does not apply, '
            "got 1.8 (a binary float is not exact: pass the decimal as a string)",
        )
    ]


def test_unknown_rule_kind_is_reported() -> None:
    document = problem("national-drug-batch-4", bids_at("0.5"))
    document["rule_set"]["kind"] = "lottery"
    path, message = errors_of(document)[0]
    assert path == "$.rule_set.kind"
    assert message.startswith("unknown rule kind 'lottery'; expected one of national_drug")


def test_every_preset_is_a_valid_rule_set() -> None:
    for preset in PRESETS.values():
        assert validate_rule_set(preset.kind, preset.parameters) == [], preset.name


def test_optimised_award_rejects_a_maximum_below_the_minimum() -> None:
    parameters = PRESETS["optimised-award"].copy_parameters()
    parameters["max_winners_per_item"] = 1
    assert validate_rule_set("optimised_award", parameters) == [
        ("$.max_winners_per_item", "must be at least min_winners_per_item (2)")
    ]


def test_input_hash_does_not_depend_on_list_order() -> None:
    document = problem("national-drug-batch-4", bids_at("0.5", "0.6", "0.7"), demand=provinces(5))
    shuffled = copy.deepcopy(document)
    random.Random(7).shuffle(shuffled["bids"])
    shuffled["items"][0]["demand"].reverse()
    first, second = problem_from_dict(document), problem_from_dict(shuffled)
    assert first.input_hash == second.input_hash
    assert len(first.input_hash) == 64
    assert problem_to_dict(first) == problem_to_dict(second)


def test_same_input_gives_byte_identical_output(tmp_path: Path) -> None:
    source = EXAMPLES / "national_drug.json"
    outputs = []
    for run in range(2):
        out = tmp_path / f"result{run}.json"
        assert main([str(source), "--out", str(out), "--no-timing"]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_result_matches_the_result_schema_and_money_is_strings() -> None:
    document = problem("national-drug-batch-4", bids_at("0.5", "0.6"), demand=provinces(3))
    result = result_to_dict(solve(problem_from_dict(document)))
    assert list(Draft202012Validator(load_schema("result")).iter_errors(result)) == []
    # Draft for 2 winners of 3 provinces: B1, B1, B2; 600 agreed units each.
    assert result["totals"]["cost"] == "960.00"  # 0.5 x 1200 + 0.6 x 600
    assert "timing" in result
    assert "timing" not in result_to_dict(solve(problem_from_dict(document)), include_timing=False)


def test_totals_are_exact_for_national_volumes() -> None:
    demand = [{"region": "P1", "quantity": 999_999_999}]
    document = problem("national-drug-batch-4", bids_at("0.0527"), ceiling="0.1000", demand=demand)
    result = solve(problem_from_dict(document))
    # One winner: 50% of 999,999,999 = 500,000,000 (half up) at 0.0527.
    assert result.allocations[0].quantity == 500_000_000
    assert result.totals.cost == Decimal("26350000.00")
    assert result.totals.savings_vs_ceiling == Decimal("23650000.00")


def test_cli_reports_invalid_problem_with_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    document = problem("national-drug-batch-4", bids_at("0.5"))
    document["bids"][0]["unit_price"] = "cheap"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert "1 error(s) in the problem:" in err
    assert "$.bids[0].unit_price: expected a non-negative decimal with at most 6 decimals" in err


def test_cli_writes_the_result_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result.json"
    assert main([str(EXAMPLES / "national_drug.json"), "--out", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["format"] == "jicai.optimiser.result/1"
    assert "winning bids, total cost" in capsys.readouterr().err


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_every_documented_example_solves(example: str, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert main([str(EXAMPLES / example), "--out", str(out), "--no-timing"]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert list(Draft202012Validator(load_schema("result")).iter_errors(result)) == []
    assert result["run"]["status"] in {"optimal", "rule_only", "infeasible"}


def test_manage_py_optimise_solves_an_example_without_the_database(tmp_path: Path) -> None:
    from django.core.management import call_command

    out = tmp_path / "result.json"
    call_command("optimise", str(EXAMPLES / "national_drug.json"), "--out", str(out))
    assert json.loads(out.read_text(encoding="utf-8"))["run"]["status"] == "optimal"


def test_manage_py_optimise_fails_on_an_invalid_problem(tmp_path: Path) -> None:
    from django.core.management import CommandError, call_command

    path = tmp_path / "bad.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(CommandError, match="the problem file is not valid"):
        call_command("optimise", str(path))


def test_shipped_schemas_are_valid_json_schemas() -> None:
    for name in ("problem", "result"):
        Draft202012Validator.check_schema(load_schema(name))


def test_errors_come_in_document_order_and_the_message_is_capped() -> None:
    document = problem("national-drug-batch-4", bids_at(*["0.5"] * 60))
    for bid in document["bids"]:
        bid["item"] = "nope"
    errors = errors_of(document)
    assert [path for path, _ in errors[:3]] == [
        "$.bids[0].item",
        "$.bids[1].item",
        "$.bids[2].item",
    ]
    assert errors[10][0] == "$.bids[10].item"
    with pytest.raises(ProblemError) as caught:
        problem_from_dict(document)
    assert str(caught.value).endswith("$.bids[49].item: unknown item 'nope'\n... and 10 more")


def test_the_canonical_document_reads_back_to_the_same_problem() -> None:
    document = problem("national-drug-batch-4", bids_at("0.5", "0.6"), demand=provinces(2))
    parsed = problem_from_dict(document)
    assert problem_from_dict(problem_to_dict(parsed)) == parsed


def test_hospital_errors_have_the_same_paths_and_messages_as_the_rest() -> None:
    demand = [
        {
            "region": "P1",
            "quantity": 5,
            "hospitals": [
                {"id": "H1", "quantity": 2},
                {"id": "", "quantity": 3, "brand_volumes": [{"bid": "B1", "quantity": -1}]},
            ],
        }
    ]
    document = problem("national-drug-batch-4", bids_at("0.5"), demand=demand)
    assert errors_of(document) == [
        (
            "$.items[0].demand[0].hospitals[1].brand_volumes[0].quantity",
            "expected a whole number of units from 0 to 10^12, got -1",
        ),
        (
            "$.items[0].demand[0].hospitals[1].id",
            "expected a non-empty id string of at most 100 characters, got ''",
        ),
    ]


def test_numbers_in_a_problem_file_are_read_exactly(tmp_path: Path) -> None:
    document = problem(
        "national-drug-batch-4", bids_at("0.5"), demand=[{"region": "P1", "quantity": 3}]
    )
    text = json.dumps(document).replace('"unit_price": "0.5"', '"unit_price": 0.0526')
    text = text.replace('"max_valid_bid_price": "1.0000"', '"max_valid_bid_price": 2')
    text = text.replace('"max_ratio_to_lowest": "1.8"', '"max_ratio_to_lowest": 1.8')
    path = tmp_path / "numbers.json"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "result.json"
    assert main([str(path), "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["bids"][0]["unit_comparable_price"] == "0.0526"
    assert result["totals"]["cost"] == "0.11"  # 2 units (50% of 3, half up) x 0.0526


# Input hashes of the documented examples as computed before a brand volume could name a
# product nobody bid (commit cab7f56): a problem without one must hash exactly as before,
# or every stored run's input hash would stop matching its problem.
EXAMPLE_HASHES = {
    "consumables_joints.json": "36b20df064b9801a07b6a9ea8acc47875b7135b895ff01d4def08637709cf70e",
    "national_drug.json": "b8123bc2644edfc00d48f16acb57b67ebc50667f605f26d3c73d207219354ec0",
    "stent_renewal.json": "e438db104ab990c9be362afd658659be0acf28b69cebd6825814ef45b2a65e2a",
}


@pytest.mark.parametrize("example", sorted(EXAMPLE_HASHES))
def test_problems_without_an_unbid_product_keep_their_input_hash(example: str) -> None:
    from procurement.optimiser.cli import load_problem_json

    document = load_problem_json((EXAMPLES / example).read_text(encoding="utf-8"))
    assert problem_from_dict(document).input_hash == EXAMPLE_HASHES[example]

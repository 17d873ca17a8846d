"""Problem I/O at national size: the canonical bytes and input hash in one pass, the
readable writer, the fast reader, and the dedicated checks of the long lists."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from procurement.optimiser import ProblemError, problem_from_dict, problem_to_dict
from procurement.optimiser.io import (
    canonical_json,
    load_problem_json,
    problem_canonical,
    problem_from_json,
    problem_to_json,
    with_input_hash,
)
from tests.optimiser.conftest import problem

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "docs/examples/optimiser").glob("*.json"))


def odd_problem() -> dict[str, Any]:
    """Text that JSON writers escape differently if they can: quotes, backslashes,
    control characters, non-ASCII, a line separator, an astral character."""
    bids = [
        {"id": 'B"1\\', "unit_price": "0.5", "supplier": "供应商\u2028一"},
        {"id": "B\x01\t2", "unit_price": "1", "ineligible_reason": "𝄞 \x7f"},
    ]
    demand = [
        {
            "region": "北京",
            "quantity": 30,
            "hospitals": [
                {"id": "H\n1", "quantity": 10, "reassign_to": ['B"1\\']},
                {
                    "id": "H2",
                    "quantity": 20,
                    "brand_volumes": [{"bid": "B\x01\t2", "quantity": 20}],
                },
            ],
        }
    ]
    return problem("consumables-joints", bids, demand=demand)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_canonical_bytes_are_those_of_the_canonical_document(path: Path) -> None:
    parsed = problem_from_dict(load_problem_json(path.read_bytes()))
    expected = canonical_json(problem_to_dict(parsed)).encode("utf-8")
    canonical = problem_canonical(parsed)
    assert canonical.data == expected
    assert canonical.input_hash == hashlib.sha256(expected).hexdigest() == parsed.input_hash


def test_canonical_bytes_escape_text_exactly_as_the_standard_library() -> None:
    parsed = problem_from_dict(odd_problem())
    expected = canonical_json(problem_to_dict(parsed)).encode("utf-8")
    assert problem_canonical(parsed).data == expected


def test_a_float_parameter_takes_the_exact_path_and_keeps_its_hash() -> None:
    document = odd_problem()
    parsed = problem_from_dict(document)
    floating = parsed.__class__(
        **{
            **parsed.__dict__,
            "rule_set": parsed.rule_set.__class__(
                kind="optimised_award",
                parameters={"time_limit_seconds": 1e-05},
            ),
        }
    )
    expected = canonical_json(problem_to_dict(floating)).encode("utf-8")
    assert b"1e-05" in expected
    assert problem_canonical(floating).data == expected


def test_with_input_hash_sets_the_hash_the_parser_sets() -> None:
    parsed = problem_from_dict(odd_problem())
    bare = parsed.__class__(**{**parsed.__dict__, "input_hash": ""})
    assert with_input_hash(bare) == parsed


def test_the_written_document_reads_back_as_the_same_problem() -> None:
    parsed = problem_from_dict(odd_problem())
    data = problem_to_json(parsed)
    assert problem_from_json(data) == parsed
    assert data.startswith(b'{\n  "bids": [')
    assert b'{"id":"H2","quantity":20,"brand_volumes"' not in data  # sorted keys
    lines = data.decode("utf-8").splitlines()
    assert '{"brand_volumes":[{"bid":"B\\u0001\\t2","quantity":20}],"id":"H2",' in "".join(lines)


def test_a_hospital_without_brand_volumes_is_written_on_one_short_line() -> None:
    document = problem(
        "national-drug-batch-4",
        [{"id": "B1", "unit_price": "0.5"}],
        demand=[{"region": "P1", "quantity": 3, "hospitals": [{"id": "H1", "quantity": 3}]}],
    )
    data = problem_to_json(problem_from_dict(document))
    assert b'\n{"id":"H1","quantity":3}\n' in data


def test_fractional_numbers_in_a_file_are_read_as_their_exact_text() -> None:
    text = '{"a": 0.0526, "b": [1.10, 2], "c": "x 1.5"}'
    assert load_problem_json(text) == {"a": "0.0526", "b": ["1.10", 2], "c": "x 1.5"}
    assert load_problem_json(text.encode()) == {"a": "0.0526", "b": ["1.10", 2], "c": "x 1.5"}
    # without any fractional number the fast reader gives the same values
    assert load_problem_json(b'{"a": [1, 2], "b": "0.0526"}') == {"a": [1, 2], "b": "0.0526"}
    assert load_problem_json(b'{"big": 123456789012345678901234567890}') == {
        "big": 123456789012345678901234567890
    }


def test_text_that_is_not_json_raises_a_json_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        load_problem_json(b'{"a": ')


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            lambda d: d["bids"][1].update(unit_price="cheap"),
            (
                "$.bids[1].unit_price",
                "expected a non-negative decimal with at most 6 decimals: a string such as "
                "\"0.0526\" (or, in a JSON file, a number, read exactly as written), got 'cheap'",
            ),
        ),
        (
            lambda d: d["bids"][0].update(colour="red"),
            ("$.bids[0]", "unknown field: 'colour' was unexpected"),
        ),
        (
            lambda d: d["region_costs"].append({"bid": "B1", "region": "P01", "per_unit": 1.5}),
            (
                "$.region_costs[0].per_unit",
                "expected a non-negative decimal with at most 6 decimals: a string such as "
                '"0.0526" (or, in a JSON file, a number, read exactly as written), got 1.5 '
                "(a binary float is not exact: pass the decimal as a string)",
            ),
        ),
        (
            lambda d: d["items"][0]["demand"][0]["hospitals"].append({"id": "", "quantity": 1}),
            (
                "$.items[0].demand[0].hospitals[1].id",
                "expected a non-empty id string of at most 100 characters, got ''",
            ),
        ),
        (
            lambda d: d["items"][0]["demand"][0].update(quantity=-1),
            (
                "$.items[0].demand[0].quantity",
                "expected a whole number of units from 0 to 10^12, got -1",
            ),
        ),
    ],
)
def test_long_lists_are_checked_with_the_schema_messages(
    change: Any, error: tuple[str, str]
) -> None:
    document = problem(
        "national-drug-batch-4",
        [{"id": "B1", "unit_price": "0.5"}, {"id": "B2", "unit_price": "0.6"}],
        demand=[{"region": "P01", "quantity": 5, "hospitals": [{"id": "H1", "quantity": 5}]}],
        region_costs=[],
    )
    change(document)
    with pytest.raises(ProblemError) as raised:
        problem_from_dict(document)
    assert error in raised.value.errors


def test_a_fast_hospital_line_is_the_hospital_the_constructor_makes() -> None:
    import dataclasses

    from procurement.optimiser.model import HospitalDemand, hospital_line

    fast, made = hospital_line("H1", 3), HospitalDemand("H1", 3)
    assert fast == made and hash(fast) == hash(made) and repr(fast) == repr(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.quantity = 4  # type: ignore[misc]

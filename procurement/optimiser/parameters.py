"""The parameters of each rule kind: JSON Schemas and the checks a schema cannot express.

A rule set's ``parameters`` is plain JSON data (decimal strings for figures). Each kind's
schema is named here and referenced by its entry in ``procurement.optimiser.kinds``;
``procurement.optimiser.presets.validate_rule_set`` applies them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

ParameterErrors = list[tuple[str, str]]

_DECIMAL = {
    "anyOf": [
        {"type": "string", "pattern": r"^\d+(\.\d{1,6})?$"},
        {"type": "integer", "minimum": 0},
    ],
    "x-expected": 'a decimal string such as "1.8"',
}
_SHARE = {
    "type": "string",
    "pattern": r"^(0(\.\d{1,6})?|1(\.0{1,6})?)$",
    "x-expected": 'a share between "0" and "1" as a decimal string, such as "0.5"',
}
_NULLABLE_DECIMAL = {
    "anyOf": [*_DECIMAL["anyOf"], {"type": "null"}],
    "x-expected": 'a decimal string such as "1.8", or null when the rule does not apply',
}
_COUNT_TABLE = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "integer", "minimum": 1, "x-expected": "a whole number of at least 1"},
}
_SHARE_TABLE = {"type": "array", "minItems": 1, "items": _SHARE}
_TIE_BREAK = {
    "type": "array",
    "items": {"enum": ["tie_break_rank", "capacity_desc", "bid_id"]},
    "uniqueItems": True,
}
_COMPARABLE_PRICE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "strength": _DECIMAL,
        "fill_volume": _DECIMAL,
        "pack_count_oral_solid": _DECIMAL,
        "pack_count_other": _DECIMAL,
        "dosage_form_ratios": {"type": "object", "additionalProperties": _DECIMAL},
    },
}
_PRICE_CONDITIONS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["max_ratio_to_lowest", "max_unit_price", "min_cut_from_ceiling"],
    "properties": {
        "max_ratio_to_lowest": _NULLABLE_DECIMAL,
        "max_unit_price": _NULLABLE_DECIMAL,
        "min_cut_from_ceiling": {
            "anyOf": [_SHARE, {"type": "null"}],
            "x-expected": 'a share such as "0.5", or null when the rule does not apply',
        },
    },
}
_DRUG_PROPERTIES: dict[str, Any] = {
    "winner_cap_by_bidders": _COUNT_TABLE,
    "bidder_count": {"enum": ["eligible_bidders", "valid_bidders"]},
    "price_conditions": _PRICE_CONDITIONS,
    "volume_share_by_winners": _SHARE_TABLE,
    "term_years_by_winners": _COUNT_TABLE,
    "tie_break": _TIE_BREAK,
    "comparable_price": _COMPARABLE_PRICE,
}
_DRUG_REQUIRED = [
    "winner_cap_by_bidders",
    "bidder_count",
    "price_conditions",
    "volume_share_by_winners",
    "term_years_by_winners",
    "tie_break",
]


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


# --- one schema per rule kind (procurement.optimiser.kinds) ---------------------------

NATIONAL_DRUG_SCHEMA = _object(_DRUG_PROPERTIES, _DRUG_REQUIRED)

NATIONAL_DRUG_BATCH10_SCHEMA = _object(
    {**_DRUG_PROPERTIES, "adjusted_price": {"enum": ["highest_winning", "ratio_to_lowest"]}},
    [*_DRUG_REQUIRED, "adjusted_price"],
)

NATIONAL_DRUG_ANCHOR_SCHEMA = _object(
    {
        **_DRUG_PROPERTIES,
        "anchor": _object(
            {"average_share": _SHARE, "max_ratio_to_anchor": _DECIMAL},
            ["average_share", "max_ratio_to_anchor"],
        ),
    },
    [*_DRUG_REQUIRED, "anchor"],
)

CONSUMABLES_GROUPS_SCHEMA = _object(
    {
        "group_a_volume_share": _SHARE,
        "max_ratio_to_lowest": _DECIMAL,
        "winner_cap_by_bidders": _COUNT_TABLE,
        "term_years": {"type": "integer", "minimum": 1},
        "tie_break": _TIE_BREAK,
    },
    ["group_a_volume_share", "max_ratio_to_lowest", "term_years", "tie_break"],
)

RENEWAL_SCHEMA = _object(
    {"term_years": {"type": "integer", "minimum": 1}, "tie_break": _TIE_BREAK},
    ["term_years", "tie_break"],
)

OPTIMISED_AWARD_SCHEMA = _object(
    {
        "min_winners_per_item": {
            "type": "integer",
            "minimum": 0,
            "x-expected": "a whole number of at least 0 (0: an item may end with no winner)",
        },
        "max_winners_per_item": {
            "anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
            "x-expected": "a whole number of at least 1, or null for no maximum",
        },
        "max_supplier_share": {
            "anyOf": [_SHARE, {"type": "null"}],
            "x-expected": 'a share such as "0.4", or null for no limit',
        },
        "single_source_per_region": {"type": "boolean"},
        "min_split_share": {
            "anyOf": [_SHARE, {"type": "null"}],
            "x-expected": 'a share such as "0.2", or null for no minimum',
        },
        "volume_share": _SHARE,
        "term_years": {"type": "integer", "minimum": 1},
        "time_limit_seconds": {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
                {"type": "string", "pattern": r"^\d{1,4}(\.\d+)?$"},
            ],
            "x-expected": "seconds, more than 0 and at most 3600",
        },
        "relative_gap": {"type": "string", "pattern": r"^0(\.\d{1,9})?$"},
        "backend": {"enum": ["auto", "cp_sat", "highs", "side_by_side", "decomposed"]},
        "num_workers": {"type": "integer", "minimum": 1, "maximum": 64},
        # The national shape (optional; absent or null: the constraint does not apply).
        "max_price_ratio_among_winners": {
            "anyOf": [*_DECIMAL["anyOf"], {"type": "null"}],
            "x-expected": 'a ratio of at least 1 such as "1.8", or null for no limit',
        },
        "min_national_share_per_winner": {
            "anyOf": [_SHARE, {"type": "null"}],
            "x-expected": 'a share such as "0.05", or null for no minimum',
        },
        "unmet_penalty_ratio": {
            "anyOf": [*_DECIMAL["anyOf"], {"type": "null"}],
            "x-expected": (
                'a multiple of the item\'s maximum valid bid price such as "2", or null: '
                "every agreed unit must be supplied"
            ),
        },
    },
    [
        "min_winners_per_item",
        "max_winners_per_item",
        "max_supplier_share",
        "single_source_per_region",
        "min_split_share",
        "volume_share",
        "term_years",
        "time_limit_seconds",
        "relative_gap",
        "backend",
    ],
)


def winner_cap_errors(parameters: Mapping[str, Any]) -> ParameterErrors:
    """A cap table must not decrease as the number of bidders grows (any kind that has one)."""
    table = parameters.get("winner_cap_by_bidders")
    if isinstance(table, list) and any(b < a for a, b in itertools.pairwise(table)):
        return [("$.winner_cap_by_bidders", "must not decrease as the number of bidders grows")]
    return []


def optimised_award_errors(parameters: Mapping[str, Any]) -> ParameterErrors:
    """The optimised award's minimum number of winners must not exceed its maximum; a price
    ratio among winners is at least 1; an unmet-demand penalty is more than 0."""
    errors: ParameterErrors = []
    low = parameters["min_winners_per_item"]
    high = parameters["max_winners_per_item"]
    if high is not None and high < low:
        errors.append(("$.max_winners_per_item", f"must be at least min_winners_per_item ({low})"))
    ratio = parameters.get("max_price_ratio_among_winners")
    if ratio is not None and Decimal(ratio) < 1:
        errors.append(("$.max_price_ratio_among_winners", f"must be at least 1, got {ratio!r}"))
    penalty = parameters.get("unmet_penalty_ratio")
    if penalty is not None and Decimal(penalty) <= 0:
        errors.append(("$.unmet_penalty_ratio", f"must be more than 0, got {penalty!r}"))
    return errors


def no_errors(parameters: Mapping[str, Any]) -> ParameterErrors:
    """For a kind whose schema says everything."""
    return []

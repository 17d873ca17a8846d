"""Ready-made rule sets and the validation of a rule set's parameters.

A rule set is a rule ``kind`` plus a ``parameters`` dict of plain JSON data; the Django
``RuleSet`` model stores exactly these two (with a name and a version) and calls
``validate_rule_set`` before saving. Every figure that differs between batches (cap
tables, volume shares, terms, thresholds, tie-break order, comparable-price
coefficients) lives here as data, with its source.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from procurement.optimiser.jsonpaths import schema_errors

KINDS = (
    "national_drug",
    "national_drug_batch10",
    "national_drug_anchor",
    "consumables_groups",
    "renewal",
    "optimised_award",
)

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


PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "national_drug": _object(_DRUG_PROPERTIES, _DRUG_REQUIRED),
    "national_drug_batch10": _object(
        {**_DRUG_PROPERTIES, "adjusted_price": {"enum": ["highest_winning", "ratio_to_lowest"]}},
        [*_DRUG_REQUIRED, "adjusted_price"],
    ),
    "national_drug_anchor": _object(
        {
            **_DRUG_PROPERTIES,
            "anchor": _object(
                {"average_share": _SHARE, "max_ratio_to_anchor": _DECIMAL},
                ["average_share", "max_ratio_to_anchor"],
            ),
        },
        [*_DRUG_REQUIRED, "anchor"],
    ),
    "consumables_groups": _object(
        {
            "group_a_volume_share": _SHARE,
            "max_ratio_to_lowest": _DECIMAL,
            "winner_cap_by_bidders": _COUNT_TABLE,
            "term_years": {"type": "integer", "minimum": 1},
            "tie_break": _TIE_BREAK,
        },
        ["group_a_volume_share", "max_ratio_to_lowest", "term_years", "tie_break"],
    ),
    "renewal": _object(
        {"term_years": {"type": "integer", "minimum": 1}, "tie_break": _TIE_BREAK},
        ["term_years", "tie_break"],
    ),
    "optimised_award": _object(
        {
            "min_winners_per_item": {"type": "integer", "minimum": 1},
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
            "backend": {"enum": ["cp_sat", "highs"]},
            "num_workers": {"type": "integer", "minimum": 1, "maximum": 64},
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
    ),
}


def validate_rule_set(kind: str, parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return path-qualified errors (``("$.price_conditions.max_ratio_to_lowest", msg)``).

    Paths are relative to the parameters dict (``$``); an unknown kind is reported at
    ``$kind``. An empty list means the rule set is usable.
    """
    schema = PARAMETER_SCHEMAS.get(kind)
    if schema is None:
        return [("$kind", f"unknown rule kind {kind!r}; expected one of {', '.join(KINDS)}")]
    errors = schema_errors(schema, parameters)
    if not errors:
        errors = sorted(_semantic_errors(kind, parameters))
    return errors


def _semantic_errors(kind: str, parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    if kind == "optimised_award":
        low = parameters["min_winners_per_item"]
        high = parameters["max_winners_per_item"]
        if high is not None and high < low:
            errors.append(
                ("$.max_winners_per_item", f"must be at least min_winners_per_item ({low})")
            )
    for key in ("winner_cap_by_bidders",):
        table = parameters.get(key)
        if isinstance(table, list) and any(b < a for a, b in itertools.pairwise(table)):
            errors.append((f"$.{key}", "must not decrease as the number of bidders grows"))
    return errors


@dataclass(frozen=True)
class Preset:
    name: str
    version: str
    kind: str
    parameters: Mapping[str, Any]
    source: str

    def copy_parameters(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.parameters))


_TIE_BREAK_DEFAULT = ["tie_break_rank", "capacity_desc", "bid_id"]
_COMPARABLE_DEFAULT = {
    "strength": "1.7",
    "fill_volume": "1.9",
    "pack_count_oral_solid": "1.95",
    "pack_count_other": "2.0",
    "dosage_form_ratios": {},
}
_NATIONAL_CONDITIONS = {
    "max_ratio_to_lowest": "1.8",
    "max_unit_price": "0.10",
    "min_cut_from_ceiling": "0.5",
}
_SHARES = ["0.5", "0.6", "0.7", "0.8"]
_TERMS = [1, 1, 2, 3]

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="national-drug-batch-2",
            version="2019-12",
            kind="national_drug",
            parameters={
                "winner_cap_by_bidders": [1, 2, 2, 3, 4, 4, 5, 5, 6],
                "bidder_count": "eligible_bidders",
                "price_conditions": _NATIONAL_CONDITIONS,
                "volume_share_by_winners": _SHARES,
                "term_years_by_winners": _TERMS,
                "tie_break": _TIE_BREAK_DEFAULT,
                "comparable_price": _COMPARABLE_DEFAULT,
            },
            source="batch 2 procurement document, table 2 (最多入围企业数); DESIGN.md §2.1",
        ),
        Preset(
            name="national-drug-batch-4",
            version="2021-02",
            kind="national_drug",
            parameters={
                "winner_cap_by_bidders": [1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9, 10],
                "bidder_count": "eligible_bidders",
                "price_conditions": _NATIONAL_CONDITIONS,
                "volume_share_by_winners": _SHARES,
                "term_years_by_winners": _TERMS,
                "tie_break": _TIE_BREAK_DEFAULT,
                "comparable_price": _COMPARABLE_DEFAULT,
            },
            source="batch 4 document, table 1; the same table is used by batch 9",
        ),
        Preset(
            name="national-drug-batch-7-antimicrobial",
            version="2022-07",
            kind="national_drug",
            parameters={
                "winner_cap_by_bidders": [1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9, 10],
                "bidder_count": "eligible_bidders",
                "price_conditions": _NATIONAL_CONDITIONS,
                "volume_share_by_winners": ["0.3", "0.4", "0.5"],
                "term_years_by_winners": [1, 1, 2],
                "tie_break": _TIE_BREAK_DEFAULT,
                "comparable_price": _COMPARABLE_DEFAULT,
            },
            source="batch 7 listed antibiotics and antifungals: 30/40/50% of demand",
        ),
        Preset(
            name="national-drug-batch-10",
            version="2024-12",
            kind="national_drug_batch10",
            parameters={
                "winner_cap_by_bidders": [1, 2, 2, 3, 3, 3, 4, 5, 6, 6, 7, 8, 8, 9, 9, 10],
                "bidder_count": "eligible_bidders",
                "price_conditions": {
                    "max_ratio_to_lowest": "1.8",
                    "max_unit_price": "0.10",
                    "min_cut_from_ceiling": None,
                },
                "volume_share_by_winners": _SHARES,
                "term_years_by_winners": _TERMS,
                "tie_break": _TIE_BREAK_DEFAULT,
                "comparable_price": _COMPARABLE_DEFAULT,
                "adjusted_price": "highest_winning",
            },
            source="batch 10 announcement (no 50% condition; adjusted price for 1.8x failures)",
        ),
        Preset(
            name="national-drug-batch-11",
            version="2025",
            kind="national_drug_anchor",
            parameters={
                "winner_cap_by_bidders": [1, 2, 2, 3, 3, 3, 4, 5, 6, 6, 7, 8, 8, 9, 9, 10],
                "bidder_count": "eligible_bidders",
                "price_conditions": {
                    "max_ratio_to_lowest": None,
                    "max_unit_price": None,
                    "min_cut_from_ceiling": None,
                },
                "volume_share_by_winners": _SHARES,
                "term_years_by_winners": _TERMS,
                "tie_break": _TIE_BREAK_DEFAULT,
                "comparable_price": _COMPARABLE_DEFAULT,
                "anchor": {"average_share": "0.5", "max_ratio_to_anchor": "1.8"},
            },
            source="batch 11: anchor = max(50% of the shortlisted average, lowest), 1.8x breaker",
        ),
        Preset(
            name="consumables-joints",
            version="2021-09",
            kind="consumables_groups",
            parameters={
                "group_a_volume_share": "0.8",
                "max_ratio_to_lowest": "1.8",
                "term_years": 2,
                "tie_break": _TIE_BREAK_DEFAULT,
            },
            source="national joints round: group A holds the intended volume's first 80%",
        ),
        Preset(
            name="stent-renewal",
            version="2022-11",
            kind="renewal",
            parameters={"term_years": 3, "tie_break": _TIE_BREAK_DEFAULT},
            source="2022 coronary stent renewal: a quote not above the previous highest wins",
        ),
        Preset(
            name="optimised-award",
            version="1",
            kind="optimised_award",
            parameters={
                "min_winners_per_item": 2,
                "max_winners_per_item": None,
                "max_supplier_share": None,
                "single_source_per_region": True,
                "min_split_share": None,
                "volume_share": "1",
                "term_years": 2,
                "time_limit_seconds": 60,
                "relative_gap": "0",
                "backend": "cp_sat",
                "num_workers": 1,
            },
            source="scenario analysis: minimum cost with supply-security constraints",
        ),
    )
}

"""Ready-made rule sets and the validation of a rule set's parameters.

A rule set is a rule ``kind`` plus a ``parameters`` dict of plain JSON data; the Django
``RuleSet`` model stores exactly these two (with a name and a version) and calls
``validate_rule_set`` before saving. Every figure that differs between batches (cap
tables, volume shares, terms, thresholds, tie-break order, comparable-price
coefficients) lives here as data, with its source. The kinds themselves, with their
parameter schemas, are the registry ``procurement.optimiser.kinds``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from procurement.optimiser import kinds
from procurement.optimiser.jsonpaths import schema_errors
from procurement.optimiser.parameters import winner_cap_errors

# The kinds' names in registry order (kept here for callers that read them from presets).
KINDS = kinds.KIND_NAMES


def validate_rule_set(kind: str, parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return path-qualified errors (``("$.price_conditions.max_ratio_to_lowest", msg)``).

    Paths are relative to the parameters dict (``$``); an unknown kind is reported at
    ``$kind``. An empty list means the rule set is usable.
    """
    entry = kinds.RULE_KINDS.get(kind)
    if entry is None:
        return [("$kind", f"unknown rule kind {kind!r}; expected one of {', '.join(KINDS)}")]
    errors = schema_errors(entry.parameters_schema, parameters)
    if not errors:
        errors = sorted([*entry.check_parameters(parameters), *winner_cap_errors(parameters)])
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
            kind=kinds.NATIONAL_DRUG.name,
            parameters={
                "winner_cap_by_bidders": [1, 2, 2, 3, 4, 4, 5, 5, 6],
                "bidder_count": "eligible_bidders",
                "price_conditions": _NATIONAL_CONDITIONS,
                "volume_share_by_winners": _SHARES,
                "term_years_by_winners": _TERMS,
                "tie_break": _TIE_BREAK_DEFAULT,
                "comparable_price": _COMPARABLE_DEFAULT,
            },
            source="batch 2 procurement document, table 2 (最多入围企业数)",
        ),
        Preset(
            name="national-drug-batch-4",
            version="2021-02",
            kind=kinds.NATIONAL_DRUG.name,
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
            kind=kinds.NATIONAL_DRUG.name,
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
            kind=kinds.NATIONAL_DRUG_BATCH10.name,
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
            kind=kinds.NATIONAL_DRUG_ANCHOR.name,
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
            kind=kinds.CONSUMABLES_GROUPS.name,
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
            kind=kinds.RENEWAL.name,
            parameters={"term_years": 3, "tie_break": _TIE_BREAK_DEFAULT},
            source="2022 coronary stent renewal: a quote not above the previous highest wins",
        ),
        Preset(
            name="optimised-award",
            # 2: the automatic backend (was "cp_sat") and the national shape's parameters,
            # off (null) as before.
            version="2",
            kind=kinds.OPTIMISED_AWARD.name,
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
                "backend": "auto",
                "num_workers": 1,
                "max_price_ratio_among_winners": None,
                "min_national_share_per_winner": None,
                "unmet_penalty_ratio": None,
            },
            source="scenario analysis: minimum cost with supply-security constraints",
        ),
    )
}

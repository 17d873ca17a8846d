"""The registry of rule kinds (``procurement/optimiser/kinds.py``): what each kind is, the
lists the platform derives from it, and that a kind added to it is validated, decided and
allocated through its entry alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from procurement.optimiser import ProblemError, kinds, problem_from_dict, solve, validate_rule_set
from procurement.optimiser.allocation import allocate_by_brand_choice
from procurement.optimiser.kinds import (
    KIND_NAMES,
    RULE_KINDS,
    Family,
    RoundKind,
    family_of,
    kinds_for_round_kind,
    kinds_of_family,
    kinds_taking_choices,
    rule_kind,
)
from procurement.optimiser.model import Bid, Item
from procurement.optimiser.presets import KINDS, PRESETS
from procurement.optimiser.rules import ItemDecision, valid_bids_for_optimisation
from procurement.optimiser.solve import decide_items
from tests.optimiser.conftest import bids_at, problem

# The lists that were spelled out by hand before the registry existed; the derived ones
# keep them exactly, in order where it shows (choices, error messages). A kind added later
# comes after these and changes none of them.
HISTORICAL_ORDER = (
    "national_drug",
    "national_drug_batch10",
    "national_drug_anchor",
    "consumables_groups",
    "renewal",
    "optimised_award",
)
HISTORICAL_BY_ROUND_KIND = {
    "drugs": ("national_drug", "national_drug_batch10", "national_drug_anchor", "optimised_award"),
    "consumables": ("consumables_groups", "renewal", "optimised_award"),
}


def _historical(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in names if name in HISTORICAL_ORDER)


def test_the_registry_keeps_the_kinds_and_their_order() -> None:
    assert KIND_NAMES[: len(HISTORICAL_ORDER)] == HISTORICAL_ORDER
    assert KINDS == KIND_NAMES
    assert all(name == entry.name for name, entry in RULE_KINDS.items())


def test_every_kind_name_fits_the_rule_set_column() -> None:
    assert all(len(name) <= 32 for name in KIND_NAMES)  # RuleSet.kind max_length


def test_the_lists_the_platform_reads_are_derived_from_the_registry() -> None:
    for round_kind, expected in HISTORICAL_BY_ROUND_KIND.items():
        assert _historical(kinds_for_round_kind(round_kind)) == expected
    assert _historical(kinds_for_round_kind(RoundKind.DRUGS)) == HISTORICAL_BY_ROUND_KIND["drugs"]
    assert _historical(kinds_of_family(Family.DRUG)) == (
        "national_drug",
        "national_drug_batch10",
        "national_drug_anchor",
    )
    assert _historical(kinds_of_family("consumable")) == ("consumables_groups", "renewal")
    assert _historical(kinds_taking_choices()) == ("consumables_groups", "renewal")
    assert family_of("optimised_award") == Family.OPTIMISED == "optimised"
    assert family_of("renewal") == Family.CONSUMABLE
    for entry in RULE_KINDS.values():
        assert entry.name in kinds_of_family(entry.family)
        for round_kind in RoundKind:
            assert (entry.name in kinds_for_round_kind(round_kind)) == (
                round_kind in entry.round_kinds
            )
        assert (entry.name in kinds_taking_choices()) == entry.takes_choices


def test_an_unknown_kind_or_round_kind_is_an_error_not_an_empty_list() -> None:
    with pytest.raises(ValueError, match="unknown rule kind 'lottery'"):
        rule_kind("lottery")
    with pytest.raises(ValueError, match="unknown rule kind 'lottery'"):
        family_of("lottery")
    with pytest.raises(ValueError, match="'devices' is not a valid RoundKind"):
        kinds_for_round_kind("devices")
    with pytest.raises(ValueError):
        kinds_of_family("lottery")


def test_an_unknown_kind_is_reported_with_every_kind_in_registry_order() -> None:
    assert validate_rule_set("lottery", {}) == [
        ("$kind", f"unknown rule kind 'lottery'; expected one of {', '.join(KIND_NAMES)}")
    ]
    assert ", ".join(KIND_NAMES).startswith(", ".join(HISTORICAL_ORDER))


def test_every_preset_is_of_a_registered_kind_and_fits_its_schema() -> None:
    for preset in PRESETS.values():
        assert preset.kind in RULE_KINDS
        assert validate_rule_set(preset.kind, preset.parameters) == [], preset.name
    assert {p.kind for p in PRESETS.values()} >= set(HISTORICAL_ORDER)


def test_a_kinds_parameter_checks_run_after_its_schema() -> None:
    parameters = PRESETS["optimised-award"].copy_parameters()
    parameters.update(min_winners_per_item=3, max_winners_per_item=2)
    assert validate_rule_set("optimised_award", parameters) == [
        ("$.max_winners_per_item", "must be at least min_winners_per_item (3)")
    ]
    # The optimised award's check is its own: the drug rule's schema rejects these first.
    errors = validate_rule_set("national_drug", parameters)
    assert ("$", "'winner_cap_by_bidders' is a required property") in errors
    assert [path for path, _ in errors if path != "$"] == []


# --- a kind added to the registry works through its entry alone ---------------------------


def _everyone_wins(item: Item, bids: Sequence[Bid], parameters: Mapping[str, Any]) -> ItemDecision:
    """A toy rule: every valid bid wins at its price for the whole term."""
    decision = valid_bids_for_optimisation(item, bids, parameters)
    return dataclasses.replace(
        decision,
        outcomes=tuple(
            dataclasses.replace(o, status="won") if o.status == "lost" else o
            for o in decision.outcomes
        ),
        agreed_volume_share=Decimal(1) if decision.winners else None,
        term_years=int(parameters["term_years"]) if decision.winners else None,
    )


@pytest.fixture
def toy_kind(monkeypatch: pytest.MonkeyPatch) -> kinds.Kind:
    toy = kinds.Kind(
        name="everyone_wins",
        label="Everyone wins",
        family=Family.CONSUMABLE,
        round_kinds=frozenset({RoundKind.CONSUMABLES}),
        decide=_everyone_wins,
        allocate=allocate_by_brand_choice,
        takes_choices=True,
        parameters_schema={
            "type": "object",
            "additionalProperties": False,
            "required": ["term_years"],
            "properties": {"term_years": {"type": "integer", "minimum": 1}},
        },
        item_requires=("reference_price",),
    )
    monkeypatch.setattr(kinds, "RULE_KINDS", MappingProxyType({**RULE_KINDS, toy.name: toy}))
    return toy


def _toy_document(**item: Any) -> dict[str, Any]:
    document = problem(
        "stent-renewal",
        bids_at("10", "12", "30"),
        ceiling="20",
        demand=[{"region": "P01", "quantity": 100}],
        item=item,
    )
    document["rule_set"] = {"kind": "everyone_wins", "parameters": {"term_years": 4}}
    return document


def test_a_new_kind_is_validated_decided_and_allocated_through_its_entry(
    toy_kind: kinds.Kind,
) -> None:
    assert kinds_for_round_kind("consumables")[-1] == "everyone_wins"
    assert "everyone_wins" in kinds_taking_choices()
    assert validate_rule_set("everyone_wins", {"term_years": 0}) == [
        ("$.term_years", "0 is less than the minimum of 1")
    ]
    with pytest.raises(ProblemError) as caught:
        problem_from_dict(_toy_document())
    assert caught.value.errors == [
        ("$.items[0].reference_price", "required by the everyone_wins rule kind")
    ]
    parsed = problem_from_dict(_toy_document(reference_price="25"))
    assert [d.winners for d in decide_items(parsed)] == [parsed.bids[:2]]
    result = solve(parsed)
    assert [(b.bid, b.status) for b in result.bids] == [
        ("B1", "won"),
        ("B2", "won"),
        ("B3", "invalid"),  # 30 is above the ceiling 20
    ]
    assert result.items[0].term_years == 4
    assert sum(a.quantity for a in result.allocations) == 100

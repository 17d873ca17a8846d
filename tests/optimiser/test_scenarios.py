"""Scenario comparison: several rule sets on the same bids."""

from decimal import Decimal

from procurement.optimiser import problem_from_dict
from procurement.optimiser.model import RuleSet
from procurement.optimiser.presets import PRESETS
from procurement.optimiser.scenarios import compare_scenarios, comparison_to_dict, hhi
from tests.optimiser.test_optimised_award import award_problem, brute_force_minimum


def preset_rule_set(name: str, **changes: object) -> RuleSet:
    preset = PRESETS[name]
    return RuleSet(preset.kind, {**preset.copy_parameters(), **changes}, name, preset.version)


def test_hhi_is_the_sum_of_squared_percentage_shares() -> None:
    assert hhi({"A": 50, "B": 50}) == Decimal("5000.00")
    assert hhi({"A": 1}) == Decimal("10000.00")
    assert hhi({}) == Decimal(0)


def test_comparison_table_reports_cost_winners_concentration_and_constraint_costs() -> None:
    problem = problem_from_dict(award_problem())
    rows = compare_scenarios(
        problem,
        [
            preset_rule_set("national-drug-batch-4"),
            preset_rule_set("optimised-award", time_limit_seconds=10),
        ],
    )
    national, optimised = rows
    assert national.kind == "national_drug"
    assert national.constraint_costs == ()
    assert optimised.total_cost == brute_force_minimum(2)
    assert optimised.winners == 2
    # Relaxing "at least 2 winners" to 1 saves exactly the brute-force difference.
    by_name = {c.constraint: c for c in optimised.constraint_costs}
    assert by_name["at least 2 winners per item"].cost_of_constraint == (
        brute_force_minimum(2) - brute_force_minimum(1)
    )
    assert by_name["bid capacity"].cost_of_constraint is not None
    assert by_name["bid capacity"].cost_of_constraint >= 0
    volumes = dict(optimised.volume_by_supplier)
    assert sum(volumes.values()) == 600
    assert optimised.hhi == hhi(volumes)
    table = comparison_to_dict(rows)
    assert Decimal(table[1]["total_cost"]) == brute_force_minimum(2)


def test_an_infeasible_scenario_has_no_cost_and_no_constraint_price() -> None:
    problem = problem_from_dict(award_problem())
    (row,) = compare_scenarios(
        problem, [preset_rule_set("optimised-award", min_winners_per_item=4, time_limit_seconds=5)]
    )
    assert row.status == "infeasible"
    assert row.total_cost is None
    relaxed = {c.constraint: c for c in row.constraint_costs}
    assert relaxed["at least 4 winners per item"].cost_without == brute_force_minimum(1)
    assert all(c.cost_of_constraint is None for c in row.constraint_costs)

"""Optimised award: minimum cost under supply-security constraints, and its explanations."""

import itertools
from decimal import Decimal

import pytest

from procurement.optimiser import optimised, problem_from_dict, solve
from tests.optimiser.conftest import problem

PRICES = {"B1": Decimal("10"), "B2": Decimal("11"), "B3": Decimal("12.5")}
DEMAND = {"P1": 100, "P2": 200, "P3": 300}
DELIVERY = {("B1", "P3"): Decimal("3"), ("B2", "P1"): Decimal("0.5")}
FIXED = {"B1": Decimal("500"), "B2": Decimal("0"), "B3": Decimal("0")}


def award_problem(**parameters: object) -> dict:
    bids = [
        {"id": b, "unit_price": str(p), "fixed_award_cost": str(FIXED[b])}
        for b, p in PRICES.items()
    ]
    bids[0]["capacity"] = 350
    return problem(
        "optimised-award",
        bids,
        ceiling="20",
        demand=[{"region": r, "quantity": q} for r, q in DEMAND.items()],
        region_costs=[
            {"bid": b, "region": r, "per_unit": str(c)} for (b, r), c in DELIVERY.items()
        ],
        parameters={"time_limit_seconds": 10, **parameters},
    )


def brute_force_minimum(min_winners: int) -> Decimal:
    best: Decimal | None = None
    for owners in itertools.product(PRICES, repeat=len(DEMAND)):
        if len(set(owners)) < min_winners:
            continue
        load = sum(q for (r, q), o in zip(DEMAND.items(), owners, strict=True) if o == "B1")
        if load > 350:
            continue
        cost = sum(
            (PRICES[o] + DELIVERY.get((o, r), Decimal(0))) * q
            for (r, q), o in zip(DEMAND.items(), owners, strict=True)
        ) + sum(FIXED[o] for o in set(owners))
        best = cost if best is None or cost < best else best
    assert best is not None
    return best


def test_optimised_award_finds_the_brute_force_minimum() -> None:
    result = solve(problem_from_dict(award_problem()))
    assert result.run.status == "optimal"
    assert result.run.objective == brute_force_minimum(2)
    assert result.totals.cost == brute_force_minimum(2)
    assert result.run.gap == Decimal("0.000000")


def test_minimum_winners_constraint_has_a_cost() -> None:
    one = solve(problem_from_dict(award_problem(min_winners_per_item=1)))
    three = solve(problem_from_dict(award_problem(min_winners_per_item=3)))
    assert one.run.objective == brute_force_minimum(1)
    assert three.run.objective == brute_force_minimum(3)
    assert len(three.items[0].winners) == 3


def test_highs_backend_reaches_the_same_optimum() -> None:
    result = solve(problem_from_dict(award_problem(backend="highs")))
    assert result.run.status == "optimal"
    assert result.run.solver == "highs (mathopt)"
    assert result.totals.cost == brute_force_minimum(2)


def test_split_supply_with_a_minimum_share_per_supplier() -> None:
    result = solve(
        problem_from_dict(
            award_problem(
                single_source_per_region=False, min_split_share="0.25", min_winners_per_item=1
            )
        )
    )
    assert result.run.status == "optimal"
    for allocation in result.allocations:
        assert allocation.quantity >= DEMAND[allocation.region] // 4
    # Splitting lets B1 fill its 350 units exactly: P1 100 + P2 200 + 50 of P3 would break
    # the 25% minimum (75), so B1 takes 75 of P3 at most 350 in all.
    assert sum(a.quantity for a in result.allocations if a.bid == "B1") <= 350


def test_maximum_supplier_share_limits_each_supplier() -> None:
    result = solve(
        problem_from_dict(award_problem(max_supplier_share="0.4", min_winners_per_item=1))
    )
    for bid in PRICES:
        assert sum(a.quantity for a in result.allocations if a.bid == bid) <= 240


def test_infeasible_scenario_names_the_conflicting_constraints() -> None:
    result = solve(
        problem_from_dict(award_problem(min_winners_per_item=1, max_supplier_share="0.3"))
    )
    assert result.run.status == "infeasible"
    # P3 alone is 300 of 600 units: whoever supplies it holds 50% > 30%.
    assert result.run.explanation == (
        "supply all 300 agreed units of item X in region P3 from one supplier",
        "supplier S-B1 at most 0.3 of all 600 units",
        "supplier S-B2 at most 0.3 of all 600 units",
        "supplier S-B3 at most 0.3 of all 600 units",
    )
    assert {b.status for b in result.bids} == {"lost"}
    assert result.allocations == ()


def test_too_few_valid_bids_for_the_minimum_number_of_winners_is_explained() -> None:
    result = solve(problem_from_dict(award_problem(min_winners_per_item=4)))
    assert result.run.explanation == ("at least 4 winners for item X",)


def test_capacity_shared_across_items_binds_the_supplier() -> None:
    document = award_problem(min_winners_per_item=1)
    document["items"].append(
        {
            "id": "Y",
            "name": "second item",
            "max_valid_bid_price": "20",
            "demand": [{"region": "P1", "quantity": 100}],
        }
    )
    document["bids"].append({"id": "C1", "item": "Y", "supplier": "S-B1", "unit_price": "1"})
    document["bids"].append({"id": "C2", "item": "Y", "supplier": "S-C2", "unit_price": "2"})
    document["suppliers"] = [
        {"id": "S-B1", "capacity": 300},
        {"id": "S-B2"},
        {"id": "S-B3"},
        {"id": "S-C2"},
    ]
    result = solve(problem_from_dict(document))
    used = sum(a.quantity for a in result.allocations if a.supplier == "S-B1")
    assert used <= 300
    assert result.run.status == "optimal"


def two_item_problem(**parameters: object) -> dict:
    document = award_problem(min_winners_per_item=1, **parameters)
    document["items"].append(
        {
            "id": "Y",
            "name": "second item",
            "max_valid_bid_price": "20",
            "demand": [{"region": "P1", "quantity": 100}],
        }
    )
    document["bids"].append({"id": "C1", "item": "Y", "supplier": "S-B1", "unit_price": "1"})
    document["bids"].append({"id": "C2", "item": "Y", "supplier": "S-C2", "unit_price": "2"})
    return document


def test_items_that_share_no_constraint_are_solved_as_separate_models() -> None:
    result = solve(problem_from_dict(two_item_problem()))
    assert result.run.solver == "auto: cp-sat (2 independent models)"
    assert result.run.status == "optimal"
    assert result.run.objective == brute_force_minimum(1) + 100  # C1 supplies Y at 1.00
    assert result.totals.cost == result.run.objective


def test_a_share_limit_links_items_into_one_model() -> None:
    result = solve(problem_from_dict(two_item_problem(max_supplier_share="0.9")))
    assert result.run.solver == "auto: cp-sat"


def test_no_solution_within_the_time_limit_is_reported_as_unknown_not_infeasible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Stands in for a model too hard for its time limit: CP-SAT stops without a solution.
    monkeypatch.setattr(optimised, "solve_cp_sat", lambda *args, **kwargs: ("unknown", None, None))
    result = solve(problem_from_dict(award_problem()))
    assert result.run.status == "unknown"
    assert result.run.explanation == ("no solution found within 10 s for item(s) X",)
    assert {b.reason for b in result.bids} == {"no award: the optimised scenario is unknown"}

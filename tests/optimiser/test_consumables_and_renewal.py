"""Consumables A/B groups with brand reassignment, and the stent renewal rule."""

from decimal import Decimal

import pytest

from procurement.optimiser import ProblemError, problem_from_dict, solve
from tests.optimiser.conftest import problem


def joints_problem() -> dict:
    bids = [
        {"id": "B1", "unit_price": "1000", "capacity": 70},
        {"id": "B2", "unit_price": "1200"},
        {"id": "B3", "unit_price": "2000"},
        {"id": "B4", "unit_price": "1500"},
    ]
    demand = [
        {
            "region": "P01",
            "quantity": 150,
            "hospitals": [
                {
                    "id": "H1",
                    "quantity": 100,
                    "brand_volumes": [{"bid": "B1", "quantity": 60}, {"bid": "B3", "quantity": 40}],
                    "reassign_to": ["B2"],
                },
                {"id": "H2", "quantity": 50, "brand_volumes": [{"bid": "B4", "quantity": 50}]},
            ],
        },
        {
            "region": "P02",
            "quantity": 50,
            "hospitals": [
                {"id": "H3", "quantity": 30, "brand_volumes": [{"bid": "B2", "quantity": 30}]},
                {"id": "H4", "quantity": 20, "brand_volumes": [{"bid": "B3", "quantity": 20}]},
            ],
        },
    ]
    return problem("consumables-joints", bids, ceiling="5000", demand=demand)


def test_group_a_holds_the_largest_suppliers_up_to_the_volume_share() -> None:
    result = solve(problem_from_dict(joints_problem()))
    groups = {b.bid: b.group for b in result.bids}
    assert groups == {"B1": "A", "B2": "B", "B3": "A", "B4": "A"}


def test_price_rule_applies_within_each_group() -> None:
    result = solve(problem_from_dict(joints_problem()))
    reasons = {b.bid: (b.status, b.reason) for b in result.bids}
    assert reasons["B3"] == (
        "lost",
        "group A: rank 3 of 3, cap 3; 2.00 x the group's lowest 1000, limit 1.8",
    )
    assert reasons["B2"] == (
        "won",
        "group B: rank 1 of 1, cap 1; 1.00 x the group's lowest 1200, limit 1.8",
    )
    assert result.items[0].winners == ("B1", "B2", "B4")


def test_losing_volume_goes_to_the_hospitals_choice_or_the_cheapest_capacity() -> None:
    result = solve(problem_from_dict(joints_problem()))
    rows = {(a.region, a.bid, a.source): a.quantity for a in result.allocations}
    assert rows == {
        ("P01", "B1", "hospital's intended volume"): 60,
        ("P01", "B2", "hospital's choice for a losing product"): 40,
        ("P01", "B4", "hospital's intended volume"): 50,
        ("P02", "B2", "hospital's intended volume"): 30,
        # H4 named nobody: B1 is cheapest but has 10 units of capacity left, B2 is next.
        ("P02", "B1", "minimum-cost default"): 10,
        ("P02", "B2", "minimum-cost default"): 10,
    }
    hospital_rows = {(h.hospital, h.bid): h.quantity for h in result.hospital_allocations}
    assert hospital_rows[("H4", "B1")] == 10
    assert hospital_rows[("H4", "B2")] == 10


def test_consumables_totals_are_exact() -> None:
    result = solve(problem_from_dict(joints_problem()))
    # B1 70 x 1000 + B2 80 x 1200 + B4 50 x 1500
    assert result.totals.cost == Decimal("241000.00")


def test_renewal_quote_not_above_the_previous_highest_winning_price_wins() -> None:
    bids = [
        {"id": "B1", "unit_price": "700"},
        {"id": "B2", "unit_price": "798"},
        {"id": "B3", "unit_price": "798.0001"},
    ]
    document = problem(
        "stent-renewal", bids, ceiling="1000", item={"previous_highest_winning_price": "798"}
    )
    result = solve(problem_from_dict(document))
    reasons = {b.bid: (b.status, b.reason) for b in result.bids}
    assert reasons == {
        "B1": ("won", "700 is not above the previous highest winning price 798"),
        "B2": ("won", "798 is not above the previous highest winning price 798"),
        "B3": ("lost", "798.0001 is above the previous highest winning price 798"),
    }
    assert result.items[0].term_years == 3


def test_consumables_without_hospital_detail_group_by_declared_intended_volume() -> None:
    bids = [
        {"id": "B1", "unit_price": "100", "intended_volume": 700, "capacity": 400},
        {"id": "B2", "unit_price": "150", "intended_volume": 200},
        {"id": "B3", "unit_price": "120", "intended_volume": 100},
    ]
    demand = [{"region": "P01", "quantity": 600}, {"region": "P02", "quantity": 400}]
    result = solve(
        problem_from_dict(problem("consumables-joints", bids, ceiling="500", demand=demand))
    )
    assert {b.bid: b.group for b in result.bids} == {"B1": "A", "B2": "A", "B3": "B"}
    # The province volumes go at minimum cost: B1 up to its capacity, then B3 (120).
    units = {}
    for allocation in result.allocations:
        units[allocation.bid] = units.get(allocation.bid, 0) + allocation.quantity
    assert units == {"B1": 400, "B3": 600}
    assert result.totals.cost == Decimal("112000.00")


def test_renewal_needs_the_previous_highest_winning_price() -> None:
    with pytest.raises(ProblemError) as caught:
        problem_from_dict(problem("stent-renewal", [{"id": "B1", "unit_price": "700"}]))
    assert caught.value.errors == [
        ("$.items[0].previous_highest_winning_price", "required by the renewal rule kind")
    ]

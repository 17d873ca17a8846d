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


# --- a product nobody bid ---------------------------------------------------------------------


def unbid_problem(h1_unbid: int = 20) -> dict:
    """H1 declares 100 of B1's product and ``h1_unbid`` of product P9, which nobody bid,
    and chooses B2 for its lost volume; H3 declares 40 of B1's and 30 of P9 and chooses
    nobody. B1 (1,000, capacity 150) and B2 (1,200) form group A, B3 (1,100) group B:
    all three win."""
    bids = [
        {"id": "B1", "unit_price": "1000", "capacity": 150},
        {"id": "B2", "unit_price": "1200"},
        {"id": "B3", "unit_price": "1100"},
    ]
    demand = [
        {
            "region": "P01",
            "quantity": 150 + h1_unbid,
            "hospitals": [
                {
                    "id": "H1",
                    "quantity": 100 + h1_unbid,
                    "brand_volumes": [
                        {"bid": "B1", "quantity": 100},
                        {"product": "P9", "quantity": h1_unbid},
                    ],
                    "reassign_to": ["B2"],
                },
                {"id": "H2", "quantity": 50, "brand_volumes": [{"bid": "B2", "quantity": 50}]},
            ],
        },
        {
            "region": "P02",
            "quantity": 70,
            "hospitals": [
                {
                    "id": "H3",
                    "quantity": 70,
                    "brand_volumes": [
                        {"product": "P9", "quantity": 30},
                        {"bid": "B1", "quantity": 40},
                    ],
                },
            ],
        },
    ]
    return problem("consumables-joints", bids, ceiling="5000", demand=demand)


def test_a_winning_product_keeps_its_volume_beside_a_product_nobody_bid() -> None:
    result = solve(problem_from_dict(unbid_problem()))
    assert result.items[0].winners == ("B1", "B3", "B2")
    hospital_rows = {(h.hospital, h.bid): h.quantity for h in result.hospital_allocations}
    # H1's 100 of the winning B1 stay with B1, exactly; the 20 of P9 go to its choice B2.
    assert hospital_rows[("H1", "B1")] == 100
    assert hospital_rows[("H1", "B2")] == 20
    assert sum(q for (h, _), q in hospital_rows.items() if h == "H1") == 120


def test_an_unbid_products_volume_goes_to_the_choice_or_the_cheapest_winner_with_capacity() -> None:
    result = solve(problem_from_dict(unbid_problem()))
    rows = {(a.region, a.bid, a.source): a.quantity for a in result.allocations}
    assert rows == {
        ("P01", "B1", "hospital's intended volume"): 100,
        ("P01", "B2", "hospital's intended volume"): 50,
        ("P01", "B2", "hospital's choice for a losing product"): 20,
        ("P02", "B1", "hospital's intended volume"): 40,
        # H3 chose nobody: B1 (1,000) has 150 - 140 = 10 sets left, then B3 (1,100).
        ("P02", "B1", "minimum-cost default"): 10,
        ("P02", "B3", "minimum-cost default"): 20,
    }
    hospital_rows = {(h.hospital, h.bid): h.quantity for h in result.hospital_allocations}
    assert {k: v for k, v in hospital_rows.items() if k[0] == "H3"} == {
        ("H3", "B1"): 50,
        ("H3", "B3"): 20,
    }
    # 150 x 1,000 + 70 x 1,200 + 20 x 1,100
    assert result.totals.cost == Decimal("256000.00")
    assert result.run.warning_parts == ()


def test_an_unbid_products_volume_counts_for_no_bidder_in_the_groups() -> None:
    result = solve(problem_from_dict(unbid_problem(h1_unbid=500)))
    # B1 140, B2 50, B3 0 intended sets: P9's 530 would put everyone in group A if counted.
    assert {b.bid: b.group for b in result.bids} == {"B1": "A", "B2": "A", "B3": "B"}
    assert "of 190 intended units" in result.items[0].notes[0]


def test_the_input_hash_covers_the_volume_of_a_product_nobody_bid() -> None:
    twenty = problem_from_dict(unbid_problem(20))
    again = problem_from_dict(unbid_problem(20))
    thirty = problem_from_dict(unbid_problem(30))
    assert twenty.input_hash == again.input_hash
    assert twenty.input_hash != thirty.input_hash
    relabelled = unbid_problem(20)
    relabelled["items"][0]["demand"][0]["hospitals"][0]["brand_volumes"][1]["product"] = "P8"
    assert problem_from_dict(relabelled).input_hash != twenty.input_hash


def test_a_product_nobody_bid_reads_back_from_the_canonical_document() -> None:
    from procurement.optimiser import problem_to_dict
    from procurement.optimiser.model import BrandVolume

    parsed = problem_from_dict(unbid_problem())
    h1 = parsed.items[0].demand[0].hospitals[0]
    assert h1.brand_volumes == (BrandVolume("B1", 100), BrandVolume(None, 20, "P9"))
    document = problem_to_dict(parsed)
    assert document["items"][0]["demand"][0]["hospitals"][0]["brand_volumes"] == [
        {"bid": "B1", "quantity": 100},
        {"product": "P9", "quantity": 20},
    ]
    assert problem_from_dict(document) == parsed


def _brand_errors(brand_volumes: list, quantity: int = 20) -> list[tuple[str, str]]:
    document = unbid_problem()
    hospital = document["items"][0]["demand"][1]["hospitals"][0]
    hospital["brand_volumes"] = brand_volumes
    hospital["quantity"] = quantity
    document["items"][0]["demand"][1]["quantity"] = quantity
    with pytest.raises(ProblemError) as caught:
        problem_from_dict(document)
    return caught.value.errors


def test_a_brand_volume_names_a_bid_or_a_product_not_both_nor_neither() -> None:
    at = "$.items[0].demand[1].hospitals[0].brand_volumes"
    expected = "expected a brand volume naming either a bid or, for a product nobody bid, a product"
    assert _brand_errors([{"bid": "B1", "product": "P9", "quantity": 20}]) == [
        (
            f"{at}[0]",
            f"{expected} (not both), got {{'bid': 'B1', 'product': 'P9', 'quantity': 20}}",
        )
    ]
    assert _brand_errors([{"quantity": 20}]) == [
        (f"{at}[0]", f"{expected} (not both), got {{'quantity': 20}}")
    ]
    assert _brand_errors([{"product": "", "quantity": 20}]) == [
        (f"{at}[0].product", "expected a non-empty id string of at most 100 characters, got ''")
    ]


def test_unbid_volumes_count_in_the_hospitals_quantity_and_a_product_is_listed_once() -> None:
    at = "$.items[0].demand[1].hospitals[0]"
    assert _brand_errors(
        [{"bid": "B1", "quantity": 5}, {"product": "P9", "quantity": 10}], quantity=20
    ) == [(f"{at}.quantity", "expected the sum of its brand volumes (15), got 20")]
    assert _brand_errors(
        [{"product": "P9", "quantity": 10}, {"product": "P9", "quantity": 10}], quantity=20
    ) == [(f"{at}.brand_volumes", "product 'P9' is listed twice")]

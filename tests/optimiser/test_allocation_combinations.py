"""Allocation after the rule layer: provinces, backups, delivery costs, capacity, hospitals.

DESIGN.md §2.1 rule 8: each of the 31 provincial units is supplied by exactly one winner;
the lowest-priced winner picks first, then winners in rank order take one province each
per round (4 winners of 31 get 9/8/7/7); each winner also picks backup provinces that are
not its own; the platform assigns what a winner does not choose. Every allocation row is
asserted field by field: bid, agreed quantity, unit price, delivery cost, cost, backup,
source.
"""

from __future__ import annotations

from typing import Any

import pytest

from procurement.optimiser.allocation import draft_counts, largest_remainder
from tests.optimiser.conftest import bids_at, problem, provinces
from tests.optimiser.outcomes import AllocationRow, ItemRow, allocations, item, run

PREFERENCE = "winner's preference"
PLATFORM = "platform assignment (minimum cost)"


def national(bids: list[dict], demand: list[dict], **top: Any) -> dict:
    return problem("national-drug-batch-4", bids, ceiling="2.00", demand=demand, **top)


def test_one_winner_supplies_every_province_with_no_backup() -> None:
    """Rule 8 with one winner; rule 7: one winner agrees 50% of the demand for a year."""
    demand = [{"region": "P01", "quantity": 101}, {"region": "P02", "quantity": 300}]
    result = run(national(bids_at("1.00"), demand))
    assert allocations(result) == {
        # 50% of 101 = 50.5, half up 51
        "P01": AllocationRow("B1", 51, "1.00", "0", "51.00", None, PLATFORM),
        "P02": AllocationRow("B1", 150, "1.00", "0", "150.00", None, PLATFORM),
    }
    assert item(result) == ItemRow(("B1",), 1, 1, 1, "0.5", 1, 201, "201.00")


def test_two_winners_back_each_other_up() -> None:
    """Rule 8 with exactly two winners: each province's backup is the other winner.

    Draft for 2 winners of 3 provinces: B1, B1, B2. At minimum cost the cheaper B1 takes
    the two largest provinces (agreed 60%: 180 and 120), B2 the smallest (60).
    """
    demand = [
        {"region": "P01", "quantity": 100},
        {"region": "P02", "quantity": 300},
        {"region": "P03", "quantity": 200},
    ]
    result = run(national(bids_at("1.00", "1.01"), demand))
    assert allocations(result) == {
        "P01": AllocationRow("B2", 60, "1.01", "0", "60.60", "B1", PLATFORM),
        "P02": AllocationRow("B1", 180, "1.00", "0", "180.00", "B2", PLATFORM),
        "P03": AllocationRow("B1", 120, "1.00", "0", "120.00", "B2", PLATFORM),
    }
    assert item(result) == ItemRow(("B1", "B2"), 2, 2, 2, "0.6", 1, 360, "360.60")


@pytest.mark.parametrize(
    ("winners", "counts"),
    [(1, [31]), (2, [16, 15]), (3, [11, 10, 10]), (4, [9, 8, 7, 7]), (5, [7, 6, 6, 6, 6])],
)
def test_the_rank_order_draft_of_31_provinces(winners: int, counts: list[int]) -> None:
    """Rule 8: one province to the lowest first, then one each per round in rank order."""
    assert draft_counts(winners, 31) == counts
    # Through the whole solve: bidders for w winners under the batch 4 cap table.
    bidders = {1: 1, 2: 2, 3: 4, 4: 5, 5: 7}[winners]
    prices = [f"1.{k:02d}" for k in range(bidders)]
    result = run(national(bids_at(*prices), provinces(31, 1000)))
    regions_of: dict[str, int] = {}
    for row in allocations(result).values():
        regions_of[row.bid] = regions_of.get(row.bid, 0) + 1
    assert [regions_of[f"B{k}"] for k in range(1, winners + 1)] == counts
    share = {1: 500, 2: 600, 3: 700, 4: 800, 5: 800}[winners]
    cents = sum(c * share * (100 + k) for k, c in enumerate(counts))  # bid k+1 at 1.0k
    assert item(result).cost == f"{cents // 100}.{cents % 100:02d}"


def test_preferences_are_taken_in_draft_order_across_31_provinces() -> None:
    """Rule 8: 4 winners who all want the provinces in the same order P01, P02, ... get
    them in draft order: B1 P01 (the first pick) and P02, then B2, B3, B4, B1, ..."""
    everyone_wants = [f"P{k:02d}" for k in range(1, 32)]
    document = bids_at("1.00", "1.01", "1.02", "1.03", "1.04")  # 5 bidders: cap 4
    for bid in document:
        bid["region_preferences"] = everyone_wants
    rows = allocations(run(national(document, provinces(31, 1000))))
    owners = {region: row.bid for region, row in rows.items()}
    draft = ["B1", "B1"] + [f"B{k % 4 + 1}" for k in range(1, 30)]
    assert owners == {f"P{k:02d}": draft[k - 1] for k in range(1, 32)}
    assert {row.source for row in rows.values()} == {PREFERENCE}
    assert [list(owners.values()).count(f"B{k}") for k in range(1, 5)] == [9, 8, 7, 7]


def three_winners_four_provinces(**top: Any) -> dict:
    """B1, B2, B3 win (4 bidders: cap 3); the draft B1, B1, B2, B3 honours preferences."""
    document = bids_at("1.00", "1.01", "1.02", "1.03")
    document[0]["region_preferences"] = ["P01", "P02"]
    document[1]["region_preferences"] = ["P03"]
    document[2]["region_preferences"] = ["P04"]
    return national(document, provinces(4, 1000), **top)


def test_a_delivery_cost_changes_the_backup_and_is_charged_on_the_owner() -> None:
    """Rule 8 backups: another winner, the cheapest by price plus delivery cost.

    B2 (1.01) is the cheapest other winner for P01, but delivering there costs it 0.05 a
    unit more: B3 (1.02) backs P01 up. B1 delivers P02 at 0.10 a unit plus 5.00 fixed:
    700 x 0.10 + 5 = 75.00, on top of 700 x 1.00.
    """
    result = run(
        three_winners_four_provinces(
            region_costs=[
                {"bid": "B2", "region": "P01", "per_unit": "0.05"},
                {"bid": "B1", "region": "P02", "per_unit": "0.10", "fixed": "5"},
            ]
        )
    )
    assert allocations(result) == {
        "P01": AllocationRow("B1", 700, "1.00", "0", "700.00", "B3", PREFERENCE),
        "P02": AllocationRow("B1", 700, "1.00", "75.00", "775.00", "B2", PREFERENCE),
        "P03": AllocationRow("B2", 700, "1.01", "0", "707.00", "B1", PREFERENCE),
        "P04": AllocationRow("B3", 700, "1.02", "0", "714.00", "B1", PREFERENCE),
    }
    assert item(result) == ItemRow(("B1", "B2", "B3"), 4, 4, 3, "0.7", 2, 2800, "2896.00")


def test_a_named_backup_beats_a_cheaper_one_and_never_backs_its_own_province() -> None:
    """Rule 8: each winner picks backup provinces that are not its own."""
    document = three_winners_four_provinces()
    document["bids"][2]["backup_preferences"] = ["P03", "P04"]  # P04 is B3's own
    backups = {r: row.backup for r, row in allocations(run(document)).items()}
    assert backups == {"P01": "B2", "P02": "B2", "P03": "B3", "P04": "B1"}


def test_preference_provinces_use_up_capacity_before_the_platform_assigns() -> None:
    """DESIGN.md §3: the platform assigns within declared capacities.

    B1 (capacity 1,000) took P01 by preference: 600 agreed units, 400 left. The draft owes
    it one more province: P02 (600) would be cheaper but does not fit, P03 (300) does.
    """
    document = bids_at("1.00", "1.01")
    document[0]["capacity"] = 1000
    document[0]["region_preferences"] = ["P01"]
    demand = [
        {"region": "P01", "quantity": 1000},
        {"region": "P02", "quantity": 1000},
        {"region": "P03", "quantity": 500},
    ]
    result = run(national(document, demand))
    assert allocations(result) == {
        "P01": AllocationRow("B1", 600, "1.00", "0", "600.00", "B2", PREFERENCE),
        "P02": AllocationRow("B2", 600, "1.01", "0", "606.00", "B1", PLATFORM),
        "P03": AllocationRow("B1", 300, "1.00", "0", "300.00", "B2", PLATFORM),
    }
    assert result.run.warnings == ()
    assert result.run.status == "optimal"


def test_a_shortfall_counts_the_preference_provinces_too() -> None:
    """B1 (capacity 500) is already 100 over with its preferred P01 (600); the least
    shortfall adds P03 (300): 400 units more than its capacity, reported."""
    document = bids_at("1.00", "1.01")
    document[0]["capacity"] = 500
    document[0]["region_preferences"] = ["P01"]
    document[1]["capacity"] = 600
    demand = [
        {"region": "P01", "quantity": 1000},
        {"region": "P02", "quantity": 1000},
        {"region": "P03", "quantity": 500},
    ]
    result = run(national(document, demand))
    owners = {r: row.bid for r, row in allocations(result).items()}
    assert owners == {"P01": "B1", "P02": "B2", "P03": "B1"}
    assert result.run.warnings == (
        "item X: bid B1 is assigned 400 units more than its declared capacity 500: "
        "capacity shortfall",
    )


def test_largest_remainder_leftovers_go_by_fraction_not_by_id() -> None:
    """Hospitals get the province's agreed volume in proportion to their demand, exactly;
    a unit left over goes to the largest fraction, the id decides only a tie."""
    # 10 in 1:2 -> 3.33 and 6.67: the leftover unit goes to b (.67), not to a (.33)
    assert largest_remainder(10, [("a", 1), ("b", 2)]) == {"a": 3, "b": 7}
    assert largest_remainder(7, [("a", 1), ("b", 1), ("c", 5)]) == {"a": 1, "b": 1, "c": 5}
    assert largest_remainder(5, [("a", 0), ("b", 0)]) == {"a": 0, "b": 0}
    # One winner (50%): 3,001 -> 1,500.5 -> 1,501 agreed units. H1 (2,000) gets
    # 1,501 x 2,000 / 3,001 = 1,000.33, H2 (1,001) 500.67: the leftover unit goes to H2.
    demand = [
        {
            "region": "P01",
            "quantity": 3001,
            "hospitals": [{"id": "H1", "quantity": 2000}, {"id": "H2", "quantity": 1001}],
        }
    ]
    result = run(national(bids_at("1.00"), demand))
    rows = {(h.hospital, h.bid, h.region): h.quantity for h in result.hospital_allocations}
    assert rows == {("H1", "B1", "P01"): 1000, ("H2", "B1", "P01"): 501}


def test_hospitals_of_every_province_get_their_supplier() -> None:
    """Each province's hospitals are served by that province's one supplier."""
    demand = [
        {
            "region": "P01",
            "quantity": 30,
            "hospitals": [{"id": "H1", "quantity": 10}, {"id": "H2", "quantity": 20}],
        },
        {"region": "P02", "quantity": 50, "hospitals": [{"id": "H3", "quantity": 50}]},
        {"region": "P03", "quantity": 100},
    ]
    document = bids_at("1.00", "1.01")
    document[1]["region_preferences"] = ["P01"]  # the draft's third pick is B2's
    result = run(national(document, demand))
    rows = {(h.hospital, h.bid, h.region): h.quantity for h in result.hospital_allocations}
    # 60%: P01 18 (B2's choice: 6 and 12), P02 30 (B1); P03 names no hospital
    assert rows == {("H1", "B2", "P01"): 6, ("H2", "B2", "P01"): 12, ("H3", "B1", "P02"): 30}

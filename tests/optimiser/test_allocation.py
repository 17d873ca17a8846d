"""Province draft, preferences, minimum-cost assignment, backups, hospitals."""

from decimal import Decimal

from procurement.optimiser import problem_from_dict, solve
from procurement.optimiser.allocation import draft_counts, largest_remainder, lay_out
from tests.optimiser.conftest import bids_at, problem, provinces


def test_four_winners_of_31_provinces_get_9_8_7_7() -> None:
    assert draft_counts(4, 31) == [9, 8, 7, 7]


def test_draft_counts_for_one_two_and_six_winners() -> None:
    assert draft_counts(1, 31) == [31]
    assert draft_counts(2, 31) == [16, 15]
    assert draft_counts(6, 31) == [6, 5, 5, 5, 5, 5]


def test_largest_remainder_splits_exactly_and_breaks_ties_by_id() -> None:
    assert largest_remainder(10, [("a", 1), ("b", 1), ("c", 1)]) == {"a": 4, "b": 3, "c": 3}
    assert (
        sum(largest_remainder(999_999_999, [("a", 7), ("b", 11), ("c", 13)]).values())
        == 999_999_999
    )


def test_lay_out_gives_each_hospital_as_few_suppliers_as_the_totals_allow() -> None:
    rows = lay_out([("h2", 5), ("h1", 5)], [("B1", 7), ("B2", 3)])
    assert rows == [("h1", "B1", 5), ("h2", "B1", 2), ("h2", "B2", 3)]


def national(bids: list[dict], n: int = 31, quantity: int = 1000) -> dict:
    return problem("national-drug-batch-4", bids, ceiling="2.0000", demand=provinces(n, quantity))


def test_each_province_has_exactly_one_supplier_with_draft_counts() -> None:
    result = solve(problem_from_dict(national(bids_at("1.00", "1.01", "1.02", "1.03", "1.04"))))
    # 5 bidders -> cap 4 winners, 31 provinces.
    regions_of: dict[str, int] = {}
    for allocation in result.allocations:
        regions_of[allocation.bid] = regions_of.get(allocation.bid, 0) + 1
    assert regions_of == {"B1": 9, "B2": 8, "B3": 7, "B4": 7}
    assert len({a.region for a in result.allocations}) == 31
    assert result.items[0].agreed_volume == 31 * 800
    assert result.totals.cost == Decimal("25144.00")  # 800 x (9x1.00 + 8x1.01 + 7x1.02 + 7x1.03)


def test_preferences_are_honoured_in_draft_order() -> None:
    bids = bids_at("1.00", "1.01")
    bids[0]["region_preferences"] = ["P03", "P01"]
    bids[1]["region_preferences"] = ["P03", "P02"]
    result = solve(problem_from_dict(national(bids, n=4)))
    owner = {a.region: (a.bid, a.source) for a in result.allocations}
    assert owner["P03"] == ("B1", "winner's preference")  # B1 picks first
    assert owner["P01"] == ("B1", "winner's preference")  # then B1 again (1 + round robin)
    assert owner["P02"] == ("B2", "winner's preference")  # B2's first choice was taken
    # Draft order for 2 winners of 4 provinces is B1, B1, B2, B1: B1's list is used up.
    assert owner["P04"] == ("B1", "platform assignment (minimum cost)")


def test_platform_assignment_minimises_price_plus_delivery_cost() -> None:
    bids = bids_at("1.00", "1.01")
    demand = [
        {"region": "P01", "quantity": 100},
        {"region": "P02", "quantity": 1000},
        {"region": "P03", "quantity": 1000},
    ]
    document = problem(
        "national-drug-batch-4",
        bids,
        ceiling="2.0000",
        demand=demand,
        region_costs=[{"bid": "B1", "region": "P02", "per_unit": "0.5000"}],
    )
    result = solve(problem_from_dict(document))
    owner = {a.region: a.bid for a in result.allocations}
    # Draft: B1 takes two provinces, B2 one; P02 costs B1 1.50 per unit, so B2 takes it.
    assert owner == {"P01": "B1", "P02": "B2", "P03": "B1"}
    assert result.run.status == "optimal"


def test_capacity_decides_the_assignment() -> None:
    bids = bids_at("1.00", "1.01")
    bids[0]["capacity"] = 700
    demand = [
        {"region": "P01", "quantity": 125},
        {"region": "P02", "quantity": 1200},
        {"region": "P03", "quantity": 1000},
    ]
    result = solve(
        problem_from_dict(problem("national-drug-batch-4", bids, ceiling="2.0000", demand=demand))
    )
    owner = {a.region: a.bid for a in result.allocations}
    # Cheapest would give B1 the 720 agreed units of P02; its capacity of 700 forbids it.
    assert owner == {"P01": "B1", "P02": "B2", "P03": "B1"}
    assert result.run.warnings == ()


def test_capacity_shortfall_is_reported_not_hidden() -> None:
    bids = bids_at("1.00", "1.01")
    bids[0]["capacity"] = 50
    bids[1]["capacity"] = 50
    demand = [
        {"region": "P01", "quantity": 100},
        {"region": "P02", "quantity": 1000},
        {"region": "P03", "quantity": 1000},
    ]
    result = solve(
        problem_from_dict(problem("national-drug-batch-4", bids, ceiling="2.0000", demand=demand))
    )
    # Any draft-respecting assignment is 1,160 units short; the cheapest one is chosen.
    assert result.run.warnings == (
        "item X: bid B1 is assigned 1150 units more than its declared capacity 50: "
        "capacity shortfall",
        "item X: bid B2 is assigned 10 units more than its declared capacity 50: "
        "capacity shortfall",
    )
    assert len(result.allocations) == 3  # every province still has its supplier


def test_backup_supplier_is_another_winner_and_honours_named_backups() -> None:
    bids = bids_at("1.00", "1.01", "1.02", "1.03")  # 4 bidders: cap 3
    bids[0]["region_preferences"] = ["P01", "P02"]
    bids[1]["region_preferences"] = ["P03"]
    bids[2]["backup_preferences"] = ["P01"]
    result = solve(problem_from_dict(national(bids, n=4)))
    # Draft B1, B1, B2, B3: B3 gets the province left over.
    owners = {a.region: (a.bid, a.backup_bid) for a in result.allocations}
    assert owners == {
        "P01": ("B1", "B3"),  # B3 named P01 as a backup
        "P02": ("B1", "B2"),  # otherwise the cheapest other winner
        "P03": ("B2", "B1"),
        "P04": ("B3", "B1"),
    }


def test_single_winner_has_no_backup() -> None:
    result = solve(problem_from_dict(national(bids_at("1.00"), n=3)))
    assert {a.backup_bid for a in result.allocations} == {None}


def test_hospitals_receive_their_agreed_share_summing_exactly_to_the_province() -> None:
    demand = [
        {
            "region": "P01",
            "quantity": 1001,
            "hospitals": [
                {"id": "H1", "quantity": 333},
                {"id": "H2", "quantity": 334},
                {"id": "H3", "quantity": 334},
            ],
        }
    ]
    result = solve(
        problem_from_dict(
            problem(
                "national-drug-batch-4", bids_at("1.00", "1.10"), ceiling="2.0000", demand=demand
            )
        )
    )
    rows = {h.hospital: h.quantity for h in result.hospital_allocations}
    assert sum(rows.values()) == result.allocations[0].quantity == 601  # 60% of 1001
    assert rows == {"H1": 200, "H2": 201, "H3": 200}  # remainders .93, .53, .53: by size, then id

"""Consumables groups and the stent renewal rule at their boundaries, outcomes in full.

Figures from DESIGN.md §2.2 and the joints preset's rule document: group A is the
largest suppliers that together hold the first 80% of the intended volume, the price rule
(at most 1.8 x the group's lowest) applies per group; the 2022 stent renewal awards any
quote not above the previous highest winning price.
"""

from __future__ import annotations

from tests.optimiser.conftest import problem
from tests.optimiser.outcomes import BidRow, ItemRow, bids, item, run


def joints(*rows: tuple[str, str, int], parameters: dict | None = None) -> dict:
    """Bids (id, unit price, intended volume) of the joints rule, no hospital detail."""
    document = [{"id": b, "unit_price": p, "intended_volume": v} for b, p, v in rows]
    return problem("consumables-joints", document, ceiling="5000", parameters=parameters)


def test_a_bidder_starting_exactly_at_80_percent_of_the_volume_is_in_group_b() -> None:
    """DESIGN.md §2.2: group A holds the first 80% of the intended volume (national joints
    round). B1's 800 of 1,000 units fill it; B2 starts at 800, so it is group B."""
    result = run(joints(("B1", "100", 800), ("B2", "150", 200)))
    assert bids(result) == {
        "B1": BidRow(
            "won",
            1,
            "100",
            "100",
            "group A: rank 1 of 1, cap 1; 1.00 x the group's lowest 100, limit 1.8",
            "A",
        ),
        "B2": BidRow(
            "won",
            1,
            "150",
            "150",
            "group B: rank 1 of 1, cap 1; 1.00 x the group's lowest 150, limit 1.8",
            "B",
        ),
    }
    assert item(result) == ItemRow(("B1", "B2"), 2, 2, None, "1", 2, 0, "0.00")
    assert result.items[0].notes == (
        "group A: the largest suppliers holding the first 80.0% of 1000 intended units",
    )


def test_a_bidder_starting_just_under_80_percent_is_in_group_a() -> None:
    """DESIGN.md §2.2: B1's 799 of 1,000 leave group A one unit short of 80%: B2 joins it."""
    result = run(joints(("B1", "100", 799), ("B2", "150", 201)))
    assert bids(result)["B2"] == BidRow(
        "won",
        2,
        "150",
        "150",
        "group A: rank 2 of 2, cap 2; 1.50 x the group's lowest 100, limit 1.8",
        "A",
    )
    assert item(result).winners == ("B1", "B2")


def test_exactly_1_8_times_the_groups_lowest_wins_and_a_fen_more_loses() -> None:
    """DESIGN.md §2.2: the price rule per group (joints: at most 1.8 x the group's lowest)."""
    at = run(joints(("B1", "100", 500), ("B2", "180", 300), ("B3", "400", 200)))
    assert bids(at) == {
        "B1": BidRow(
            "won",
            1,
            "100",
            "100",
            "group A: rank 1 of 2, cap 2; 1.00 x the group's lowest 100, limit 1.8",
            "A",
        ),
        "B2": BidRow(
            "won",
            2,
            "180",
            "180",
            "group A: rank 2 of 2, cap 2; 1.80 x the group's lowest 100, limit 1.8",
            "A",
        ),
        # B3 starts at 800 of 1,000: group B, where it is the lowest.
        "B3": BidRow(
            "won",
            1,
            "400",
            "400",
            "group B: rank 1 of 1, cap 1; 1.00 x the group's lowest 400, limit 1.8",
            "B",
        ),
    }
    assert item(at) == ItemRow(("B1", "B2", "B3"), 3, 3, None, "1", 2, 0, "0.00")
    above = run(joints(("B1", "100", 500), ("B2", "180.01", 300), ("B3", "400", 200)))
    assert bids(above)["B2"] == BidRow(
        "lost",
        2,
        None,
        "180.01",
        "group A: rank 2 of 2, cap 2; 1.8001 x the group's lowest 100, limit 1.8",
        "A",
    )
    assert item(above).winners == ("B1", "B3")


def test_a_consumables_cap_table_limits_each_group() -> None:
    """A rule set may cap winners per group by its number of members (the joints preset
    has no cap table; DESIGN.md §2.2 gives none, so [1, 1, 2] is made up for the test)."""
    rows = (("B1", "100", 300), ("B2", "110", 300), ("B3", "120", 300), ("B4", "130", 100))
    capped = run(joints(*rows, parameters={"winner_cap_by_bidders": [1, 1, 2]}))
    assert bids(capped) == {
        "B1": BidRow(
            "won",
            1,
            "100",
            "100",
            "group A: rank 1 of 3, cap 2; 1.00 x the group's lowest 100, limit 1.8",
            "A",
        ),
        "B2": BidRow(
            "won",
            2,
            "110",
            "110",
            "group A: rank 2 of 3, cap 2; 1.10 x the group's lowest 100, limit 1.8",
            "A",
        ),
        "B3": BidRow("lost", 3, None, "120", "group A: rank 3 of 3, cap 2", "A"),
        "B4": BidRow(
            "won",
            1,
            "130",
            "130",
            "group B: rank 1 of 1, cap 1; 1.00 x the group's lowest 130, limit 1.8",
            "B",
        ),
    }
    assert item(capped).winners == ("B1", "B2", "B4")
    # Without a cap table every member within 1.8x of its group's lowest wins.
    assert item(run(joints(*rows))).winners == ("B1", "B2", "B3", "B4")


def test_without_any_intended_volume_every_bidder_is_in_group_a() -> None:
    """DESIGN.md §2.2: group A is the largest suppliers; with no volume declared at all,
    nobody is smaller than anybody, so all are group A under one price rule."""
    result = run(joints(("B1", "100", 0), ("B2", "200", 0), ("B3", "150", 0)))
    assert {b: (r.group, r.status, r.rank) for b, r in bids(result).items()} == {
        "B1": ("A", "won", 1),
        "B2": ("A", "lost", 3),
        "B3": ("A", "won", 2),
    }
    assert bids(result)["B2"].reason == (
        "group A: rank 3 of 3, cap 3; 2.00 x the group's lowest 100, limit 1.8"
    )
    assert result.items[0].notes == (
        "group A: the largest suppliers holding the first 80.0% of 0 intended units",
    )


def test_renewal_quotes_at_and_above_the_previous_highest_winning_price() -> None:
    """DESIGN.md §2.2: stent renewal (2022): any quote not above the previous highest
    winning price wins; one ten-thousandth of a yuan above loses."""
    document = problem(
        "stent-renewal",
        [
            {"id": "B1", "unit_price": "798"},
            {"id": "B2", "unit_price": "700"},
            {"id": "B3", "unit_price": "798.0001"},
        ],
        ceiling="1000",
        item={"previous_highest_winning_price": "798"},
    )
    result = run(document)
    assert bids(result) == {
        "B1": BidRow(
            "won", 2, "798", "798", "798 is not above the previous highest winning price 798"
        ),
        "B2": BidRow(
            "won", 1, "700", "700", "700 is not above the previous highest winning price 798"
        ),
        "B3": BidRow(
            "lost",
            3,
            None,
            "798.0001",
            "798.0001 is above the previous highest winning price 798",
        ),
    }
    assert item(result) == ItemRow(("B2", "B1"), 3, 3, None, "1", 3, 0, "0.00")


def test_renewal_with_no_quote_under_the_limit_awards_nothing() -> None:
    document = problem(
        "stent-renewal",
        [{"id": "B1", "unit_price": "900"}],
        ceiling="1000",
        item={"previous_highest_winning_price": "798"},
    )
    assert item(run(document)) == ItemRow((), 1, 1, None, None, None, 0, "0.00")


def test_a_group_ratio_a_millionth_above_the_limit_is_shown_above_it() -> None:
    """DESIGN.md §3 ("explained per bid"): 180.0001 / 100 = 1.800001 never reads 1.8000."""
    result = run(joints(("B1", "100", 500), ("B2", "180.0001", 300), ("B3", "400", 200)))
    assert bids(result)["B2"] == BidRow(
        "lost",
        2,
        None,
        "180.0001",
        "group A: rank 2 of 2, cap 2; 1.800001 x the group's lowest 100, limit 1.8",
        "A",
    )


def test_at_exactly_1_8_the_group_ratio_is_coded_within_the_limit() -> None:
    """The reason's codes (the result format; the web page words them per language) say
    which side of the limit the ratio is on, also at exactly 1.8."""
    result = run(joints(("B1", "100", 500), ("B2", "180", 300), ("B3", "400", 200)))
    b2 = next(b for b in result.bids if b.bid == "B2")
    assert [p.code for p in b2.reason_parts] == ["group_rank", "group_ratio_within"]
    above = run(joints(("B1", "100", 500), ("B2", "180.01", 300), ("B3", "400", 200)))
    b2 = next(b for b in above.bids if b.bid == "B2")
    assert [p.code for p in b2.reason_parts] == ["group_rank", "group_ratio_above"]


def test_group_ratios_of_prices_under_one_yuan() -> None:
    """0.50 and 1.00 in one group: 2.00 x the group's lowest, above 1.8."""
    result = run(joints(("B1", "0.50", 500), ("B2", "1.00", 300), ("B3", "400", 200)))
    assert bids(result)["B2"] == BidRow(
        "lost",
        2,
        None,
        "1.00",
        "group A: rank 2 of 2, cap 2; 2.00 x the group's lowest 0.50, limit 1.8",
        "A",
    )


def test_a_group_a_share_is_shown_rounded_half_up() -> None:
    """A rule set's group A share of 81.25% reads 81.3% (and 812.5 of 1,000 units: B2,
    starting at 800, is still group A)."""
    result = run(
        joints(
            ("B1", "100", 800),
            ("B2", "150", 200),
            parameters={"group_a_volume_share": "0.8125"},
        )
    )
    assert result.items[0].notes == (
        "group A: the largest suppliers holding the first 81.3% of 1000 intended units",
    )
    assert {b: r.group for b, r in bids(result).items()} == {"B1": "A", "B2": "A"}


def test_winners_tied_across_groups_are_listed_by_bid_id_after_the_rule_sets_order() -> None:
    """DESIGN.md §2.1 rule 6: the bid id ends every tie-break order, also when the rule
    set's order does not name it (here capacity only)."""
    result = run(
        joints(("B2", "150", 800), ("B1", "150", 200), parameters={"tie_break": ["capacity_desc"]})
    )
    assert {b: r.group for b, r in bids(result).items()} == {"B1": "B", "B2": "A"}
    assert item(result).winners == ("B1", "B2")

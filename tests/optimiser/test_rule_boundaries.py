"""Every published drug rule at its boundary, with whole outcomes asserted.

Figures are typed in from DESIGN.md §2.1 (which gathers them from the batches' rule
documents; the source of each is in the test's docstring), never read from the presets,
so a preset or a rule that drifts from the published rule fails here. Prices are per
smallest unit with four decimals (the published precision), so "just above" a limit is
0.0001 yuan above it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.optimiser.conftest import bids_at, problem
from tests.optimiser.outcomes import BidRow, ItemRow, bids, item, run

# DESIGN.md §2.1 rule 4: winner caps by the number N of bidders (index 0 is N = 1; the
# last entry holds for every larger N).
CAPS_BATCH_2 = [1, 2, 2, 3, 4, 4, 5, 5, 6, 6, 6, 6, 6]  # batch 2 document, table 2
CAPS_BATCH_4_AND_9 = [1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9, 10]  # batch 4 table 1; batch 9
CAPS_BATCH_10 = [1, 2, 2, 3, 3, 3, 4, 5, 6, 6, 7, 8, 8, 9, 9, 10]  # batch 10: N=16+ -> 10


def cap_for(table: list[int], n: int) -> int:
    return table[min(n, len(table)) - 1]


def close_prices(n: int) -> list[str]:
    """n prices 0.0001 apart from 1.0000: every one within 1.8x of the lowest."""
    return [f"{Decimal(1) + Decimal('0.0001') * k:.4f}" for k in range(n)]


# --- condition (a): at most 1.8 times the lowest ------------------------------------------


def test_exactly_1_8_times_the_lowest_wins() -> None:
    """DESIGN.md §2.1 rule 5(a), batches 2-9: "at most 1.8 times the lowest"."""
    result = run(problem("national-drug-batch-4", bids_at("0.5000", "0.9000"), ceiling="1.0000"))
    # 0.9000 / 0.5000 = 1.8 exactly; (b) 0.9000 > 0.10 and (c) a 10% cut both fail.
    assert bids(result) == {
        "B1": BidRow(
            "won",
            1,
            "0.5000",
            "0.5000",
            "rank 1 of 2 valid bids, cap 2 for 2 bidders; 1.00 x the lowest 0.5000, limit 1.8",
        ),
        "B2": BidRow(
            "won",
            2,
            "0.9000",
            "0.9000",
            "rank 2 of 2 valid bids, cap 2 for 2 bidders; 1.80 x the lowest 0.5000, limit 1.8",
        ),
    }
    assert item(result) == ItemRow(("B1", "B2"), 2, 2, 2, "0.6", 1, 0, "0.00")


def test_one_ten_thousandth_above_1_8_times_the_lowest_loses() -> None:
    """DESIGN.md §2.1 rule 5(a): 0.9001 is 1.8002 x 0.5000, above the limit."""
    result = run(problem("national-drug-batch-4", bids_at("0.5000", "0.9001"), ceiling="1.0000"))
    assert bids(result)["B2"] == BidRow(
        "lost",
        2,
        None,
        "0.9001",
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 1.8002 x the lowest 0.5000, limit 1.8; "
        "0.9001 per unit is above 0.10; cuts 10.0% from the maximum valid bid price 1.0000, "
        "needs 50.0%",
    )
    assert item(result) == ItemRow(("B1",), 2, 2, 2, "0.5", 1, 0, "0.00")


def test_a_ratio_a_millionth_above_the_limit_is_shown_above_it() -> None:
    """DESIGN.md §3 ("explained per bid"): a lost bid's ratio never reads as the limit."""
    result = run(
        problem("national-drug-batch-4", bids_at("100.0000", "180.0001"), ceiling="200.0000")
    )
    # 180.0001 / 100 = 1.800001: at four decimals that would read 1.8000, "within" 1.8.
    assert bids(result)["B2"] == BidRow(
        "lost",
        2,
        None,
        "180.0001",
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 1.800001 x the lowest 100.0000, "
        "limit 1.8; 180.0001 per unit is above 0.10; cuts 10.0% from the maximum valid bid "
        "price 200.0000, needs 50.0%",
    )


# --- condition (b): at most 0.10 yuan per unit --------------------------------------------


def test_exactly_ten_fen_per_unit_wins() -> None:
    """DESIGN.md §2.1 rule 5(b), batches 2-9: "at most 0.10 yuan per unit"."""
    result = run(problem("national-drug-batch-4", bids_at("0.0400", "0.1000"), ceiling="0.1500"))
    # 0.1000 / 0.0400 = 2.5 fails (a); the cut (0.15 - 0.10) / 0.15 = 33.3% fails (c).
    assert bids(result)["B2"] == BidRow(
        "won",
        2,
        "0.1000",
        "0.1000",
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 0.1000 per unit is at most 0.10",
    )
    assert item(result).winners == ("B1", "B2")


def test_one_ten_thousandth_above_ten_fen_loses() -> None:
    """DESIGN.md §2.1 rule 5(b): 0.1001 is above 0.10."""
    result = run(problem("national-drug-batch-4", bids_at("0.0400", "0.1001"), ceiling="0.1500"))
    assert bids(result)["B2"] == BidRow(
        "lost",
        2,
        None,
        "0.1001",
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 2.50 x the lowest 0.0400, limit 1.8; "
        "0.1001 per unit is above 0.10; cuts 33.3% from the maximum valid bid price 0.1500, "
        "needs 50.0%",
    )
    assert item(result) == ItemRow(("B1",), 2, 2, 2, "0.5", 1, 0, "0.00")


# --- condition (c): a cut of at least 50% from the maximum valid bid price ----------------


def test_exactly_a_half_cut_from_the_ceiling_wins() -> None:
    """DESIGN.md §2.1 rule 5(c), batches 2-9: "cuts at least 50% from the ceiling"."""
    result = run(problem("national-drug-batch-4", bids_at("0.5000", "1.0000"), ceiling="2.0000"))
    # 1.0000 / 0.5000 = 2.0 fails (a); 1.0000 > 0.10 fails (b); (2 - 1) / 2 = 50% meets (c).
    assert bids(result)["B2"] == BidRow(
        "won",
        2,
        "1.0000",
        "1.0000",
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; cuts 50.0% from the maximum valid bid "
        "price 2.0000, needs 50.0%",
    )
    assert item(result) == ItemRow(("B1", "B2"), 2, 2, 2, "0.6", 1, 0, "0.00")


def test_just_under_a_half_cut_loses_and_says_by_how_much() -> None:
    """DESIGN.md §2.1 rule 5(c): 1.0001 of 2.0000 cuts 49.995%, short of 50%."""
    result = run(problem("national-drug-batch-4", bids_at("0.5000", "1.0001"), ceiling="2.0000"))
    assert bids(result)["B2"] == BidRow(
        "lost",
        2,
        None,
        "1.0001",
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 2.00 x the lowest 0.5000, limit 1.8; "
        "1.0001 per unit is above 0.10; cuts 49.995% from the maximum valid bid price 2.0000, "
        "needs 50.0%",
    )
    assert item(result).winners == ("B1",)


# --- the maximum valid bid price ----------------------------------------------------------


def test_a_bid_exactly_at_the_ceiling_is_valid_and_above_it_invalid() -> None:
    """DESIGN.md §2.1 rule 3: a bid *above* the maximum valid bid price is invalid.

    Rule 4: the bidders whose price is invalid still count toward N (3 bidders: cap 2).
    """
    result = run(
        problem("national-drug-batch-4", bids_at("1.0000", "1.0001", "1.0100"), ceiling="1.0000")
    )
    assert bids(result) == {
        "B1": BidRow(
            "won",
            1,
            "1.0000",
            "1.0000",
            "rank 1 of 1 valid bids, cap 2 for 3 bidders; 1.00 x the lowest 1.0000, limit 1.8",
        ),
        "B2": BidRow(
            "invalid", None, None, "1.0001", "1.0001 is above the maximum valid bid price 1.0000"
        ),
        "B3": BidRow(
            "invalid", None, None, "1.0100", "1.0100 is above the maximum valid bid price 1.0000"
        ),
    }
    assert item(result) == ItemRow(("B1",), 3, 1, 2, "0.5", 1, 0, "0.00")


def specification_item() -> dict:
    """10 mg (ceiling 0.5000 a tablet) bid on an item whose representative is 20 mg."""
    return {
        "representative_specification": "20mg",
        "specifications": [
            {"id": "10mg", "strength": "10", "max_valid_bid_price": "0.5000"},
            {"id": "20mg", "strength": "20", "max_valid_bid_price": "0.8000"},
        ],
    }


def test_a_specifications_own_ceiling_applies_to_its_bid_price() -> None:
    """DESIGN.md §2.1 rule 3: the ceiling is per specification; at it valid, above it not.

    A bid at 10 mg's ceiling 0.5000 is 0.8500 on 20 mg (x1.7), above the item's 0.8000:
    its own specification's ceiling decides, not the comparable price.
    """
    document = problem(
        "national-drug-batch-4",
        [
            {"id": "B1", "unit_price": "0.5000", "specification": "10mg"},
            {"id": "B2", "unit_price": "0.5001", "specification": "10mg"},
            {"id": "B3", "unit_price": "0.8000", "specification": "20mg"},
            {"id": "B4", "unit_price": "0.8001", "specification": "20mg"},
        ],
        ceiling="0.8000",
        item=specification_item(),
    )
    result = run(document)
    assert bids(result) == {
        "B1": BidRow(
            "won",
            2,
            "0.8500",
            "0.8500",
            "rank 2 of 2 valid bids, cap 3 for 4 bidders; 1.06 x the lowest 0.8000, limit 1.8",
        ),
        "B2": BidRow(
            "invalid",
            None,
            None,
            "0.8502",
            "0.5001 is above the maximum valid bid price 0.5000 of specification 10mg",
        ),
        "B3": BidRow(
            "won",
            1,
            "0.8000",
            "0.8000",
            "rank 1 of 2 valid bids, cap 3 for 4 bidders; 1.00 x the lowest 0.8000, limit 1.8",
        ),
        "B4": BidRow(
            "invalid",
            None,
            None,
            "0.8001",
            "0.8001 is above the maximum valid bid price 0.8000 of specification 20mg",
        ),
    }


def test_an_ineligible_bidder_is_invalid_and_does_not_count_toward_n() -> None:
    """DESIGN.md §2.1 rules 3-4: N counts *eligible* companies that bid."""
    document = bids_at("1.0000", "1.0001", "1.0002", "1.0003")
    document[3]["eligible"] = False
    result = run(problem("national-drug-batch-4", document, ceiling="2.0000"))
    # 3 eligible bidders: cap 2 (batch 4), not 3 as 4 bidders would give.
    assert bids(result)["B4"] == BidRow("invalid", None, None, "1.0003", "not eligible")
    assert bids(result)["B3"] == BidRow(
        "lost", 3, None, "1.0002", "rank 3 of 3 valid bids, cap 2 for 3 bidders"
    )
    assert item(result) == ItemRow(("B1", "B2"), 3, 3, 2, "0.6", 1, 0, "0.00")


def test_a_supplier_counts_once_toward_n_and_is_ranked_by_its_lowest_bid() -> None:
    """DESIGN.md §2.1 rule 4: N counts companies, not bids."""
    document = bids_at("1.0000", "1.0001", "1.0002", "1.0003")
    document[3]["supplier"] = "S-B1"  # B4 is B1's second bid
    result = run(problem("national-drug-batch-4", document, ceiling="2.0000"))
    assert bids(result)["B4"] == BidRow(
        "lost", None, None, "1.0003", "supplier S-B1 is ranked by its lower bid B1 (1.0000)"
    )
    assert item(result) == ItemRow(("B1", "B2"), 3, 3, 2, "0.6", 1, 0, "0.00")


# --- the winner caps, every N ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "table"),
    [
        ("national-drug-batch-2", CAPS_BATCH_2),
        ("national-drug-batch-4", CAPS_BATCH_4_AND_9),
        ("national-drug-batch-10", CAPS_BATCH_10),
    ],
)
@pytest.mark.parametrize("n", range(1, 21))
def test_the_cap_table_at_every_number_of_bidders(preset: str, table: list[int], n: int) -> None:
    """DESIGN.md §2.1 rule 4 (batch 2 table 2; batch 4 table 1, also batch 9; batch 10).

    n bidders 0.0001 apart all meet 1.8x: exactly the cap win, in rank order, and every
    bid ranked past the cap is still in the result with its rank and the reason.
    """
    cap = cap_for(table, n)
    result = run(problem(preset, bids_at(*close_prices(n)), ceiling="2.0000"))
    expected = {}
    for rank, price in enumerate(close_prices(n), start=1):
        position = f"rank {rank} of {n} valid bids, cap {cap} for {n} bidders"
        if rank <= cap:
            ratio = (Decimal(price) / 1).quantize(Decimal("0.01"))
            reason = f"{position}; {ratio} x the lowest 1.0000, limit 1.8"
            expected[f"B{rank}"] = BidRow("won", rank, price, price, reason)
        else:
            expected[f"B{rank}"] = BidRow("lost", rank, None, price, position)
    assert bids(result) == expected
    assert item(result).winners == tuple(f"B{k}" for k in range(1, cap + 1))
    assert item(result).winner_cap == cap


def test_every_bid_ranked_past_the_cap_stays_in_the_result() -> None:
    """DESIGN.md §2.1 rule 4: batch 2, 13 bidders, cap 6: seven bids lose by rank alone.

    Even a bid past the cap that would meet a price condition (B13 at 0.0500 would meet
    every one) loses by rank; the ranking after the first loser is not cut short.
    """
    prices = [f"0.0{k:02d}0" for k in range(38, 50)]  # 0.0380 ... 0.0490
    document = bids_at(*prices)
    document.append({"id": "B13", "unit_price": "0.0500"})
    result = run(problem("national-drug-batch-2", document, ceiling="0.1000"))
    rows = bids(result)
    assert len(rows) == 13
    for rank in range(7, 14):
        assert rows[f"B{rank}"] == BidRow(
            "lost",
            rank,
            None,
            prices[rank - 1] if rank < 13 else "0.0500",
            f"rank {rank} of 13 valid bids, cap 6 for 13 bidders",
        )
    assert item(result).winners == ("B1", "B2", "B3", "B4", "B5", "B6")


# --- agreed volume share and contract term by number of winners ---------------------------

# DESIGN.md §2.1 rule 7 (batch 7 announcement; batches 2-5): 1 winner 50%, 2 60%, 3 70%,
# 4+ 80%; term 1 or 2 winners 1 year, 3 winners 2 years, 4+ 3 years. The batch 4 cap
# table gives w winners from these numbers of bidders (all within 1.8x).
BIDDERS_FOR_WINNERS = {1: 1, 2: 2, 3: 4, 4: 5, 5: 7, 6: 8}


@pytest.mark.parametrize(
    ("winners", "share", "term", "agreed"),
    [
        (1, "0.5", 1, 500),
        (2, "0.6", 1, 600),
        (3, "0.7", 2, 700),
        (4, "0.8", 3, 800),
        (5, "0.8", 3, 800),
        (6, "0.8", 3, 800),
    ],
)
def test_volume_share_and_term_by_number_of_winners(
    winners: int, share: str, term: int, agreed: int
) -> None:
    """DESIGN.md §2.1 rule 7, the general rule (batch 7 announcement, batches 2-5)."""
    n = BIDDERS_FOR_WINNERS[winners]
    result = run(
        problem(
            "national-drug-batch-4",
            bids_at(*close_prices(n)),
            ceiling="2.0000",
            demand=[{"region": "P01", "quantity": 1000}],
        )
    )
    row = item(result)
    assert (len(row.winners), row.share, row.term, row.agreed_volume) == (
        winners,
        share,
        term,
        agreed,
    )
    # The lowest bid picks the one province first and supplies its agreed volume.
    assert row.cost == f"{agreed * 1:.2f}"


@pytest.mark.parametrize(
    ("winners", "share", "term"),
    [(1, "0.3", 1), (2, "0.4", 1), (3, "0.5", 2), (4, "0.5", 2), (6, "0.5", 2)],
)
def test_listed_antimicrobials_share_and_term(winners: int, share: str, term: int) -> None:
    """DESIGN.md §2.1 rule 7 and shared/data/vbp/rule_tables.csv: batch 7's listed
    antibiotics and antifungals, 1 winner 30% 1 year, 2 winners 40% 1 year, 3+ 50% 2 years."""
    n = BIDDERS_FOR_WINNERS[winners]
    result = run(
        problem("national-drug-batch-7-antimicrobial", bids_at(*close_prices(n)), ceiling="2")
    )
    row = item(result)
    assert (len(row.winners), row.share, row.term) == (winners, share, term)


@pytest.mark.parametrize(
    ("winners", "share"), [(1, "0.4"), (2, "0.5"), (3, "0.6"), (4, "0.7"), (5, "0.7")]
)
def test_the_40_to_70_percent_antibiotic_variant_is_a_rule_set_table(
    winners: int, share: str
) -> None:
    """DESIGN.md §2.1 rule 7: "Some antibiotics used ... 40/50/60/70%" (batches 2-5,
    listed antibiotics, per the third-party code cited in rule_tables.csv)."""
    n = BIDDERS_FOR_WINNERS[winners]
    document = problem(
        "national-drug-batch-4",
        bids_at(*close_prices(n)),
        ceiling="2",
        parameters={"volume_share_by_winners": ["0.4", "0.5", "0.6", "0.7"]},
    )
    assert item(run(document)).share == share


# --- ties: the rule set's published order -------------------------------------------------


def tied(*extra: dict) -> list[dict]:
    """B1 at 0.2000, then B2 and B3 tied at 0.2500 for the second of two places."""
    document = bids_at("0.2000", "0.2500", "0.2500")
    for bid, fields in zip(document[1:], extra, strict=True):
        bid.update(fields)
    return document


def test_a_tie_at_the_cap_goes_by_the_published_tie_break_rank() -> None:
    """DESIGN.md §2.1 rule 6; the presets' order: tie_break_rank, capacity_desc, bid_id."""
    result = run(
        problem("national-drug-batch-2", tied({"tie_break_rank": 2}, {"tie_break_rank": 1}))
    )
    assert bids(result) == {
        "B1": BidRow(
            "won",
            1,
            "0.2000",
            "0.2000",
            "rank 1 of 3 valid bids, cap 2 for 3 bidders; 1.00 x the lowest 0.2000, limit 1.8",
        ),
        "B2": BidRow(
            "lost",
            3,
            None,
            "0.2500",
            "rank 3 of 3 valid bids, cap 2 for 3 bidders (tied at 0.2500 with B3; ties ordered "
            "by tie_break_rank, capacity_desc, bid_id)",
        ),
        "B3": BidRow(
            "won",
            2,
            "0.2500",
            "0.2500",
            "rank 2 of 3 valid bids, cap 2 for 3 bidders; 1.25 x the lowest 0.2000, limit 1.8 "
            "(tied at 0.2500 with B2; ties ordered by tie_break_rank, capacity_desc, bid_id)",
        ),
    }
    assert item(result) == ItemRow(("B1", "B3"), 3, 3, 2, "0.6", 1, 0, "0.00")


def test_a_bid_without_a_tie_break_rank_comes_after_one_with_a_rank() -> None:
    """DESIGN.md §2.1 rule 6: a missing rank sorts after every given one."""
    result = run(problem("national-drug-batch-2", tied({}, {"tie_break_rank": 5})))
    assert (bids(result)["B2"].rank, bids(result)["B3"].rank) == (3, 2)
    assert item(result).winners == ("B1", "B3")


def test_a_tie_without_ranks_goes_to_the_larger_capacity_then_the_bid_id() -> None:
    """DESIGN.md §2.1 rule 6; presets: capacity_desc second (no capacity counts as 0)."""
    larger = run(problem("national-drug-batch-2", tied({}, {"capacity": 1})))
    assert item(larger).winners == ("B1", "B3")
    assert bids(larger)["B2"] == BidRow(
        "lost",
        3,
        None,
        "0.2500",
        "rank 3 of 3 valid bids, cap 2 for 3 bidders (tied at 0.2500 with B3; ties ordered "
        "by tie_break_rank, capacity_desc, bid_id)",
    )
    by_id = run(problem("national-drug-batch-2", tied({"capacity": 7}, {"capacity": 7})))
    assert item(by_id).winners == ("B1", "B2")
    assert (bids(by_id)["B2"].rank, bids(by_id)["B3"].rank) == (2, 3)


def test_the_rule_sets_own_tie_break_order_is_applied_and_named() -> None:
    """DESIGN.md §2.1 rule 6: the order is part of the rule set; bid_id always ends it."""
    document = problem(
        "national-drug-batch-2",
        tied({"tie_break_rank": 1, "capacity": 10}, {"tie_break_rank": 2, "capacity": 20}),
        parameters={"tie_break": ["capacity_desc", "tie_break_rank"]},
    )
    result = run(document)
    assert item(result).winners == ("B1", "B3")
    assert bids(result)["B2"].reason == (
        "rank 3 of 3 valid bids, cap 2 for 3 bidders (tied at 0.2500 with B3; ties ordered "
        "by capacity_desc, tie_break_rank, bid_id)"
    )
    # By the presets' order (rank first) B2 would have won.
    presets_order = run(
        problem(
            "national-drug-batch-2",
            tied({"tie_break_rank": 1, "capacity": 10}, {"tie_break_rank": 2, "capacity": 20}),
        )
    )
    assert item(presets_order).winners == ("B1", "B2")


# --- batch 10: no 50% condition; a bidder failing 1.8x may accept the highest price ------


def batch10(*extra: dict, parameters: dict | None = None) -> dict:
    """4 valid bids and 3 above the ceiling: 7 bidders, batch 10 cap 4."""
    document = bids_at("0.5000", "0.6000", "0.8000", "1.2000", "5.0000", "5.0000", "5.0000")
    for bid, fields in zip(document[3:], extra, strict=False):
        bid.update(fields)
    return problem("national-drug-batch-10", document, ceiling="2.0000", parameters=parameters)


def test_batch10_a_bid_failing_1_8x_wins_at_the_highest_winning_price_if_it_accepts() -> None:
    """DESIGN.md §2.1 rule 9 (batch 10 announcement): no condition (c); a bidder failing
    (a) may still win by accepting the highest winning price."""
    result = run(batch10({"accepts_price_adjustment": True}))
    invalid = "5.0000 is above the maximum valid bid price 2.0000"
    assert bids(result) == {
        "B1": BidRow(
            "won",
            1,
            "0.5000",
            "0.5000",
            "rank 1 of 4 valid bids, cap 4 for 7 bidders; 1.00 x the lowest 0.5000, limit 1.8",
        ),
        "B2": BidRow(
            "won",
            2,
            "0.6000",
            "0.6000",
            "rank 2 of 4 valid bids, cap 4 for 7 bidders; 1.20 x the lowest 0.5000, limit 1.8",
        ),
        "B3": BidRow(
            "won",
            3,
            "0.8000",
            "0.8000",
            "rank 3 of 4 valid bids, cap 4 for 7 bidders; 1.60 x the lowest 0.5000, limit 1.8",
        ),
        "B4": BidRow(
            "won",
            4,
            "0.8000",
            "1.2000",
            "rank 4 of 4 valid bids, cap 4 for 7 bidders; 2.40 x the lowest 0.5000, limit 1.8; "
            "1.2000 per unit is above 0.10; won at the adjusted price 0.8000 (the highest "
            "winning price), accepted in the bid",
        ),
        "B5": BidRow("invalid", None, None, "5.0000", invalid),
        "B6": BidRow("invalid", None, None, "5.0000", invalid),
        "B7": BidRow("invalid", None, None, "5.0000", invalid),
    }
    assert item(result) == ItemRow(("B1", "B2", "B3", "B4"), 7, 4, 4, "0.8", 3, 0, "0.00")


def test_batch10_a_bid_that_does_not_accept_loses_with_every_figure() -> None:
    """DESIGN.md §2.1 rule 9: without accepting, a bid failing (a) and (b) loses."""
    result = run(batch10())
    assert bids(result)["B4"] == BidRow(
        "lost",
        4,
        None,
        "1.2000",
        "rank 4 of 4 valid bids, cap 4 for 7 bidders; 2.40 x the lowest 0.5000, limit 1.8; "
        "1.2000 per unit is above 0.10; did not accept the adjusted price",
    )
    assert item(result) == ItemRow(("B1", "B2", "B3"), 7, 4, 4, "0.7", 2, 0, "0.00")


def test_batch10_exactly_1_8x_wins_at_its_own_price() -> None:
    """DESIGN.md §2.1 rules 5(a) and 9: batch 10 keeps "at most 1.8 times the lowest"."""
    result = run(batch10({"unit_price": "0.9000"}))
    assert bids(result)["B4"] == BidRow(
        "won",
        4,
        "0.9000",
        "0.9000",
        "rank 4 of 4 valid bids, cap 4 for 7 bidders; 1.80 x the lowest 0.5000, limit 1.8",
    )


def test_batch10_a_half_cut_no_longer_wins() -> None:
    """DESIGN.md §2.1 rule 9: batch 10 dropped condition (c)."""
    # 0.9001 cuts 55% from 2.0000 but is 1.8002 x the lowest.
    result = run(batch10({"unit_price": "0.9001"}))
    assert bids(result)["B4"] == BidRow(
        "lost",
        4,
        None,
        "0.9001",
        "rank 4 of 4 valid bids, cap 4 for 7 bidders; 1.8002 x the lowest 0.5000, limit 1.8; "
        "0.9001 per unit is above 0.10; did not accept the adjusted price",
    )


def test_batch10_a_bid_past_the_cap_loses_even_if_it_accepts() -> None:
    """DESIGN.md §2.1 rules 4 and 9: the adjusted price is for bids inside the cap."""
    document = bids_at("0.5000", "0.6000", "1.2000", "1.3000")  # 4 bidders: cap 3
    document[3]["accepts_price_adjustment"] = True
    result = run(problem("national-drug-batch-10", document, ceiling="2.0000"))
    assert bids(result)["B4"] == BidRow(
        "lost", 4, None, "1.3000", "rank 4 of 4 valid bids, cap 3 for 4 bidders"
    )
    assert item(result).winners == ("B1", "B2")


def test_batch10_ratio_to_lowest_variant_rounds_the_adjusted_price_half_up() -> None:
    """The rule set's "ratio_to_lowest" adjusted price is limit x lowest, half up to 0.0001.

    A made-up limit of 1.85 (the published one, 1.8, times a four-decimal price never ends
    in a half): 1.85 x 0.0010 = 0.00185 -> 0.0019.
    """
    document = problem(
        "national-drug-batch-10",
        [
            {"id": "B1", "unit_price": "0.0010"},
            {"id": "B2", "unit_price": "0.0050", "accepts_price_adjustment": True},
        ],
        ceiling="2.0000",
        parameters={
            "adjusted_price": "ratio_to_lowest",
            "price_conditions": {
                "max_ratio_to_lowest": "1.85",
                "max_unit_price": None,
                "min_cut_from_ceiling": None,
            },
        },
    )
    result = run(document)
    assert bids(result)["B2"] == BidRow(
        "won",
        2,
        "0.0019",
        "0.0050",
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 5.00 x the lowest 0.0010, limit 1.85; "
        "won at the adjusted price 0.0019 (1.85 x the lowest), accepted in the bid",
    )


# --- batch 11: the anchor price and its 1.8x circuit breaker --------------------------------


def test_batch11_exactly_1_8_times_the_anchor_wins() -> None:
    """DESIGN.md §2.1 rule 9 (batch 11): anchor = max(50% of the average shortlisted
    price, the lowest bid), and a 1.8 x anchor circuit breaker.

    4 bidders: cap 3 (batch 10/11 table). Shortlist 0.5, 1.8, 3.7: average 2.0, half of it
    1.0 is above the lowest 0.5, so the anchor is 1.0000; 1.8000 is exactly 1.8 x anchor.
    """
    result = run(
        problem(
            "national-drug-batch-11",
            bids_at("0.5000", "1.8000", "3.7000", "9.0000"),
            ceiling="10.0000",
        )
    )
    assert result.items[0].notes == (
        "anchor price 1.0000 = max(50.0% of the shortlisted average 2.0000, the lowest 0.5000)",
    )
    position = "valid bids, cap 3 for 4 bidders"
    assert bids(result) == {
        "B1": BidRow(
            "won",
            1,
            "0.5000",
            "0.5000",
            f"rank 1 of 4 {position}; 0.50 x the anchor price 1.0000, limit 1.8",
        ),
        "B2": BidRow(
            "won",
            2,
            "1.8000",
            "1.8000",
            f"rank 2 of 4 {position}; 1.80 x the anchor price 1.0000, limit 1.8",
        ),
        "B3": BidRow(
            "lost",
            3,
            None,
            "3.7000",
            f"rank 3 of 4 {position}; 3.70 x the anchor price 1.0000, limit 1.8",
        ),
        "B4": BidRow("lost", 4, None, "9.0000", f"rank 4 of 4 {position}"),
    }
    assert item(result) == ItemRow(("B1", "B2"), 4, 4, 3, "0.6", 1, 0, "0.00")


def test_batch11_one_ten_thousandth_above_1_8_times_the_anchor_loses() -> None:
    """DESIGN.md §2.1 rule 9: the same average (0.5 + 1.8001 + 3.6999 = 6), anchor 1.0000."""
    result = run(
        problem(
            "national-drug-batch-11",
            bids_at("0.5000", "1.8001", "3.6999", "9.0000"),
            ceiling="10.0000",
        )
    )
    assert bids(result)["B2"] == BidRow(
        "lost",
        2,
        None,
        "1.8001",
        "rank 2 of 4 valid bids, cap 3 for 4 bidders; 1.8001 x the anchor price 1.0000, limit 1.8",
    )
    assert item(result) == ItemRow(("B1",), 4, 4, 3, "0.5", 1, 0, "0.00")


def test_batch11_the_anchor_is_the_lowest_bid_when_half_the_average_is_below_it() -> None:
    """DESIGN.md §2.1 rule 9: max(half the shortlisted average, the lowest bid)."""
    result = run(
        problem(
            "national-drug-batch-11",
            bids_at("1.0000", "1.8000", "1.8001", "9.0000"),
            ceiling="10.0000",
        )
    )
    # average of the shortlist 4.6001 / 3 = 1.5334, half of it 0.7667 < the lowest 1.0000
    assert result.items[0].notes == (
        "anchor price 1.0000 = max(50.0% of the shortlisted average 1.5334, the lowest 1.0000)",
    )
    rows = bids(result)
    assert rows["B2"].status == "won"
    assert rows["B3"] == BidRow(
        "lost",
        3,
        None,
        "1.8001",
        "rank 3 of 4 valid bids, cap 3 for 4 bidders; 1.8001 x the anchor price 1.0000, limit 1.8",
    )
    assert item(result).winners == ("B1", "B2")


def test_batch11_the_anchor_is_rounded_half_up() -> None:
    """DESIGN.md §2.1 rule 9, prices to 0.0001 yuan: 3 bidders, cap 2, shortlist 0.5000
    and 3.5002, average 2.0001, half of it 1.00005 -> 1.0001 (half even: 1.0000)."""
    result = run(
        problem("national-drug-batch-11", bids_at("0.5000", "3.5002", "9.0000"), ceiling="10.0000")
    )
    assert result.items[0].notes == (
        "anchor price 1.0001 = max(50.0% of the shortlisted average 2.0001, the lowest 0.5000)",
    )
    assert bids(result)["B2"].reason == (
        "rank 2 of 3 valid bids, cap 2 for 3 bidders; 3.50 x the anchor price 1.0001, limit 1.8"
    )


def test_no_valid_bid_leaves_the_item_unawarded_with_every_count() -> None:
    """DESIGN.md §2.1 rules 3-4: two bidders, both above the ceiling."""
    result = run(problem("national-drug-batch-4", bids_at("2.0000", "3.0000")))
    assert item(result) == ItemRow((), 2, 0, None, None, None, 0, "0.00")
    assert result.items[0].notes == ("no valid bid: the item is not awarded",)


def test_a_ratio_is_shown_rounded_half_up_at_every_precision() -> None:
    """0.9000 / 0.8000 = 1.125 reads 1.13; 36.0010 / 20 = 1.80005 reads 1.8001 (half up
    at four decimals already shows it above 1.8)."""
    within = run(problem("national-drug-batch-4", bids_at("0.8000", "0.9000"), ceiling="1.0000"))
    assert bids(within)["B2"].reason == (
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 1.13 x the lowest 0.8000, limit 1.8"
    )
    above = run(problem("national-drug-batch-4", bids_at("20.0000", "36.0010"), ceiling="40"))
    assert bids(above)["B2"].reason == (
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 1.8001 x the lowest 20.0000, limit 1.8; "
        "36.0010 per unit is above 0.10; cuts 10.0% from the maximum valid bid price 40, "
        "needs 50.0%"
    )

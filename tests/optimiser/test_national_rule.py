"""The national drug rule (batches 2 to 9), its batch 10 and batch 11 variants."""

from decimal import Decimal

from procurement.optimiser import problem_from_dict, solve
from procurement.optimiser.model import Result
from tests.optimiser.conftest import bids_at, problem


def run(document: dict) -> Result:
    return solve(problem_from_dict(document))


def outcome(result: Result, bid: str) -> tuple[str, str]:
    found = next(b for b in result.bids if b.bid == bid)
    return found.status, found.reason


def test_bid_above_ceiling_is_invalid_with_reason() -> None:
    result = run(problem("national-drug-batch-4", bids_at("0.5000", "9.0000"), ceiling="8.8229"))
    assert outcome(result, "B2") == (
        "invalid",
        "9.0000 is above the maximum valid bid price 8.8229",
    )


def test_ineligible_bid_is_invalid_with_its_reason() -> None:
    bids = bids_at("0.5000", "0.6000")
    bids[1]["eligible"] = False
    bids[1]["ineligible_reason"] = "has not passed consistency evaluation"
    result = run(problem("national-drug-batch-4", bids))
    assert outcome(result, "B2") == (
        "invalid",
        "not eligible: has not passed consistency evaluation",
    )


def test_bid_ranked_beyond_the_cap_loses_with_rank_and_cap() -> None:
    # Batch 4 table: 10 bidders -> cap 8.
    prices = [f"0.{k:02d}00" for k in range(50, 60)]
    result = run(problem("national-drug-batch-4", bids_at(*prices)))
    assert outcome(result, "B9") == ("lost", "rank 9 of 10 valid bids, cap 8 for 10 bidders")
    assert result.items[0].winners == ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8")


def test_bidders_above_the_ceiling_count_toward_n() -> None:
    # 4 bidders (one invalid): cap 3, so the three valid bids all win.
    result = run(problem("national-drug-batch-2", bids_at("0.3000", "0.3100", "0.3200", "5.0")))
    assert result.items[0].winner_cap == 3
    assert result.items[0].bidders == 4
    assert result.items[0].winners == ("B1", "B2", "B3")


def test_valid_bidders_count_mode_excludes_invalid_bids() -> None:
    document = problem(
        "national-drug-batch-2",
        bids_at("0.3000", "0.3100", "0.3200", "5.0"),
        parameters={"bidder_count": "valid_bidders"},
    )
    assert run(document).items[0].winner_cap == 2


def test_bid_failing_every_price_condition_loses_with_the_figures() -> None:
    result = run(problem("national-drug-batch-4", bids_at("0.2000", "0.4620"), ceiling="0.8000"))
    assert outcome(result, "B2") == (
        "lost",
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 2.31 x the lowest 0.2000, limit 1.8; "
        "0.4620 per unit is above 0.10; cuts 42.3% from the maximum valid bid price 0.8000, "
        "needs 50.0%",
    )


def test_a_ratio_just_over_the_limit_is_shown_with_four_decimals() -> None:
    result = run(problem("national-drug-batch-4", bids_at("1.0000", "1.8040"), ceiling="2.0000"))
    status, reason = outcome(result, "B2")
    assert status == "lost"
    assert "1.8040 x the lowest 1.0000, limit 1.8" in reason


def test_price_at_most_ten_fen_wins_despite_the_ratio() -> None:
    result = run(problem("national-drug-batch-4", bids_at("0.0300", "0.0900"), ceiling="0.1000"))
    assert outcome(result, "B2") == (
        "won",
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 0.0900 per unit is at most 0.10",
    )


def test_half_cut_from_the_ceiling_wins_despite_the_ratio() -> None:
    result = run(problem("national-drug-batch-4", bids_at("1.0000", "4.9000"), ceiling="10.0000"))
    assert outcome(result, "B2")[0] == "won"
    assert outcome(result, "B2")[1].endswith(
        "cuts 51.0% from the maximum valid bid price 10.0000, needs 50.0%"
    )


def test_single_bidder_wins_with_half_the_volume_for_one_year() -> None:
    result = run(
        problem(
            "national-drug-batch-4", bids_at("0.5000"), demand=[{"region": "P1", "quantity": 1001}]
        )
    )
    item = result.items[0]
    assert (item.winners, item.agreed_volume_share, item.term_years) == (("B1",), Decimal("0.5"), 1)
    assert item.agreed_volume == 501  # 500.5 rounds half up
    assert result.totals.cost == Decimal("250.50")


def test_all_bids_invalid_leaves_the_item_unawarded_with_a_note() -> None:
    result = run(
        problem(
            "national-drug-batch-4",
            bids_at("2.0000", "3.0000"),
            demand=[{"region": "P1", "quantity": 10}],
        )
    )
    item = result.items[0]
    assert item.winners == ()
    assert item.notes == ("no valid bid: the item is not awarded",)
    assert result.allocations == ()
    assert result.totals.cost == Decimal(0)
    assert result.run.status == "rule_only"


def test_tie_at_the_cap_is_broken_by_the_published_order_and_explained() -> None:
    bids = bids_at("0.2000", "0.2500", "0.2500")
    bids[1]["tie_break_rank"] = 2
    bids[2]["tie_break_rank"] = 1
    result = run(problem("national-drug-batch-2", bids))  # 3 bidders -> cap 2
    assert result.items[0].winners == ("B1", "B3")
    assert outcome(result, "B2") == (
        "lost",
        "rank 3 of 3 valid bids, cap 2 for 3 bidders (tied at 0.2500 with B3; ties ordered by "
        "tie_break_rank, capacity_desc, bid_id)",
    )


def test_tie_without_ranks_falls_to_larger_capacity() -> None:
    bids = bids_at("0.2000", "0.2500", "0.2500")
    bids[1]["capacity"] = 100
    bids[2]["capacity"] = 900
    assert run(problem("national-drug-batch-2", bids)).items[0].winners == ("B1", "B3")


def test_volume_share_and_term_follow_the_number_of_winners() -> None:
    result = run(problem("national-drug-batch-4", bids_at("0.50", "0.51", "0.52", "0.53", "0.54")))
    item = result.items[0]
    assert (len(item.winners), item.agreed_volume_share, item.term_years) == (4, Decimal("0.8"), 3)


def test_a_supplier_is_ranked_by_its_lowest_bid_only() -> None:
    bids = bids_at("0.3000", "0.3500")
    bids[0]["supplier"] = bids[1]["supplier"] = "S-B1"
    result = run(problem("national-drug-batch-4", bids))
    assert outcome(result, "B2") == (
        "lost",
        "supplier S-B1 is ranked by its lower bid B1 (0.3000)",
    )


def test_multi_specification_bids_rank_by_unit_comparable_price() -> None:
    document = problem(
        "national-drug-batch-2",
        [
            {"id": "B1", "unit_price": "0.0520", "specification": "2mg"},
            {"id": "B2", "unit_price": "0.0530", "specification": "1mg"},
        ],
        ceiling="0.3000",
        item={
            "representative_specification": "2mg",
            "specifications": [{"id": "1mg", "strength": "1"}, {"id": "2mg", "strength": "2"}],
        },
    )
    result = run(document)
    prices = {b.bid: b.unit_comparable_price for b in result.bids}
    assert prices == {"B1": Decimal("0.0520"), "B2": Decimal("0.0901")}


def test_batch10_bid_failing_the_ratio_wins_at_the_highest_winning_price_when_it_accepts() -> None:
    bids = bids_at("0.5000", "0.6000", "1.2000", "1.3000")
    bids[2]["accepts_price_adjustment"] = True
    result = run(problem("national-drug-batch-10", bids, ceiling="2.0000"))  # 4 bidders: cap 3
    found = next(b for b in result.bids if b.bid == "B3")
    assert (found.status, found.award_price) == ("won", Decimal("0.6000"))
    assert found.reason == (
        "rank 3 of 4 valid bids, cap 3 for 4 bidders; 2.40 x the lowest 0.5000, limit 1.8; "
        "1.2000 per unit is above 0.10; won at the adjusted price 0.6000 (the highest winning "
        "price), accepted in the bid"
    )


def test_batch10_bid_that_does_not_accept_the_adjusted_price_loses() -> None:
    result = run(problem("national-drug-batch-10", bids_at("0.5000", "1.2000"), ceiling="2.0000"))
    status, reason = outcome(result, "B2")
    assert status == "lost"
    assert reason.endswith("did not accept the adjusted price")


def test_batch10_has_no_half_cut_condition() -> None:
    # 4.9 is a 51% cut from 10 (a winner in batch 4) but 4.9 x the lowest.
    result = run(problem("national-drug-batch-10", bids_at("1.0000", "4.9000"), ceiling="10.0000"))
    assert outcome(result, "B2")[0] == "lost"


def test_batch10_ratio_to_lowest_variant_awards_at_1_8_times_the_lowest() -> None:
    bids = bids_at("0.5000", "1.2000")
    bids[1]["accepts_price_adjustment"] = True
    document = problem(
        "national-drug-batch-10",
        bids,
        ceiling="2.0000",
        parameters={"adjusted_price": "ratio_to_lowest"},
    )
    found = next(b for b in run(document).bids if b.bid == "B2")
    assert found.award_price == Decimal("0.9000")


def test_batch11_anchor_price_is_the_larger_of_half_the_average_and_the_lowest() -> None:
    # Shortlist (cap 3 for 4 bidders): 1.0, 2.8, 3.0 -> average 2.2667, half 1.1333 > 1.0.
    result = run(
        problem(
            "national-drug-batch-11",
            bids_at("1.0000", "3.0000", "2.8000", "5.0000"),
            ceiling="9.0000",
        )
    )
    assert result.items[0].notes == (
        "anchor price 1.1333 = max(50.0% of the shortlisted average 2.2667, the lowest 1.0000)",
    )
    assert outcome(result, "B3") == (
        "lost",
        "rank 2 of 4 valid bids, cap 3 for 4 bidders; 2.47 x the anchor price 1.1333, limit 1.8",
    )
    assert outcome(result, "B2")[0] == "lost"
    assert result.items[0].winners == ("B1",)


def test_batch11_anchor_falls_back_to_the_lowest_bid() -> None:
    result = run(problem("national-drug-batch-11", bids_at("2.0000", "2.1000"), ceiling="9.0000"))
    assert result.items[0].notes[0].startswith("anchor price 2.0000 = max(")
    assert result.items[0].winners == ("B1", "B2")


def test_batch2_published_drugs_typed_in_are_reproduced() -> None:
    """Four drugs of national batch 2 (published per-unit bids and ceilings, typed in)."""
    tenders = {
        # 对乙酰氨基酚 0.5g: 9 bidders, cap 6; a tie at 0.065 on the cap, broken by the
        # published order (河北冀衡 listed before 东北制药).
        "T09": (
            "0.1000",
            [
                "0.0345",
                "0.0333",
                "0.0492",
                "0.0550",
                "0.0559",
                "0.0650",
                "0.0650",
                "0.0764",
                "0.0880",
            ],
            {1, 2, 3, 4, 5, 6},
        ),
        # 阿莫西林 0.25g: 11 bidders, cap 6; 珠海联邦 and 昆明贝克诺顿 above the ceiling.
        "T04": (
            "0.1000",
            [
                "0.0526",
                "0.0665",
                "0.0665",
                "0.0721",
                "0.0720",
                "0.0792",
                "0.0880",
                "0.4446",
                "0.0960",
                "0.0998",
                "0.1445",
            ],
            {1, 2, 3, 4, 5, 6},
        ),
        # 阿比特龙 0.25g: 4 bidders, cap 3; 强生 at 84.05 ranks 4th, beyond the cap.
        "T01": ("101.6700", ["23.3333", "31.9000", "35.8000", "84.0500"], {1, 2, 3}),
        # 他达拉非 20mg: 5 bidders, cap 4; 78 and 87.595 fail 1.8x and the 50% cut.
        "T23": ("90.7500", ["42.4000", "47.0340", "78.0000", "87.5950", "87.8700"], {1, 2}),
    }
    for tender, (ceiling, prices, winners) in tenders.items():
        bids = bids_at(*prices)
        for rank, bid in enumerate(bids, start=1):
            bid["tie_break_rank"] = rank
        result = run(problem("national-drug-batch-2", bids, ceiling=ceiling))
        assert set(result.items[0].winners) == {f"B{k}" for k in winners}, tender


def test_antimicrobial_preset_agrees_a_smaller_share() -> None:
    result = run(problem("national-drug-batch-7-antimicrobial", bids_at("0.50", "0.51", "0.52")))
    assert result.items[0].agreed_volume_share == Decimal("0.4")  # 2 winners of 3 bidders

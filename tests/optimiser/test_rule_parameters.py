"""A rule set's parameters reach the rules: comparable-price coefficients, specifications,
tie-break orders, optional parameters and their defaults, zero prices.

Through the JSON problem format (``problem_from_dict``), and through ``decide_items`` for a
rule set built in code without the optional parameters the schema would require.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from types import MappingProxyType

from procurement.optimiser import problem_from_dict
from procurement.optimiser.model import RuleSet
from procurement.optimiser.solve import decide_items
from tests.optimiser.conftest import bids_at, problem
from tests.optimiser.outcomes import BidRow, ItemRow, bids, item, run


def injection_item() -> dict:
    """Ambroxol-like injections: 15 mg in 2 ml vials singly, representative 30 mg in 4 ml
    vials in 5s, and a 2 ml ampoule in 10s of another dosage form."""
    return {
        "representative_specification": "30mg-4ml-x5",
        "specifications": [
            {
                "id": "15mg-2ml",
                "strength": "15",
                "fill_volume": "2",
                "pack_count": 1,
                "oral_solid": False,
                "dosage_form": "vial",
            },
            {
                "id": "30mg-4ml-x5",
                "strength": "30",
                "fill_volume": "4",
                "pack_count": 5,
                "oral_solid": False,
                "dosage_form": "vial",
            },
            {
                "id": "2ml-x10",
                "fill_volume": "2",
                "pack_count": 10,
                "oral_solid": False,
                "dosage_form": "ampoule",
            },
        ],
    }


def test_every_specification_field_reaches_the_comparable_price() -> None:
    """DESIGN.md §2.1 rule 2, with the rule set's coefficients (not the defaults)."""
    document = problem(
        "national-drug-batch-2",
        [
            {"id": "B1", "unit_price": "3.0000", "specification": "15mg-2ml"},
            {"id": "B2", "unit_price": "2.0000", "specification": "2ml-x10"},
            {"id": "B3", "unit_price": "6.0000", "specification": "30mg-4ml-x5"},
        ],
        ceiling="20.0000",
        item=injection_item(),
        parameters={
            "comparable_price": {
                "strength": "1.6",
                "fill_volume": "1.8",
                "pack_count_oral_solid": "1.95",
                "pack_count_other": "1.9",
                "dosage_form_ratios": {"vial": "1", "ampoule": "0.8"},
            }
        },
    )
    rows = bids(run(document))
    # B1: strength 15 -> 30 mg x1.6 (strength applies, fill volume not); pack 1 -> 5 not
    # an oral solid: 1.9 ** log2(5) = 4.43860...; 3 x 1.6 x 4.43860 / 5 = 4.2611
    assert rows["B1"].comparable_price == "4.2611"
    # B2: no strength: fill volume 2 -> 4 ml x1.8; pack 10 -> 5: 1 / 1.9; ampoule -> vial
    # 1 / 0.8 = 1.25: 2 x 10 x 1.8 / 1.9 x 1.25 / 5 = 4.7368
    assert rows["B2"].comparable_price == "4.7368"
    # B3 bid the representative itself: its price as it is
    assert rows["B3"].comparable_price == "6.0000"
    assert [rows[b].rank for b in ("B1", "B2", "B3")] == [1, 2, 3]


def test_without_coefficients_the_rule_set_uses_the_published_ones() -> None:
    """DESIGN.md §2.1 rule 2: x1.7 per doubling of strength (batch 4's ceiling pairs)."""
    document = problem(
        "national-drug-batch-2",
        [{"id": "B1", "unit_price": "1.0000", "specification": "10mg"}],
        ceiling="9.0000",
        item={
            "representative_specification": "20mg",
            "specifications": [{"id": "10mg", "strength": "10"}, {"id": "20mg", "strength": "20"}],
        },
    )
    del document["rule_set"]["parameters"]["comparable_price"]
    assert bids(run(document))["B1"].comparable_price == "1.7000"


def test_a_bid_without_a_specification_or_an_item_without_a_representative_is_as_priced() -> None:
    """A comparable price needs the bid's specification and the item's representative
    (an item of one specification needs neither)."""
    no_spec = problem(
        "national-drug-batch-2",
        [{"id": "B1", "unit_price": "1.0000"}],
        ceiling="9.0000",
        item={"specifications": [{"id": "10mg", "strength": "10"}]},
    )
    assert bids(run(no_spec))["B1"].comparable_price == "1.0000"
    no_representative = problem(
        "national-drug-batch-2",
        [{"id": "B1", "unit_price": "1.0000", "specification": "10mg"}],
        ceiling="9.0000",
        item={"specifications": [{"id": "10mg", "strength": "10"}]},
    )
    assert bids(run(no_representative))["B1"].comparable_price == "1.0000"


def test_a_comparable_price_given_with_the_bid_is_used_as_given() -> None:
    """The problem format lets a caller state the comparable price it computed."""
    document = problem(
        "national-drug-batch-2",
        [
            {
                "id": "B1",
                "unit_price": "1.0000",
                "specification": "10mg",
                "unit_comparable_price": "1.6500",
            }
        ],
        ceiling="9.0000",
        item={
            "representative_specification": "20mg",
            "specifications": [{"id": "10mg", "strength": "10"}, {"id": "20mg", "strength": "20"}],
        },
    )
    assert bids(run(document))["B1"].comparable_price == "1.6500"


def test_consumables_renewal_and_optimised_award_price_specifications_with_the_defaults() -> None:
    """Only the drug rules carry coefficients; other kinds convert with the published ones."""
    item = {
        "representative_specification": "box-2",
        "specifications": [{"id": "single", "pack_count": 1}, {"id": "box-2", "pack_count": 2}],
    }
    priced = [{"id": "B1", "unit_price": "100", "specification": "single"}]
    # 100 a unit, 2 a box (oral solid by default): 100 x 1.95 / 2 = 97.5000
    for preset, extra in (
        ("consumables-joints", {}),
        ("stent-renewal", {"previous_highest_winning_price": "500"}),
        ("optimised-award", {}),
    ):
        document = problem(preset, [dict(b) for b in priced], ceiling="500", item={**item, **extra})
        assert bids(run(document))["B1"].comparable_price == "97.5000", preset


def decided(document: dict, **parameters: object) -> list:
    """``decide_items`` on the parsed problem with the rule set's parameters replaced."""
    parsed = problem_from_dict(document)
    rule_set = RuleSet(parsed.rule_set.kind, MappingProxyType(dict(parameters)))
    return decide_items(dataclasses.replace(parsed, rule_set=rule_set))


def national_parameters(**changes: object) -> dict:
    parameters = {
        "winner_cap_by_bidders": [1, 2, 2, 3],
        "price_conditions": {
            "max_ratio_to_lowest": "1.8",
            "max_unit_price": "0.10",
            "min_cut_from_ceiling": "0.5",
        },
        "volume_share_by_winners": ["0.5", "0.6", "0.7", "0.8"],
        "term_years_by_winners": [1, 1, 2, 3],
    }
    parameters.update(changes)
    return parameters


def test_without_a_tie_break_order_ties_go_by_bid_id() -> None:
    """decide_items: a rule set with no tie_break orders ties by bid id and says so."""
    document = problem("national-drug-batch-2", bids_at("0.2000", "0.2500", "0.2500"))
    document["bids"][1]["tie_break_rank"] = 2
    document["bids"][2]["tie_break_rank"] = 1
    [decision] = decided(document, **national_parameters(bidder_count="eligible_bidders"))
    assert [b.id for b in decision.winners] == ["B1", "B2"]
    b3 = next(o for o in decision.outcomes if o.bid == "B3")
    assert b3.reason == (
        "rank 3 of 3 valid bids, cap 2 for 3 bidders (tied at 0.2500 with B2; ties ordered "
        "by bid_id)"
    )


def test_without_a_bidder_count_mode_n_counts_eligible_bidders() -> None:
    """decide_items: DESIGN.md §2.1 rule 4, N counts bidders whose price is invalid too."""
    document = problem("national-drug-batch-2", bids_at("0.3000", "0.3100", "0.3200", "5.0"))
    [decision] = decided(document, **national_parameters(tie_break=["bid_id"]))
    assert (decision.bidders, decision.winner_cap) == (4, 3)
    assert [b.id for b in decision.winners] == ["B1", "B2", "B3"]


def test_tie_break_rank_zero_comes_first_and_bid_id_can_come_first() -> None:
    """DESIGN.md §2.1 rule 6: a tie_break_rank of 0 ranks first (the problem format);
    a rule set may put bid_id before capacity."""
    document = bids_at("0.2000", "0.2500", "0.2500")
    document[1]["tie_break_rank"] = 1
    document[2]["tie_break_rank"] = 0
    assert item(run(problem("national-drug-batch-2", document))).winners == ("B1", "B3")
    by_id = bids_at("0.2000", "0.2500", "0.2500")
    by_id[1]["capacity"] = 10
    by_id[2]["capacity"] = 20
    result = run(
        problem(
            "national-drug-batch-2", by_id, parameters={"tie_break": ["bid_id", "capacity_desc"]}
        )
    )
    assert item(result).winners == ("B1", "B2")
    assert bids(result)["B3"].reason == (
        "rank 3 of 3 valid bids, cap 2 for 3 bidders (tied at 0.2500 with B2; ties ordered "
        "by bid_id, capacity_desc)"
    )


def test_a_zero_bid_is_valid_and_wins_as_the_lowest() -> None:
    """A bid of 0.0000 (the problem format allows it) is the lowest; ratios to it are not
    divided by zero, and a ceiling of 0 leaves only such a bid valid."""
    result = run(problem("national-drug-batch-4", bids_at("0.0000"), ceiling="0.0000"))
    assert bids(result)["B1"] == BidRow(
        "won",
        1,
        "0.0000",
        "0.0000",
        "rank 1 of 1 valid bids, cap 1 for 1 bidders; 1.00 x the lowest 0.0000, limit 1.8",
    )
    joints = problem(
        "consumables-joints",
        [{"id": "B1", "unit_price": "0", "intended_volume": 10}],
        ceiling="5000",
    )
    assert bids(run(joints))["B1"] == BidRow(
        "won",
        1,
        "0",
        "0",
        "group A: rank 1 of 1, cap 1; 1.00 x the group's lowest 0, limit 1.8",
        "A",
    )


def test_batch11_with_price_conditions_too_shows_the_anchor_first() -> None:
    """A rule set may add price conditions to the anchor rule; the anchor check is the
    reason a winner is shown (it comes first)."""
    document = problem(
        "national-drug-batch-11",
        bids_at("0.0500", "0.0800"),
        ceiling="1.0000",
        parameters={
            "price_conditions": {
                "max_ratio_to_lowest": None,
                "max_unit_price": "0.10",
                "min_cut_from_ceiling": None,
            }
        },
    )
    assert bids(run(document))["B2"].reason == (
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 1.60 x the anchor price 0.0500, limit 1.8"
    )


def test_batch11_the_shortlisted_average_is_shown_rounded_half_up() -> None:
    """Shortlist 0.5000 and 3.5001 (3 bidders: cap 2): average 2.00005 shows as 2.0001."""
    result = run(
        problem("national-drug-batch-11", bids_at("0.5000", "3.5001", "9.0000"), ceiling="10")
    )
    assert result.items[0].notes == (
        "anchor price 1.0000 = max(50.0% of the shortlisted average 2.0001, the lowest 0.5000)",
    )


def test_batch10_without_a_ratio_condition_adjusts_to_the_lowest_when_nobody_won() -> None:
    """A batch 10 rule set with only the 0.10 yuan condition: nobody meets it, both accept:
    with no winning price to adopt, the adjusted price is the lowest bid."""
    document = bids_at("0.5000", "0.6000")
    for bid in document:
        bid["accepts_price_adjustment"] = True
    result = run(
        problem(
            "national-drug-batch-10",
            document,
            ceiling="1.0000",
            parameters={
                "price_conditions": {
                    "max_ratio_to_lowest": None,
                    "max_unit_price": "0.10",
                    "min_cut_from_ceiling": None,
                }
            },
        )
    )
    rows = bids(result)
    assert (rows["B1"].award_price, rows["B2"].award_price) == ("0.5000", "0.5000")
    assert rows["B2"].reason == (
        "rank 2 of 2 valid bids, cap 2 for 2 bidders; 0.6000 per unit is above 0.10; won at "
        "the adjusted price 0.5000 (the highest winning price), accepted in the bid"
    )
    assert item(result) == ItemRow(("B1", "B2"), 2, 2, 2, "0.6", 1, 0, "0.00")


def test_a_bidder_declaring_no_intended_volume_is_the_smallest() -> None:
    """DESIGN.md §2.2: group A is the largest suppliers; no declared volume counts as 0."""
    document = problem(
        "consumables-joints",
        [
            {"id": "B1", "unit_price": "100", "intended_volume": 4},
            {"id": "B2", "unit_price": "110"},
            {"id": "B3", "unit_price": "120"},
        ],
        ceiling="5000",
    )
    # B1 holds all 4 units: B2 and B3 start at 4 of 4, past 80%: group B.
    assert {b: r.group for b, r in bids(run(document)).items()} == {
        "B1": "A",
        "B2": "B",
        "B3": "B",
    }


def test_consumables_ties_are_explained_and_winners_listed_by_price() -> None:
    """DESIGN.md §2.1 rule 6 applies to consumables groups too."""
    document = problem(
        "consumables-joints",
        [
            {"id": "B1", "unit_price": "150", "intended_volume": 10},
            {"id": "B2", "unit_price": "150", "intended_volume": 10},
            {"id": "B3", "unit_price": "100", "intended_volume": 1},
        ],
        ceiling="5000",
    )
    result = run(document)
    rows = bids(result)
    assert rows["B2"] == BidRow(
        "won",
        2,
        "150",
        "150",
        "group A: rank 2 of 2, cap 2; 1.00 x the group's lowest 150, limit 1.8 (tied at 150 "
        "with B1; ties ordered by tie_break_rank, capacity_desc, bid_id)",
        "A",
    )
    assert item(result).winners == ("B3", "B1", "B2")


def test_consumables_with_no_valid_bid_award_nothing() -> None:
    result = run(problem("consumables-joints", [{"id": "B1", "unit_price": "600"}], ceiling="500"))
    assert item(result) == ItemRow((), 1, 0, None, None, None, 0, "0.00")


def test_for_the_optimised_award_the_rules_only_rank_the_valid_bids() -> None:
    """decide_items: the optimised award's rule layer checks validity and ranks; every
    valid bid awaits the solver at its own comparable price."""
    document = problem("optimised-award", bids_at("1.2000", "1.0000", "9.0000"), ceiling="2.0000")
    [decision] = decide_items(problem_from_dict(document))
    rows = {
        o.bid: (o.status, o.rank, o.award_price, o.unit_comparable_price, o.reason)
        for o in decision.outcomes
    }
    assert rows == {
        "B1": ("lost", 2, None, Decimal("1.2000"), "valid; awaiting the optimiser"),
        "B2": ("lost", 1, None, Decimal("1.0000"), "valid; awaiting the optimiser"),
        "B3": (
            "invalid",
            None,
            None,
            Decimal("9.0000"),
            "9.0000 is above the maximum valid bid price 2.0000",
        ),
    }
    assert [b.id for b in decision.winners] == ["B2", "B1"]
    assert decision.award_prices == {"B2": Decimal("1.0000"), "B1": Decimal("1.2000")}
    assert (decision.bidders, decision.valid_bids, decision.winner_cap) == (3, 2, None)
    assert (decision.agreed_volume_share, decision.term_years) == (None, None)


def test_decide_items_gives_each_consumables_bid_its_group() -> None:
    document = problem(
        "consumables-joints",
        [
            {"id": "B1", "unit_price": "100", "intended_volume": 800},
            {"id": "B2", "unit_price": "150", "intended_volume": 200},
        ],
        ceiling="5000",
    )
    [decision] = decide_items(problem_from_dict(document))
    assert decision.groups == {"B1": "A", "B2": "B"}

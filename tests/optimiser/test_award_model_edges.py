"""The optimised award's model build (``procurement.optimiser.award_model``) at its edges:
price windows whose last bid joins a later window, the penalty price rounded at its 7th
decimal, constraint groups listed once, the national shape and unmet demand when a region
may be split between bids (the tests of ``test_national_shape.py`` are single source)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from procurement.optimiser import problem_from_dict, solve
from procurement.optimiser.allocation import Pricing
from procurement.optimiser.award_model import (
    LinearModel,
    build_award_model,
    price_windows,
    unmet_penalty_price,
)
from procurement.optimiser.reasons import format_message, message
from procurement.optimiser.solve import decide_items, money_scale_digits
from tests.optimiser.test_national_shape import shape_problem, share_problem, unmet_problem

D = Decimal
SPLIT = {"single_source_per_region": False}


# --- price windows -------------------------------------------------------------------------


def test_the_last_bid_joins_a_later_window() -> None:
    """1, 2, 3 at 1.8: 2 does not fit beside 1, 3 fits beside 2 (3 <= 3.6)."""
    prices = [(D(1), "a"), (D(2), "b"), (D(3), "c")]
    assert price_windows(prices, D("1.8")) == [["a"], ["b", "c"]]
    # The last bid exactly at the limit of the window before it is inside it.
    prices = [(D(1), "a"), (D(2), "b"), (D("3.6"), "c")]
    assert price_windows(prices, D("1.8")) == [["a"], ["b", "c"]]
    prices = [(D(1), "a"), (D(2), "b"), (D("3.6001"), "c")]
    assert price_windows(prices, D("1.8")) == [["a"], ["b"], ["c"]]


def test_equal_prices_open_one_window_in_any_order() -> None:
    prices = [(D(2), "c"), (D(1), "b"), (D(1), "a"), (D(3), "d")]
    assert price_windows(prices, D("1.5")) == [["a", "b"], ["c", "d"]]
    assert price_windows([(D(1), "a"), (D(1), "b")], D(1)) == []


# --- the penalty price ---------------------------------------------------------------------------


def item_with(ceiling: str, penalty: str | None = None) -> Any:
    document = shape_problem([{"id": "B1", "unit_price": "1"}], {"P1": 10})
    document["items"][0]["max_valid_bid_price"] = ceiling
    if penalty is not None:
        document["items"][0]["unmet_penalty_price"] = penalty
    return problem_from_dict(document).items[0]


@pytest.mark.parametrize(
    ("ratio", "ceiling", "penalty"),
    [
        ("0.85", "9", D("7.65")),  # fewer than 6 decimals: kept as computed
        ("0.333333", "3", D("0.999999")),  # exactly 6 decimals: kept
        ("0.3333333", "3", D("1.000000")),  # 0.9999999: 7 decimals, half up to 6
        ("0.3333331", "3", D("0.999999")),  # 0.9999993 -> down
        ("0.5", "0.000001", D("0.000001")),  # 0.0000005 -> half up, not to even (0)
        ("0.5", "0.000005", D("0.000003")),  # 0.0000025 -> half up, not to even (2)
    ],
)
def test_the_penalty_ratio_is_rounded_half_up_to_6_decimals_only_beyond_them(
    ratio: str, ceiling: str, penalty: Decimal
) -> None:
    price = unmet_penalty_price(item_with(ceiling), {"unmet_penalty_ratio": ratio})
    assert price == penalty
    assert str(price) == str(penalty)  # the same exponent: no rounding where none is due


def test_the_items_own_penalty_price_wins_and_no_penalty_means_none() -> None:
    assert unmet_penalty_price(item_with("9", "0.123456"), {"unmet_penalty_ratio": "1"}) == D(
        "0.123456"
    )
    assert unmet_penalty_price(item_with("9"), {}) is None


# --- constraint groups ---------------------------------------------------------------------------


def test_a_group_is_listed_once_however_many_constraints_it_has() -> None:
    model = LinearModel()
    x, y = model.var("x", 1), model.var("y", 5, 7)
    assert (model.names, model.upper, model.objective) == (["x", "y"], [1, 5], [0, 7])
    group = message("bid_capacity", bid="B1", units=5)
    model.add([(x, 1)], None, 1, group)
    model.add([(y, 1)], None, 5, group)
    model.add([(x, 1), (y, -1)], None, 0, "link", hard=True)
    other = message("bid_capacity", bid="B2", units=3)
    model.add([(y, 1)], None, 3, other)
    assert model.groups == [format_message(group), format_message(other)]
    assert model.messages == {format_message(group): group, format_message(other): other}
    assert [c.group for c in model.constraints] == [
        format_message(group),
        format_message(group),
        "link",
        format_message(other),
    ]
    with pytest.raises(ValueError, match="needs a message"):
        model.add([(x, 1)], None, 1, "unnamed")


def test_the_price_ratio_group_names_its_ratio() -> None:
    document = shape_problem(
        [{"id": "B1", "unit_price": "1"}, {"id": "B2", "unit_price": "2"}],
        {"P1": 100},
        max_price_ratio_among_winners="1.8",
    )
    parsed = problem_from_dict(document)
    decisions = decide_items(parsed)
    pricing = Pricing(digits=money_scale_digits(parsed, decisions), costs={})
    model = build_award_model(parsed, decisions, pricing).model
    ratios = [m.params for m in model.messages.values() if m.code == "max_price_ratio_for_item"]
    assert ratios == [{"item": "X", "ratio": "1.8"}]


# --- split regions -----------------------------------------------------------------------------


def test_split_regions_may_be_left_unmet_at_the_penalty() -> None:
    """As the single-source test: 400 units at 0.99 cost less unmet than bought at 1.00."""
    result = solve(problem_from_dict(unmet_problem("0.99", **SPLIT)))
    assert result.run.status == "optimal"
    assert result.items[0].winners == ()
    assert [(u.region, u.quantity) for u in result.unmet] == [("P1", 100), ("P2", 300)]
    assert result.totals.unmet_penalty == D("396.00")
    assert result.run.objective == D("396")


def test_split_regions_are_supplied_when_the_penalty_costs_more() -> None:
    result = solve(problem_from_dict(unmet_problem("1.01", **SPLIT)))
    assert result.items[0].winners == ("B1",)
    assert result.unmet == ()
    assert result.run.objective == D("400")


def test_split_regions_may_leave_part_of_a_region_unmet() -> None:
    """B1 can supply 250 of 400 units: the other 150 are left unmet (at 1.50 a unit)."""
    document = unmet_problem("1.50", **SPLIT)
    document["bids"][0]["capacity"] = 250
    result = solve(problem_from_dict(document))
    assert result.items[0].winners == ("B1",)
    assert sum(u.quantity for u in result.unmet) == 150
    assert result.totals.unmet_penalty == D("225.00")
    assert result.run.objective == D("475")  # 250 x 1 + 150 x 1.5


@pytest.mark.parametrize(("share", "objective"), [("0.2", "1000"), ("0.2001", "1005")])
def test_the_minimum_national_share_counts_split_units_once(share: str, objective: str) -> None:
    """P1 800 near B1, P2 200 near B2: B2's 200 units are exactly 0.2 of 1,000; at 0.2001
    it needs 201, so it also takes one unit of P1 at 1 + 5 (split regions allow it)."""
    document = share_problem(share)
    document["rule_set"]["parameters"].update(SPLIT)
    result = solve(problem_from_dict(document))
    assert result.run.status == "optimal"
    assert list(result.items[0].winners) == ["B1", "B2"]
    assert result.run.objective == D(objective)

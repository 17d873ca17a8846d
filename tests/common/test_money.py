"""One rounding rule for money: half up to the fen, tested at the half fen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from common.money import (
    format_money,
    format_percent,
    format_quantity,
    format_unit_price,
    round_fen,
    round_percent,
    round_price,
    to_decimal,
)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("0.125"), "0.13"),
        (Decimal("0.115"), "0.12"),
        (Decimal("-0.125"), "-0.13"),
        (Decimal("0.005"), "0.01"),
        (Decimal("0.0049999"), "0.00"),
        (Decimal("1234567.891"), "1,234,567.89"),
        (Decimal("1234567.895"), "1,234,567.90"),
        (Decimal("98765432109876.545"), "98,765,432,109,876.55"),
        (Decimal("1E+3"), "1,000.00"),
        (Decimal(0), "0.00"),
    ],
)
def test_money_is_rounded_half_up_to_the_fen(value: Decimal, shown: str) -> None:
    assert format_money(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [("0.125", "0.13"), (" 0.115 ", "0.12"), ("-0.125", "-0.13"), (3, "3.00"), (0.125, "0.13")],
)
def test_text_whole_numbers_and_floats_are_read_exactly(value: object, shown: str) -> None:
    assert format_money(value) == shown


def test_a_float_is_read_through_its_shortest_text() -> None:
    # 0.115 as a float is 0.11499999999999999... : read as the text "0.115" it rounds as
    # the reader expects.
    assert format_money(0.115) == "0.12"


@pytest.mark.parametrize("value", [None, "", "abc", "NaN", "Infinity", object()])
def test_a_missing_or_unreadable_value_shows_the_placeholder(value: object) -> None:
    assert format_money(value) == ""
    assert format_money(value, empty="—") == "—"
    assert to_decimal(value) is None


def test_round_fen_is_the_one_rounding_of_an_amount() -> None:
    assert round_fen(Decimal("0.125")) == Decimal("0.13")
    assert round_fen(Decimal("-0.125")) == Decimal("-0.13")
    assert round_fen(Decimal("0.0049999")) == Decimal("0.00")
    assert str(round_fen(Decimal("2"))) == "2.00"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("12345.6789"), "12,345.6789"),
        (Decimal("0.5"), "0.5000"),
        (Decimal("0.123456"), "0.123456"),  # more places than 4: every one is shown
        ("17.81", "17.8100"),
        (None, ""),
    ],
)
def test_unit_prices_show_four_places_or_all_they_have(value: object, shown: str) -> None:
    assert format_unit_price(value) == shown


def test_quantities_and_percentages() -> None:
    assert format_quantity(1200000) == "1,200,000"
    assert format_quantity(Decimal("2.5")) == "3"  # half up, like money
    assert format_quantity(None, empty="—") == "—"
    assert format_percent(Decimal("94.445")) == "94.45%"
    assert format_percent(Decimal("-12.345")) == "-12.35%"
    assert format_percent(Decimal("0.12345"), places=1, fraction=True) == "12.3%"
    assert format_percent(Decimal("0.12355"), places=1, fraction=True) == "12.4%"
    assert format_percent("", empty="—") == "—"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("0.00005"), Decimal("0.0001")),  # half up, where half-even gives 0.0000
        (Decimal("0.00015"), Decimal("0.0002")),
        (Decimal("0.000049"), Decimal("0.0000")),
        (Decimal("-0.00005"), Decimal("-0.0001")),
    ],
)
def test_round_price_is_half_up_to_four_places(value: Decimal, shown: Decimal) -> None:
    assert round_price(value) == shown
    assert round_price(value).as_tuple().exponent == -4


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("12.345"), Decimal("12.35")),  # half up, where half-even gives 12.34
        (Decimal("12.335"), Decimal("12.34")),
        (Decimal("12.3449"), Decimal("12.34")),
    ],
)
def test_round_percent_is_half_up_to_two_places(value: Decimal, shown: Decimal) -> None:
    assert round_percent(value) == shown
    assert round_percent(value).as_tuple().exponent == -2


def test_more_than_four_decimals_keep_their_thousands_separators() -> None:
    assert format_unit_price(Decimal("12345.678901")) == "12,345.678901"


def test_empty_values_show_nothing_by_default() -> None:
    assert format_quantity(None) == ""
    assert format_percent(None) == ""
    assert format_money(None) == ""
    assert format_unit_price(None) == ""


def test_a_decimal_that_is_not_finite_is_no_number() -> None:
    assert to_decimal(Decimal("NaN")) is None
    assert to_decimal(Decimal("Infinity")) is None
    assert to_decimal(Decimal("1.5")) == Decimal("1.5")

"""One number parser for quantities and prices (forms, API, spreadsheets): one policy.

The API accepted "1,000", "1e3" and "+5" as quantities, and the bid API accepted
full-width digits that the demand API refused.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from common.numbers import NumberRefused, parse_decimal, parse_whole_number


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (1200, 1200),
        ("1200", 1200),
        (" 1200 ", 1200),
        ("１２００", 1200),  # full-width digits, as Chinese input methods type them
        ("1,200", 1200),
        ("1，200", 1200),
        ("12,000,000", 12_000_000),
        ("12.0", 12),  # a whole number a spreadsheet stored with a decimal
        (12.0, 12),
    ],
)
def test_accepted_whole_numbers(value: object, number: int) -> None:
    assert parse_whole_number(value) == number


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e3", "“1e3”: write the number in full, without an exponent."),
        ("1E3", "“1E3”: write the number in full, without an exponent."),
        ("+5", "“+5”: write the number without a + sign."),
        ("-5", "“-5” is negative; it must be greater than zero."),
        (-5, "“-5” is negative; it must be greater than zero."),
        ("1,2", "“1,2” is not a number."),
        ("1,20,0", "“1,20,0” is not a number."),
        ("1 200", "“1 200” is not a number."),
        ("0x10", "“0x10” is not a number."),
        ("1_000", "“1_000” is not a number."),
        ("NaN", "“NaN” is not a number."),
        (float("inf"), "“inf” is not a number."),
        (True, "“True” is not a number."),
        (None, "“None” is not a number."),
        ("1.5", "“1.5” is not a whole number."),
        ("0", "must be greater than zero."),
        ("1000000000001", "“1000000000001” is too large."),
    ],
)
def test_refused_whole_numbers_say_why(value: object, message: str) -> None:
    with pytest.raises(NumberRefused) as refused:
        parse_whole_number(value)
    assert refused.value.message == message


def test_prices_follow_the_same_policy_with_decimal_places() -> None:
    assert parse_decimal("１．９８７６", places=4) == Decimal("1.9876")
    assert parse_decimal("1,234.5", places=4) == Decimal("1234.5000")
    assert parse_decimal(1.5, places=4) == Decimal("1.5000")
    for value, message in [
        ("1e1", "“1e1”: write the number in full, without an exponent."),
        ("+1.5", "“+1.5”: write the number without a + sign."),
        ("-1.5", "“-1.5” is negative; it must be greater than zero."),
        ("1.23456", "“1.23456” has more than 4 decimal places."),
        ("0", "“0” must be greater than zero."),
    ]:
        with pytest.raises(NumberRefused) as refused:
            parse_decimal(value, places=4)
        assert refused.value.message == message

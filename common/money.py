"""Money and numbers as every page, PDF and export shows them: one rounding rule.

Money is rounded once, in one place, to the fen (0.01 yuan), half up
(``ROUND_HALF_UP``: 0.125 -> 0.13, 0.115 -> 0.12, -0.125 -> -0.13): the rule of Chinese
accounting and of the published award results. Unit prices are stored with 4 decimal
places (the precision of published ceilings); they are shown with 4, or with every
decimal they have when they have more, never rounded away.

Formatting is locale-independent on purpose: a published PDF must read the same whoever
renders it (thousands separated by commas, a point before the decimals), and Decimal
arithmetic keeps every figure exact (no float on the way).
"""

from __future__ import annotations

import numbers
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
PRICE = Decimal("0.0001")  # a unit price's places (yuan per tablet, vial, set...)
PERCENT = Decimal("0.01")  # a percentage's places, as computed figures are stored


def to_decimal(value: object) -> Decimal | None:
    """The value as a Decimal; None for an empty one (None, "") or one that is no number.

    A Decimal is taken as it is, a whole number or a text exactly; a float through its
    shortest text (0.1 is 0.1, not 0.1000000000000000055...).
    """
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str | numbers.Number):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def round_fen(value: Decimal) -> Decimal:
    """Money to the fen, half up: the one rounding of an amount of money."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def round_price(value: Decimal) -> Decimal:
    """A computed unit price (an average, a conversion) to 4 places, half up."""
    return value.quantize(PRICE, rounding=ROUND_HALF_UP)


def round_percent(value: Decimal) -> Decimal:
    """A percentage to 2 places, half up."""
    return value.quantize(PERCENT, rounding=ROUND_HALF_UP)


def format_money(value: object, *, empty: str = "") -> str:
    """1234567.891 -> "1,234,567.89"; 0.125 -> "0.13"; ``empty`` when there is no value."""
    number = to_decimal(value)
    return empty if number is None else format(round_fen(number), ",.2f")


def format_unit_price(value: object, *, empty: str = "") -> str:
    """A unit price with 4 decimals ("12,345.6789"), or all of its decimals when it has more."""
    number = to_decimal(value)
    if number is None:
        return empty
    if number == number.quantize(PRICE):  # 4 places or fewer: exact, nothing is rounded
        return format(number.quantize(PRICE), ",.4f")
    return format(number.normalize(), ",f")


def format_quantity(value: object, *, empty: str = "") -> str:
    """A count of units with thousands separators: 1200000 -> "1,200,000"."""
    number = to_decimal(value)
    if number is None:
        return empty
    return format(number.quantize(Decimal(1), rounding=ROUND_HALF_UP), ",.0f")


def format_percent(
    value: object, *, places: int = 2, fraction: bool = False, empty: str = ""
) -> str:
    """A percentage with ``places`` decimals, half up: 12.345 -> "12.35%".

    With ``fraction`` the value is a share of one (0.1234 -> "12.3%" with one place).
    """
    number = to_decimal(value)
    if number is None:
        return empty
    if fraction:
        number *= 100
    quantum = Decimal(1).scaleb(-places)
    return f"{format(number.quantize(quantum, rounding=ROUND_HALF_UP), f'.{places}f')}%"

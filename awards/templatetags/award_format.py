"""Number formats of the award pages: money to 0.01 yuan, unit prices to 4 decimals
(more when the price has more), quantities with thousands separators."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template

register = template.Library()

CENT = Decimal("0.01")
PRICE = Decimal("0.0001")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


@register.filter
def money(value: Any) -> str:
    """1234567.891 -> 1,234,567.89 (half up); empty for None."""
    d = _decimal(value)
    return "" if d is None else f"{d.quantize(CENT, ROUND_HALF_UP):,}"


@register.filter
def price(value: Any) -> str:
    """A unit price with 4 decimals, or all of its decimals when it has more."""
    d = _decimal(value)
    if d is None:
        return ""
    if d == d.quantize(PRICE):
        return f"{d.quantize(PRICE):,}"
    return f"{d.normalize():,f}"


@register.filter
def qty(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


@register.filter
def percent(value: Any) -> str:
    d = _decimal(value)
    return "" if d is None else f"{(d * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"

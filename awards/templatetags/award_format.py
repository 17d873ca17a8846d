"""Number formats of the award pages: money to 0.01 yuan, unit prices to 4 decimals
(more when the price has more), quantities with thousands separators. One rounding rule
for every page and PDF: ``common.money`` (half up to the fen)."""

from __future__ import annotations

from typing import Any

from django import template

from common.money import format_money, format_percent, format_quantity, format_unit_price

register = template.Library()


@register.filter
def money(value: Any) -> str:
    """1234567.891 -> 1,234,567.89 (half up); empty for None."""
    return format_money(value)


@register.filter
def price(value: Any) -> str:
    """A unit price with 4 decimals, or all of its decimals when it has more."""
    return format_unit_price(value)


@register.filter
def qty(value: Any) -> str:
    return format_quantity(value)


@register.filter
def percent(value: Any) -> str:
    """A share of one as a percentage with one decimal: 0.1234 -> 12.3%."""
    return format_percent(value, places=1, fraction=True)

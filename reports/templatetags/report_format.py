"""Number formats of reports: thousands separators, money to the fen, prices to 4 places.

Locale-independent on purpose: a published PDF must read the same whoever renders it,
and ``format(Decimal, ",.2f")`` is exact (no float on the way).
"""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        return Decimal(value)
    return None


@register.filter
def yuan(value: object) -> str:
    """Money to the fen with thousands separators: 1,234,567.80."""
    d = _decimal(value)
    return "—" if d is None else format(d, ",.2f")


@register.filter
def unit_price(value: object) -> str:
    """A unit price to 4 decimal places: 12,345.6789."""
    d = _decimal(value)
    return "—" if d is None else format(d, ",.4f")


@register.filter
def quantity(value: object) -> str:
    d = _decimal(value)
    return "—" if d is None else format(d, ",.0f")


@register.filter
def pct(value: object) -> str:
    d = _decimal(value)
    return "—" if d is None else f"{format(d, '.2f')}%"


@register.filter
def css_string(value: object) -> str:
    """Text for a CSS string (the PDF's running title): quotes, backslashes and line
    breaks removed, not HTML-escaped (CSS shows entities literally)."""
    from django.utils.safestring import mark_safe

    text = str(value)
    for ch in ('"', "\\", "\n", "\r"):
        text = text.replace(ch, " ")
    return mark_safe(text)  # noqa: S308 - inside a CSS string, not HTML


@register.filter
def svg_data_uri(svg: str) -> str:
    """An SVG chart as a data: URI for <img> in PDFs. WeasyPrint then draws it as an SVG
    image (text stays text, in the CJK font) instead of parsing its style attributes as
    HTML CSS, which logs a warning per attribute and is slower."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")

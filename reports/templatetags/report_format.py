"""Number formats of reports: thousands separators, money to the fen, prices to 4 places.

Every figure goes through ``common.money`` (one rounding rule: half up to the fen); a
missing value shows as a dash.
"""

from __future__ import annotations

from django import template

from common.money import format_money, format_percent, format_quantity, format_unit_price

register = template.Library()

MISSING = "—"


@register.filter
def yuan(value: object) -> str:
    """Money to the fen, half up, with thousands separators: 1,234,567.80."""
    return format_money(value, empty=MISSING)


@register.filter
def unit_price(value: object) -> str:
    """A unit price to 4 decimal places: 12,345.6789."""
    return format_unit_price(value, empty=MISSING)


@register.filter
def quantity(value: object) -> str:
    return format_quantity(value, empty=MISSING)


@register.filter
def pct(value: object) -> str:
    return format_percent(value, places=2, empty=MISSING)


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

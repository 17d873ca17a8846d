"""One number parser for every quantity and price: web forms, the API and spreadsheets.

The policy (docs/architecture.md, "Numbers"):

* Digits may be ASCII or full-width (０-９, as Chinese input methods type them), and a
  decimal point ``.`` or ``．``.
* Thousands separators (``,`` and the full-width ``，``) are accepted in correctly placed groups of
  three ("1,200", "12,000,000"), as spreadsheets and people write them, and nowhere else
  ("1,2" is refused).
* Surrounding spaces are ignored; spaces inside a number are not.
* Exponents ("1e3"), signs ("+5", "-5"), NaN and infinities are refused everywhere.
* A quantity is a whole number above zero, at most ``MAX_WHOLE_NUMBER``; a whole number
  written with zero decimals ("12.0", as a spreadsheet may store it) is that number.
  A price is a decimal above zero with at most the column's decimal places.
* In the API a JSON integer is a quantity as it is; a JSON number for a price is read
  from its text; ``true``/``false`` and ``null`` are not numbers.

``parse_whole_number`` and ``parse_decimal`` raise ``NumberRefused`` with the message
the user reads; ``clean_number_text`` is the text step alone (for vectorised callers).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

# Whole numbers above this are refused: beyond any real annual quantity, and it keeps
# values inside PostgreSQL's bigint.
MAX_WHOLE_NUMBER = 10**12
MAX_PRICE = Decimal(10) ** 10  # prices are stored with 14 digits, 4 of them decimals

_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")
_NUMBER = re.compile(r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]+))?")


class NumberRefused(ValueError):
    """Why a value is not an accepted number; ``message`` is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clean_number_text(text: str) -> str | None:
    """ASCII digits with at most one ``.`` and no separator, or None if ``text`` is not
    written as the policy allows (the caller then asks ``why_refused``)."""
    normal = text.strip().translate(_FULL_WIDTH)
    match = _NUMBER.fullmatch(normal)
    if match is None:
        return None
    whole = match.group("int").replace(",", "")
    fraction = match.group("frac")
    return f"{whole}.{fraction}" if fraction is not None else whole


def why_refused(text: str) -> str:
    """The message for text ``clean_number_text`` refused."""
    normal = text.strip().translate(_FULL_WIDTH)
    values = {"value": text}
    if normal.startswith("-") and clean_number_text(normal[1:]) is not None:
        return _("“%(value)s” is negative; it must be greater than zero.") % values
    if normal.startswith("+"):
        return _("“%(value)s”: write the number without a + sign.") % values
    if re.fullmatch(r"[0-9.,，]+[eE][+-]?[0-9]+", normal):
        return _("“%(value)s”: write the number in full, without an exponent.") % values
    return _("“%(value)s” is not a number.") % values


def _text_of(value: object) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise NumberRefused(_("“%(value)s” is not a number.") % {"value": value})
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise NumberRefused(_("“%(value)s” is not a number.") % {"value": value})
        return repr(value) if "e" not in repr(value) else format(Decimal(repr(value)), "f")
    return str(value)


def parse_whole_number(value: object, *, minimum: int = 1) -> int:
    """A quantity: a whole number above zero, or at least ``minimum`` (0 for a capacity
    that may be none), by the module's policy."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
        text = str(value)
    else:
        text = _text_of(value)
        cleaned = clean_number_text(text)
        if cleaned is None:
            raise NumberRefused(why_refused(text))
        whole, _dot, fraction = cleaned.partition(".")
        if fraction.strip("0"):
            raise NumberRefused(_("“%(value)s” is not a whole number.") % {"value": text})
        number = int(whole)
    if number < 0:
        raise NumberRefused(
            _("“%(value)s” is negative; it must be greater than zero.") % {"value": text}
        )
    if number == 0 and minimum > 0:
        raise NumberRefused(_("must be greater than zero."))
    if number > MAX_WHOLE_NUMBER:
        raise NumberRefused(_("“%(value)s” is too large.") % {"value": text})
    return number


def parse_decimal(value: object, *, places: int) -> Decimal:
    """A price: a decimal above zero with at most ``places`` decimal places."""
    text = _text_of(value)
    cleaned = clean_number_text(text)
    if cleaned is None:
        raise NumberRefused(why_refused(text))
    try:
        number = Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the pattern allows only digits
        raise NumberRefused(_("“%(value)s” is not a number.") % {"value": text}) from exc
    if number <= 0:
        raise NumberRefused(_("“%(value)s” must be greater than zero.") % {"value": text})
    quantum = Decimal(1).scaleb(-places)
    if number != number.quantize(quantum):
        raise NumberRefused(
            _("“%(value)s” has more than %(places)s decimal places.")
            % {"value": text, "places": places}
        )
    if number >= MAX_PRICE:
        raise NumberRefused(_("“%(value)s” is too large.") % {"value": text})
    return number.quantize(quantum)

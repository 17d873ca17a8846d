"""Form fields that read quantities and prices by ``common.numbers``, the one number policy
of the forms, the API and the imports: full-width digits and correctly grouped thousands
separators are read; signs, exponents and misplaced separators are refused with the
parser's message.

They render as text inputs (``inputmode`` numeric or decimal): a browser's number input
would refuse "1,200" or full-width digits before the server could read them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from common.numbers import NumberRefused, parse_decimal, parse_whole_number


class WholeNumberField(forms.Field):
    """A quantity or capacity: a whole number of at least ``minimum`` (1, or 0 where none
    is allowed)."""

    def __init__(self, *, minimum: int = 1, **kwargs: Any) -> None:
        self.minimum = minimum
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return parse_whole_number(value, minimum=self.minimum)
        except NumberRefused as refused:
            raise forms.ValidationError(refused.message, code="number") from refused


class DecimalNumberField(forms.Field):
    """A price above zero with at most ``places`` decimal places."""

    def __init__(self, *, places: int, **kwargs: Any) -> None:
        self.places = places
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return parse_decimal(value, places=self.places)
        except NumberRefused as refused:
            raise forms.ValidationError(refused.message, code="number") from refused

"""The form fields that read numbers by common.numbers, as the API does, and the bid
sheet's and the contracts' forms that use them."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import translation

from common.number_fields import DecimalNumberField, WholeNumberField
from contracts.forms import AmendmentForm, PurchaseForm


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("1200", 1200),
        ("1,200", 1200),
        ("１２００", 1200),
        ("１，２００", 1200),
        (" 12,000,000 ", 12_000_000),
        ("12.0", 12),
    ],
)
def test_a_quantity_reads_full_width_digits_and_thousands_separators(typed, read) -> None:
    assert WholeNumberField().clean(typed) == read


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1,2", "“1,2” is not a number."),
        ("+5", "“+5”: write the number without a + sign."),
        ("1e3", "“1e3”: write the number in full, without an exponent."),
        ("-5", "“-5” is negative; it must be greater than zero."),
        ("1.5", "“1.5” is not a whole number."),
        ("0", "must be greater than zero."),
    ],
)
def test_a_quantity_is_refused_with_the_parsers_message(typed, message) -> None:
    with pytest.raises(Exception) as refused:
        WholeNumberField().clean(typed)
    assert refused.value.messages == [message]


def test_a_capacity_may_be_zero_and_a_blank_optional_field_is_none() -> None:
    assert WholeNumberField(minimum=0).clean("0") == 0
    assert WholeNumberField(required=False).clean("  ") is None
    with pytest.raises(Exception) as refused:
        WholeNumberField().clean("")
    assert refused.value.messages == ["This field is required."]


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("1.2345", Decimal("1.2345")),
        ("１．２３４５", Decimal("1.2345")),
        ("1,234.5", Decimal("1234.5000")),
    ],
)
def test_a_price_reads_full_width_digits_and_thousands_separators(typed, read) -> None:
    assert DecimalNumberField(places=4).clean(typed) == read


def test_a_price_with_too_many_places_is_refused() -> None:
    with pytest.raises(Exception) as refused:
        DecimalNumberField(places=4).clean("1.23456")
    assert refused.value.messages == ["“1.23456” has more than 4 decimal places."]


def _line(round_item_id: int = 7, quantity: int = 4200) -> SimpleNamespace:
    item = SimpleNamespace(code="A01", display_name="Drug", display_unit="tablet")
    return SimpleNamespace(
        round_item_id=round_item_id,
        quantity=quantity,
        round_item=SimpleNamespace(item=item),
        contract=SimpleNamespace(number="C-1", manufacturer=SimpleNamespace(display_name="M")),
    )


def test_the_purchase_form_reads_quantities_as_the_api_does() -> None:
    lines = [_line()]
    for typed, read in (("３００", 300), ("5,000", 5000)):
        form = PurchaseForm({"line": "C-1|A01", "month": "2027-03", "quantity": typed}, lines=lines)
        assert form.is_valid(), form.errors
        assert form.cleaned_data["quantity"] == read
    refused = PurchaseForm({"line": "C-1|A01", "month": "2027-03", "quantity": "1e3"}, lines=lines)
    assert not refused.is_valid()
    assert refused.errors["quantity"] == ["“1e3”: write the number in full, without an exponent."]


def test_the_amendment_form_reads_quantities_as_the_api_does() -> None:
    form = AmendmentForm(
        {"reason": "merged", "effective_from": "2027-03-01", "quantity_7": "３，０００"},
        lines=[_line()],
    )
    assert form.is_valid(), form.errors
    assert form.quantities() == {7: 3000}

"""The bid sheet form: one row per specification (drugs) or own product (consumables)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bidding.selectors import SheetItem, SheetRow
from bidding.services import BidLine, BidTerms, bid_warnings
from catalog.models import Product
from common.number_fields import DecimalNumberField, WholeNumberField

CARRIED = "current-"  # prefix of the hidden inputs that carry a row's current terms


class BidRowForm(forms.Form):
    """One row. Left entirely blank, the row is not part of this submission."""

    product = forms.ModelChoiceField(
        queryset=Product.objects.none(),
        required=False,
        label=gettext_lazy("Product"),
        empty_label=gettext_lazy("Choose your product"),
    )
    # Read by common.numbers, as the API reads them (full-width digits, "1,200").
    unit_price = DecimalNumberField(
        required=False, places=4, label=gettext_lazy("Unit price (yuan)")
    )
    annual_capacity = WholeNumberField(
        required=False, minimum=0, label=gettext_lazy("Annual capacity")
    )

    def __init__(self, data: Any = None, *, row: SheetRow, current: BidTerms | None) -> None:
        super().__init__(data=data, prefix=row.key)
        self.row = row
        self.current = current  # the bid's current terms (None: no live bid on this row)
        self.warnings: list[str] = []
        product_field = self.fields["product"]
        assert isinstance(product_field, forms.ModelChoiceField)
        product_field.queryset = Product.objects.filter(pk__in=[p.pk for p in row.products])
        for name in ("unit_price", "annual_capacity"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        if len(row.products) == 1:
            self.fields["product"].initial = row.products[0].pk
        if current is not None and not self.is_bound:
            self.initial.update(
                {
                    "product": current.product.pk if current.product else None,
                    "unit_price": current.unit_price,
                    "annual_capacity": current.annual_capacity,
                }
            )

    def carried_fields(self) -> list[tuple[str, str]]:
        """The current terms again, as hidden inputs (name, value) of the sheet's form.

        The inline check that runs while the bidder types compares the entered values with
        these instead of decrypting the bid again: one audited decryption per view of the
        sheet, none per keystroke. They are the prices the page already shows its owner,
        and only ever used for that feedback: what is sealed is compared with the bid
        decrypted again (``BidSheet.carried_terms``).
        """
        current = self.current
        if current is None:
            return []
        values = {
            "product": current.product.pk if current.product else "",
            "unit_price": "" if current.unit_price is None else current.unit_price,
            "annual_capacity": "" if current.annual_capacity is None else current.annual_capacity,
        }
        return [(self.add_prefix(f"{CARRIED}{name}"), str(value)) for name, value in values.items()]

    def is_blank(self) -> bool:
        data = self.data
        return not any(
            str(data.get(self.add_prefix(name), "")).strip()
            for name in ("unit_price", "annual_capacity")
        )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if self.is_blank():
            return cleaned
        if not self.row.products:
            raise forms.ValidationError(
                _("You have no eligible product registered for this specification.")
            )
        if cleaned.get("product") is None and "product" not in self.errors:
            self.add_error("product", _("Choose the product you will supply."))
        if cleaned.get("unit_price") is None and "unit_price" not in self.errors:
            self.add_error("unit_price", _("Enter the unit price in yuan."))
        if cleaned.get("annual_capacity") is None and "annual_capacity" not in self.errors:
            self.add_error("annual_capacity", _("Enter the annual supply capacity."))
        return cleaned


@dataclass
class SheetLine:
    """A validated row that differs from the current bid: what will be sealed."""

    form: BidRowForm
    line: BidLine
    warnings: list[str]
    is_revision: bool


@dataclass
class BidSheet:
    items: list[SheetItem]
    forms: dict[str, BidRowForm]
    changes: list[SheetLine] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        items: list[SheetItem],
        data: object | None = None,
        *,
        current: Mapping[int, BidTerms] | None = None,
    ) -> BidSheet:
        """The sheet's forms; ``current`` holds the current terms of its bids, by bid id."""
        current = current or {}
        forms_by_key = {
            row.key: BidRowForm(data, row=row, current=current.get(row.bid.pk) if row.bid else None)
            for item in items
            for row in item.rows
        }
        return cls(items=items, forms=forms_by_key)

    @staticmethod
    def carried_terms(items: list[SheetItem], data: Mapping[str, Any]) -> dict[int, BidTerms]:
        """The current terms the sheet's page carried in its hidden inputs, by bid id
        (``BidRowForm.carried_fields``). A row whose carried values do not read is taken
        as having none: the check then counts it as a change, and nothing is sealed
        without the bid being decrypted again."""
        terms: dict[int, BidTerms] = {}
        for item in items:
            for row in item.rows:
                if row.bid is None:
                    continue
                name = f"{row.key}-{CARRIED}"
                try:
                    price_text = str(data.get(f"{name}unit_price", ""))
                    capacity_text = str(data.get(f"{name}annual_capacity", ""))
                    product_id = str(data.get(f"{name}product", ""))
                    if not price_text and not capacity_text:
                        continue
                    terms[row.bid.pk] = BidTerms(
                        product=next((p for p in row.products if str(p.pk) == product_id), None),
                        unit_price=Decimal(price_text) if price_text else None,
                        annual_capacity=int(capacity_text) if capacity_text else None,
                    )
                except (InvalidOperation, ValueError):
                    continue
        return terms

    def rows(self) -> list[tuple[SheetItem, list[tuple[SheetRow, BidRowForm]]]]:
        return [(item, [(row, self.forms[row.key]) for row in item.rows]) for item in self.items]

    def is_valid(self) -> bool:
        ok = True
        self.changes = []
        for form in self.forms.values():
            if not form.is_valid():
                ok = False
                continue
            if form.is_blank():
                continue
            row = form.row
            product = form.cleaned_data["product"]
            price = form.cleaned_data["unit_price"]
            capacity = form.cleaned_data["annual_capacity"]
            current = form.current
            if (
                current is not None
                and current.product == product
                and current.unit_price == price
                and current.annual_capacity == capacity
            ):
                continue  # unchanged: nothing to seal
            form.warnings = bid_warnings(
                ceiling=row.ceiling, unit_price=price, annual_capacity=capacity
            )
            self.changes.append(
                SheetLine(
                    form=form,
                    line=BidLine(
                        round_item=row.round_item,
                        specification=row.ceiling.specification,
                        product=product,
                        unit_price=price,
                        annual_capacity=capacity,
                    ),
                    warnings=form.warnings,
                    is_revision=current is not None,
                )
            )
        return ok

    @property
    def error_count(self) -> int:
        return sum(1 for f in self.forms.values() if f.errors)

"""The bid sheet form: one row per specification (drugs) or own product (consumables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bidding.selectors import SheetItem, SheetRow
from bidding.services import BidLine, bid_warnings
from catalog.models import Product


class BidRowForm(forms.Form):
    """One row. Left entirely blank, the row is not part of this submission."""

    product = forms.ModelChoiceField(
        queryset=Product.objects.none(),
        required=False,
        label=gettext_lazy("Product"),
        empty_label=gettext_lazy("Choose your product"),
    )
    unit_price = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        label=gettext_lazy("Unit price (yuan)"),
        localize=False,
    )
    annual_capacity = forms.IntegerField(
        required=False, min_value=0, max_value=10**15, label=gettext_lazy("Annual capacity")
    )

    def __init__(self, data: Any = None, *, row: SheetRow) -> None:
        super().__init__(data=data, prefix=row.key)
        self.row = row
        self.warnings: list[str] = []
        product_field = self.fields["product"]
        assert isinstance(product_field, forms.ModelChoiceField)
        product_field.queryset = Product.objects.filter(pk__in=[p.pk for p in row.products])
        for name in ("unit_price", "annual_capacity"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        if len(row.products) == 1:
            self.fields["product"].initial = row.products[0].pk
        if row.current is not None and not self.is_bound:
            self.initial.update(
                {
                    "product": row.current.product.pk if row.current.product else None,
                    "unit_price": row.current.unit_price,
                    "annual_capacity": row.current.annual_capacity,
                }
            )

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
    def build(cls, items: list[SheetItem], data: object | None = None) -> BidSheet:
        forms_by_key = {row.key: BidRowForm(data, row=row) for item in items for row in item.rows}
        return cls(items=items, forms=forms_by_key)

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
            current = row.current
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

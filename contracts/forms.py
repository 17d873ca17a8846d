"""Forms of the contract and execution pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from awards.models import ItemAward
from common.number_fields import WholeNumberField
from procurement.forms import DateInput


class AmendmentForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    effective_from = forms.DateField(label=_("Effective from"), widget=DateInput())

    def __init__(self, *args: Any, lines: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"quantity_{line.round_item_id}"] = WholeNumberField(
                label=_("Agreed volume of %(item)s") % {"item": line.round_item.item.code},
                minimum=0,
                initial=line.quantity,
            )

    def quantities(self) -> dict[int, int]:
        return {
            line.round_item_id: self.cleaned_data[f"quantity_{line.round_item_id}"]
            for line in self.lines
        }


class PurchaseForm(forms.Form):
    """One month of one contract line (the web form)."""

    line = forms.ChoiceField(label=_("Contract and item"))
    month = forms.CharField(
        label=_("Month"),
        widget=forms.TextInput(attrs={"type": "month"}),
        help_text=_("The month the goods were bought, e.g. 2027-03."),
    )
    quantity = WholeNumberField(
        label=_("Quantity bought"),
        minimum=1,
        help_text=_("In the item's unit of count, shown in brackets after the item."),
    )

    def __init__(self, *args: Any, lines: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["line"].choices = [  # type: ignore[attr-defined]
            (
                f"{line.contract.number}|{line.round_item.item.code}",
                f"{line.contract.number} · {line.round_item.item.code} "
                f"{line.round_item.item.display_name} ({line.round_item.item.display_unit}) · "
                f"{line.contract.manufacturer.display_name}",
            )
            for line in lines
        ]


class PurchaseUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet"),
        help_text=_(
            "A .xlsx or .csv file (UTF-8 or GB18030) with the columns 合同编号 (contract "
            "number), 品种编码 (item code), 月份 (month) and 采购数量 (quantity)."
        ),
    )


class SupplyFailureForm(forms.Form):
    round_item = forms.TypedChoiceField(label=_("Item"), coerce=int)
    region = forms.ModelChoiceField(queryset=Region.objects.all(), label=_("Province"))
    description = forms.CharField(
        label=_("What happened"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )

    def __init__(self, *args: Any, awards: list[ItemAward], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["round_item"].choices = [  # type: ignore[attr-defined]
            (a.round_item_id, f"{a.round_item.item.code} {a.round_item.item.display_name}")
            for a in awards
        ]


class SwitchForm(forms.Form):
    backup_bid = forms.TypedChoiceField(label=_("Backup supplier"), coerce=int)
    switch_from = forms.DateField(label=_("From (first day of a month)"), widget=DateInput())

    def __init__(self, *args: Any, winners: list[Any], default: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["backup_bid"].choices = [  # type: ignore[attr-defined]
            (w.opened_bid_id, f"{w.manufacturer.display_name} · {w.award_price}") for w in winners
        ]
        if default is not None:
            self.fields["backup_bid"].initial = default

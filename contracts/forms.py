"""Forms of the award pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from bidding.models import OpenedBid
from contracts.models import ItemAward
from procurement.models import Round, RuleSet
from procurement.rule_labels import rule_set_title
from procurement.services import RULE_KINDS_BY_ROUND_KIND

ATTACHMENT_TYPES = (".pdf", ".png", ".jpg", ".jpeg")


class ScenarioForm(forms.Form):
    rule_set = forms.ModelChoiceField(queryset=RuleSet.objects.none(), label=_("Rule set"))

    def __init__(self, *args: Any, round_: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = RULE_KINDS_BY_ROUND_KIND[Round.Kind(round_.kind)]
        self.fields["rule_set"].queryset = RuleSet.objects.filter(kind__in=kinds).exclude(  # type: ignore[attr-defined]
            pk=round_.rule_set_id
        )
        self.fields["rule_set"].label_from_instance = rule_set_choice_label  # type: ignore[attr-defined]


def rule_set_choice_label(rule_set: RuleSet) -> str:
    """A rule set in a drop-down: its title in the reader's language, version and, for a
    ready-made one, its stable name (``national-drug-batch-4``)."""
    title = rule_set_title(rule_set.name)
    if title == rule_set.name:
        return f"{title} v{rule_set.version}"
    return f"{title} v{rule_set.version} ({rule_set.name})"


class ObjectionForm(forms.Form):
    round_item = forms.TypedChoiceField(label=_("Item"), coerce=int)
    text = forms.CharField(
        label=_("Objection"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=5000,
        help_text=_("What is wrong with the item's result, and on what grounds."),
    )
    attachment = forms.FileField(
        label=_("Attachment"),
        required=False,
        help_text=_("Optional: a PDF or an image (PNG, JPEG), at most 10 MB."),
    )

    def __init__(self, *args: Any, awards: list[ItemAward], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["round_item"].choices = [  # type: ignore[attr-defined]
            (a.round_item_id, f"{a.round_item.item.code} {a.round_item.item.display_name}")
            for a in awards
        ]

    def clean_attachment(self) -> Any:
        upload = self.cleaned_data.get("attachment")
        if upload is None:
            return None
        if not upload.name.lower().endswith(ATTACHMENT_TYPES):
            raise forms.ValidationError(_("Attach a PDF, PNG or JPEG file."))
        if upload.size > min(10 * 1024 * 1024, settings.JICAI_MAX_UPLOAD_BYTES):
            raise forms.ValidationError(_("The attachment is larger than 10 MB."))
        return upload


class ObjectionAnswerForm(forms.Form):
    DISMISS = "dismiss"
    UPHOLD = "uphold"

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (DISMISS, _("Dismiss the objection")),
            (UPHOLD, _("Uphold it: exclude a bid and re-run the evaluation")),
        ],
        widget=forms.RadioSelect,
    )
    answer = forms.CharField(
        label=_("Answer"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )
    excluded_bid = forms.TypedChoiceField(
        label=_("Bid to exclude"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, bids: list[OpenedBid], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["excluded_bid"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (b.pk, f"{b.manufacturer.display_name} · {b.specification.label} · {b.unit_price}")
            for b in bids
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == self.UPHOLD and not data.get("excluded_bid"):
            self.add_error("excluded_bid", _("Choose the bid to exclude when upholding."))
        return data


class SelectionOpenForm(forms.Form):
    closes_at = forms.DateTimeField(
        label=_("Selection closes"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("China Standard Time. Picks left open then are assigned by the platform."),
    )


class PickForm(forms.Form):
    PLATFORM = "platform"

    round_item = forms.IntegerField(widget=forms.HiddenInput)
    region = forms.ChoiceField(label=_("Province"))

    def __init__(self, *args: Any, free: list[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, r.name) for r in free] + [  # type: ignore[attr-defined]
            (self.PLATFORM, _("Leave my remaining picks to the platform"))
        ]


class BackupForm(forms.Form):
    round_item = forms.IntegerField(widget=forms.HiddenInput)
    regions = forms.MultipleChoiceField(
        label=_("Backup provinces"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, choices: list[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["regions"].choices = [(r.code, r.name) for r in choices]  # type: ignore[attr-defined]


class AmendmentForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    effective_from = forms.DateField(
        label=_("Effective from"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, lines: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"quantity_{line.round_item_id}"] = forms.IntegerField(
                label=_("Agreed volume of %(item)s") % {"item": line.round_item.item.code},
                min_value=0,
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
    quantity = forms.IntegerField(
        label=_("Quantity bought"),
        min_value=1,
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
    switch_from = forms.DateField(
        label=_("From (first day of a month)"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, winners: list[Any], default: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["backup_bid"].choices = [  # type: ignore[attr-defined]
            (w.opened_bid_id, f"{w.manufacturer.display_name} · {w.award_price}") for w in winners
        ]
        if default is not None:
            self.fields["backup_bid"].initial = default

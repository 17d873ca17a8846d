"""Forms of the tender pages. The rules (what may change, when) live in the services."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from procurement.forms import DateTimeInput
from procurement.models import Round, RoundItem
from tender.changes import AMENDABLE_TIMETABLE_FIELDS
from tender.services import AmendmentDraft
from tender.services.clarifications import MAX_ANSWER, MAX_QUESTION


class QuestionForm(forms.Form):
    round_item = forms.ModelChoiceField(
        label=_("Item (optional)"),
        queryset=RoundItem.objects.none(),
        required=False,
        empty_label=_("The documents in general"),
    )
    question = forms.CharField(
        label=_("Your question"),
        max_length=MAX_QUESTION,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "The office publishes its answer to every bidder and on the round's public page, "
            "without your organization's name. Do not name your organization in the question."
        ),
    )

    def __init__(self, *args: Any, round_: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["round_item"]
        field.queryset = round_.items.select_related("item").order_by("item__code")  # type: ignore[attr-defined]
        field.label_from_instance = lambda ri: f"{ri.item.code} {ri.item.display_name}"  # type: ignore[attr-defined]


class AnswerForm(forms.Form):
    published_question = forms.CharField(
        label=_("The question as it will be published"),
        max_length=MAX_QUESTION,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Edit out anything that names or identifies the asker: the question is published "
            "with the answer to every bidder and on the public round page."
        ),
    )
    answer = forms.CharField(
        label=_("Answer"),
        max_length=MAX_ANSWER,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "An answer changes no price and no time: if the documents must change, publish an "
            "amendment as well."
        ),
    )


def _price_field(label: str, current: Decimal | None) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=14,
        decimal_places=4,
        min_value=Decimal(0),
        initial=current,
        localize=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "num"}),
    )


class AmendmentForm(forms.Form):
    """New values for the round's ceilings, reference prices and amendable times.

    A field left as it is changes nothing; the preview lists what would change."""

    reason = forms.CharField(
        label=_("Reason for the amendment (published)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    reason_en = forms.CharField(
        label=_("Reason in English (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    bid_deadline = forms.DateTimeField(label=_("Bid deadline"), widget=DateTimeInput())
    opening_at = forms.DateTimeField(label=_("Bid opening"), widget=DateTimeInput())
    contract_starts_on = forms.DateField(
        label=_("Contract start"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(
        self, *args: Any, round_: Round, round_items: list[RoundItem], prices: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.round = round_
        for name in AMENDABLE_TIMETABLE_FIELDS:
            value = getattr(round_, name)
            self.fields[name].initial = (
                timezone.localtime(value) if isinstance(value, datetime.datetime) else value
            )
        self.price_rows: list[dict[str, Any]] = []
        for round_item in round_items:
            current = {c.specification_id: c.max_valid_bid_price for c in round_item.ceilings.all()}
            specifications = []
            for spec in round_item.item.specifications.all():
                name = f"ceil-{round_item.pk}-{spec.pk}"
                self.fields[name] = _price_field(
                    f"{round_item.item.code} {spec.label}", current.get(spec.pk)
                )
                self.fields[name].disabled = not prices
                specifications.append((spec, name))
            ref = f"ref-{round_item.pk}"
            self.fields[ref] = _price_field(
                f"{round_item.item.code}: {_('reference price')}", round_item.reference_price
            )
            self.fields[ref].disabled = not prices
            self.price_rows.append(
                {
                    "round_item": round_item,
                    "specifications": specifications,
                    "reference": ref,
                    "current": current,
                }
            )

    def price_fields(self) -> list[dict[str, Any]]:
        """The price rows with their bound fields, for the template."""
        return [
            {
                "round_item": row["round_item"],
                "specifications": [(spec, self[name]) for spec, name in row["specifications"]],
                "reference": self[row["reference"]],
            }
            for row in self.price_rows
        ]

    def draft(self) -> AmendmentDraft:
        """The new values only: a price or time left as shown changes nothing (times are
        shown to the minute, so a current time with seconds is compared to the minute)."""
        data = self.cleaned_data
        draft = AmendmentDraft(reason=data["reason"], reason_en=data.get("reason_en", ""))
        for row in self.price_rows:
            round_item = row["round_item"]
            for spec, name in row["specifications"]:
                value = data.get(name)
                if value is not None and value != row["current"].get(spec.pk):
                    draft.ceilings[(round_item.pk, spec.pk)] = value
            reference = data.get(row["reference"])
            if reference is not None and reference != round_item.reference_price:
                draft.reference_prices[round_item.pk] = reference
        for name in AMENDABLE_TIMETABLE_FIELDS:
            value = data.get(name)
            current = getattr(self.round, name)
            if isinstance(current, datetime.datetime):
                current = current.replace(second=0, microsecond=0)
            if value is not None and value != current:
                draft.timetable[name] = value
        return draft

"""Forms of the procurement pages. Validation of state lives in the services."""

from __future__ import annotations

import itertools
import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from catalog.models import ProcurementItem
from procurement.models import Round, RoundItem, RuleSet
from procurement.optimiser.kinds import Family, kinds_for_round_kind, kinds_of_family


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DateInput(forms.DateInput):
    """``<input type="date">`` whose value is always ISO (2027-02-04): the browser accepts
    nothing else, and the active language's first date format (Chinese: 2027/02/04) would
    show the field empty and lose the date on saving."""

    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


TIMETABLE_FIELDS = (
    "demand_opens_at",
    "demand_closes_at",
    "bid_deadline",
    "opening_at",
    "objection_ends_at",
    "contract_starts_on",
)


class TimetableForm(forms.Form):
    """A round's timetable; times are entered and shown in China Standard Time."""

    demand_opens_at = forms.DateTimeField(
        label=_("Demand declaration opens"), widget=DateTimeInput()
    )
    demand_closes_at = forms.DateTimeField(
        label=_("Demand declaration closes"), widget=DateTimeInput()
    )
    bid_deadline = forms.DateTimeField(label=_("Bid deadline"), widget=DateTimeInput())
    opening_at = forms.DateTimeField(label=_("Bid opening"), widget=DateTimeInput())
    objection_ends_at = forms.DateTimeField(
        label=_("Objection period ends"), widget=DateTimeInput()
    )
    contract_starts_on = forms.DateField(label=_("Contract start"), widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        order = TIMETABLE_FIELDS[:-1]
        for earlier, later in itertools.pairwise(order):
            a, b = data.get(earlier), data.get(later)
            if a and b and b < a:
                self.add_error(
                    later,
                    _("Must not be before “%(earlier)s”.")
                    % {"earlier": self.fields[earlier].label},
                )
        return data


class RoundCreateForm(TimetableForm):
    code = forms.CharField(label=_("Round code"), max_length=32, help_text=_("e.g. GY-YD2026-1"))
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=Round.Kind.choices)
    rule_set = forms.ModelChoiceField(
        label=_("Rule set"),
        queryset=RuleSet.objects.order_by("name", "-version"),
        help_text=_("Ready-made rule sets; a rule set is frozen when bidding opens."),
    )
    regions = forms.ModelMultipleChoiceField(
        label=_("Region scope"),
        queryset=Region.objects.order_by("code"),
        widget=forms.CheckboxSelectMultiple,
    )
    items = forms.ModelMultipleChoiceField(
        label=_("Procurement items"),
        queryset=ProcurementItem.objects.order_by("kind", "code"),
        widget=forms.CheckboxSelectMultiple,
    )

    field_order = ["code", "name", "name_en", "kind", "rule_set", "regions", "items"]

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if Round.objects.filter(code=code).exists():
            raise forms.ValidationError(_("A round with this code already exists."))
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        items = data.get("items")
        rule_set = data.get("rule_set")
        if kind and items:
            wanted = "drug" if kind == Round.Kind.DRUGS else "consumable"
            wrong = [i.code for i in items if i.kind != wanted]
            if wrong:
                self.add_error(
                    "items",
                    _("Not of this round's kind: %(codes)s.") % {"codes": ", ".join(wrong)},
                )
        if kind and rule_set and rule_set.kind not in kinds_for_round_kind(kind):
            self.add_error(
                "rule_set",
                _("This rule set does not apply to a %(kind)s round.")
                % {"kind": Round.Kind(kind).label},
            )
        return data


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=300)


class RuleSetChoiceForm(forms.Form):
    rule_set = forms.ModelChoiceField(label=_("Rule set"), queryset=RuleSet.objects.none())

    def __init__(self, *args: Any, round_: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule_set"].queryset = RuleSet.objects.filter(  # type: ignore[attr-defined]
            kind__in=kinds_for_round_kind(round_.kind)
        ).order_by("name", "-version")
        self.fields["rule_set"].initial = round_.rule_set_id


class UnitRuleSetForm(forms.Form):
    """A consumables round's bidding unit: its own rule set, or (empty) the round's."""

    rule_set = forms.ModelChoiceField(
        label=_("Rule set"), queryset=RuleSet.objects.none(), required=False
    )

    def __init__(self, *args: Any, round_item: RoundItem, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["rule_set"]
        field.queryset = RuleSet.objects.filter(  # type: ignore[attr-defined]
            kind__in=kinds_of_family(Family.CONSUMABLE)
        ).order_by("name", "-version")
        field.empty_label = _("The round's rule set")  # type: ignore[attr-defined]
        field.initial = round_item.rule_set_id
        field.widget.attrs["aria-label"] = _("Rule set of %(item)s") % {
            "item": round_item.item.code
        }
        self.auto_id = f"id_unit_{round_item.pk}_%s"


class RuleSetReviseForm(forms.Form):
    parameters = forms.CharField(
        label=_("Parameters (JSON)"),
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
    )
    periods = forms.CharField(
        label=_("Minimum periods in days (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code"}),
        help_text=_(
            "Leave a period out to use its statutory default; 0 switches a minimum off. "
            "The defaults and their sources are listed above."
        ),
    )
    description = forms.CharField(label=_("What changed"), max_length=300, required=False)

    def clean_periods(self) -> dict[str, Any] | None:
        text = self.cleaned_data["periods"].strip()
        return self._json_object(text) if text else None  # blank: keep them as they are

    def clean_parameters(self) -> dict[str, Any]:
        return self._json_object(self.cleaned_data["parameters"])

    def _json_object(self, text: str) -> dict[str, Any]:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Not valid JSON: %(error)s (line %(line)s, column %(column)s).")
                % {"error": exc.msg, "line": exc.lineno, "column": exc.colno}
            ) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The parameters must be a JSON object."))
        return value

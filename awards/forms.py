"""Forms of the award pages: scenarios, objections and answers, province selection, and
a hospital's winners for its lost volume."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from awards.models import ItemAward
from awards.services import WinnerOption
from awards.templatetags.award_format import price
from bidding.models import OpenedBid
from procurement.models import Round, RuleSet
from procurement.optimiser.kinds import kinds_for_round_kind
from procurement.rule_labels import rule_set_title

ATTACHMENT_TYPES = (".pdf", ".png", ".jpg", ".jpeg")


class ScenarioForm(forms.Form):
    rule_set = forms.ModelChoiceField(queryset=RuleSet.objects.none(), label=_("Rule set"))

    def __init__(self, *args: Any, round_: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = kinds_for_round_kind(round_.kind)
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
            (
                b.pk,
                f"{b.manufacturer.display_name} · {b.specification.display_label} · {b.unit_price}",
            )
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

    # The window proposed in the field (the office may change it): two days, to the hour.
    DEFAULT_WINDOW = datetime.timedelta(days=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        proposed = timezone.localtime() + self.DEFAULT_WINDOW
        self.fields["closes_at"].initial = proposed.replace(
            minute=0, second=0, microsecond=0
        ) + datetime.timedelta(hours=1)


class ObjectionExtendForm(forms.Form):
    until = forms.DateTimeField(
        label=_("New end of the objection period"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("China Standard Time. Only later than the current end; audited."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)


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


def winner_label(winner: WinnerOption) -> str:
    return gettext("%(manufacturer)s, %(product)s: %(price)s yuan") % {
        "manufacturer": winner.manufacturer,
        "product": winner.product,
        "price": price(winner.award_price),
    }


class LostVolumeChoiceForm(forms.Form):
    """One select per preference (1 = first choice), as many as the item has winners.

    Empty selects after the last choice are allowed; a gap before a choice, or a winner
    chosen twice, is an error on the field concerned.
    """

    NO_CHOICE = gettext_lazy("— no choice —")

    def __init__(
        self,
        *args: Any,
        winners: Sequence[WinnerOption],
        chosen: Sequence[int] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.winners = list(winners)
        options = [("", self.NO_CHOICE)] + [
            (str(w.opened_bid_id), winner_label(w)) for w in self.winners
        ]
        for rank in range(1, len(self.winners) + 1):
            self.fields[f"preference_{rank}"] = forms.ChoiceField(
                label=gettext("Preference %(rank)s") % {"rank": rank},
                choices=options,
                required=False,
                initial=str(chosen[rank - 1]) if rank <= len(chosen) else "",
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        seen: dict[str, int] = {}
        gap: int | None = None
        for rank in range(1, len(self.winners) + 1):
            name = f"preference_{rank}"
            value = cleaned.get(name) or ""
            if not value:
                gap = gap or rank
                continue
            if gap is not None:
                self.add_error(
                    f"preference_{gap}",
                    gettext("Choose preference %(gap)s before preference %(rank)s.")
                    % {"gap": gap, "rank": rank},
                )
                gap = None
            if value in seen:
                self.add_error(
                    name,
                    gettext("This winner is already preference %(rank)s.") % {"rank": seen[value]},
                )
            else:
                seen[value] = rank
        return cleaned

    def opened_bid_ids(self) -> list[int]:
        """The chosen winners in preference order (valid form only)."""
        return [
            int(self.cleaned_data[f"preference_{rank}"])
            for rank in range(1, len(self.winners) + 1)
            if self.cleaned_data.get(f"preference_{rank}")
        ]

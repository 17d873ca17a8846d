"""The hospital's form: the winners, in order, for its lost volume of one item."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts.reassignment import WinnerOption
from contracts.templatetags.award_format import price


def winner_label(winner: WinnerOption) -> str:
    return _("%(manufacturer)s, %(product)s: %(price)s yuan") % {
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
                label=_("Preference %(rank)s") % {"rank": rank},
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
                    _("Choose preference %(gap)s before preference %(rank)s.")
                    % {"gap": gap, "rank": rank},
                )
                gap = None
            if value in seen:
                self.add_error(
                    name,
                    _("This winner is already preference %(rank)s.") % {"rank": seen[value]},
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

"""Forms of the accounts app."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.services import api_token_validity_days


class ApiTokenForm(forms.Form):
    """Name and validity of a new API token."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What will use it, e.g. “HIS production”."),
    )
    valid_days = forms.TypedChoiceField(label=_("Valid for"), coerce=int, choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["valid_days"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            (days, ngettext("%(days)s day", "%(days)s days", days) % {"days": days})
            for days in api_token_validity_days()
        ]
        field.initial = settings.JICAI_API_TOKEN_DAYS

"""Date inputs keep their values in both languages: an <input type="date"> only accepts
an ISO value (2027-02-04); Chinese's first date format is 2027/02/04, which the browser
rejects and shows empty, so saving the timetable lost the contract start."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import translation

from contracts.forms import AmendmentForm
from procurement.forms import TimetableForm

DAY = datetime.date(2027, 2, 4)


def _value(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag is not None, name
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_timetable_form_renders_iso_dates(language: str) -> None:
    moment = datetime.datetime(2027, 1, 5, 9, 30)
    initial = {f: moment for f in ("demand_opens_at", "demand_closes_at", "bid_deadline")}
    with translation.override(language):
        html = str(TimetableForm(initial={**initial, "contract_starts_on": DAY}))
    assert _value(html, "contract_starts_on") == "2027-02-04"
    assert _value(html, "bid_deadline") == "2027-01-05T09:30"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_posted_iso_date_comes_back_as_iso(language: str) -> None:
    """A form redisplayed with an error keeps the date typed, in ISO."""
    with translation.override(language):
        form = TimetableForm(data={"contract_starts_on": "2027-02-04"})
        assert not form.is_valid()  # the times are missing
        assert _value(str(form), "contract_starts_on") == "2027-02-04"
        assert form.cleaned_data["contract_starts_on"] == DAY


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_date_input_of_the_office_forms_is_iso(language: str) -> None:
    with translation.override(language):
        html = str(AmendmentForm(lines=[], initial={"effective_from": DAY}))
    assert _value(html, "effective_from") == "2027-02-04"

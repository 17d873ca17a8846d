"""The hospital's web table: one row per line, last value shown, save all, remove a line."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from procurement.models import DemandChange, DemandDeclaration
from procurement.selectors import demand_rows_for_hospital
from procurement.services import round_close_demand
from tests.procurement.conftest import client_for

pytestmark = pytest.mark.django_db


def _fields(round_, hospital):
    return {
        (r.round_item.item.code, r.specification.code): r.field_name
        for r in demand_rows_for_hospital(round_=round_, hospital=hospital.organization)
    }


def test_hospital_declares_in_the_web_table_and_sees_its_last_values(open_round, hospital):
    client = client_for(hospital)
    url = reverse("procurement:demand", args=[open_round.code])
    page = client.get(url)
    assert page.status_code == 200
    fields = _fields(open_round, hospital)
    assert len(fields) == 3  # 10MG, 20MG of atorvastatin and 75MG of clopidogrel
    response = client.post(
        url,
        {fields[("D-ATV-OS", "10MG")]: "1,200", fields[("D-CLO-OS", "75MG")]: "300"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Saved: 2 new, 0 changed, 0 unchanged." in response.content.decode()
    assert sorted(DemandDeclaration.objects.values_list("quantity", flat=True)) == [300, 1200]
    assert set(DemandChange.objects.values_list("channel", flat=True)) == {"web"}
    page = client.get(url).content.decode()
    assert f'name="{fields[("D-ATV-OS", "10MG")]}"' in page
    assert 'value="1200"' in page


def test_web_table_shows_the_error_next_to_the_line_and_saves_nothing(open_round, hospital):
    client = client_for(hospital)
    url = reverse("procurement:demand", args=[open_round.code])
    fields = _fields(open_round, hospital)
    response = client.post(
        url, {fields[("D-ATV-OS", "10MG")]: "12", fields[("D-ATV-OS", "20MG")]: "-4"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "1 line needs correcting; nothing was saved." in html
    assert "“-4” is negative; it must be greater than zero." in html
    assert not DemandDeclaration.objects.exists()


def test_web_table_refuses_after_close_with_a_clear_message(open_round, hospital, office):
    client = client_for(hospital)
    url = reverse("procurement:demand", args=[open_round.code])
    fields = _fields(open_round, hospital)
    round_close_demand(round_=open_round, by=office)
    response = client.post(url, {fields[("D-ATV-OS", "10MG")]: "12"})
    assert response.status_code == 400
    assert (
        "Demand declaration for round R-2026-1 is not open: the round is “Demand declaration "
        "closed”." in response.content.decode()
    )
    assert not DemandDeclaration.objects.exists()


def test_hospital_removes_a_line_and_history_keeps_it(open_round, hospital):
    client = client_for(hospital)
    fields = _fields(open_round, hospital)
    client.post(
        reverse("procurement:demand", args=[open_round.code]),
        {fields[("D-ATV-OS", "10MG")]: "12"},
    )
    declaration = DemandDeclaration.objects.get()
    response = client.post(
        reverse("procurement:demand-remove", args=[open_round.code, declaration.pk]), follow=True
    )
    assert "The line was removed; its history is kept." in response.content.decode()
    assert not DemandDeclaration.objects.exists()
    history = client.get(reverse("procurement:demand-history", args=[open_round.code]))
    assert history.status_code == 200
    assert "removed" in history.content.decode()


def test_hospital_cannot_remove_another_hospitals_line(open_round, hospital, other_hospital):
    fields = _fields(open_round, hospital)
    client_for(hospital).post(
        reverse("procurement:demand", args=[open_round.code]),
        {fields[("D-ATV-OS", "10MG")]: "12"},
    )
    declaration = DemandDeclaration.objects.get()
    response = client_for(other_hospital).post(
        reverse("procurement:demand-remove", args=[open_round.code, declaration.pk]), follow=True
    )
    assert "This line is not among your hospital&#x27;s declarations." in response.content.decode()
    assert DemandDeclaration.objects.filter(pk=declaration.pk).exists()


def test_hospital_never_sees_another_hospitals_values(open_round, hospital, other_hospital):
    fields = _fields(open_round, hospital)
    client_for(hospital).post(
        reverse("procurement:demand", args=[open_round.code]),
        {fields[("D-ATV-OS", "10MG")]: "987654"},
    )
    page = client_for(other_hospital).get(reverse("procurement:demand", args=[open_round.code]))
    assert "987654" not in page.content.decode()
    assert "987,654" not in page.content.decode()
    history = client_for(other_hospital).get(
        reverse("procurement:demand-history", args=[open_round.code])
    )
    assert "987" not in history.content.decode()


def test_saving_the_table_with_nothing_filled_in_changes_nothing(open_round, hospital):
    response = client_for(hospital).post(
        reverse("procurement:demand", args=[open_round.code]), {}, follow=True
    )
    assert response.status_code == 200
    assert "Saved: 0 new, 0 changed, 0 unchanged." in response.content.decode()
    assert not DemandChange.objects.exists()


def test_the_error_summary_links_each_error_to_its_field(open_round, hospital):
    client = client_for(hospital)
    url = reverse("procurement:demand", args=[open_round.code])
    fields = _fields(open_round, hospital)
    response = client.post(
        url,
        {
            fields[("D-ATV-OS", "10MG")]: "1,200",
            fields[("D-ATV-OS", "20MG")]: "-4",
            fields[("D-CLO-OS", "75MG")]: "lots",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    summary = re.search(
        r'<div class="error-summary" id="error-summary" role="alert" tabindex="-1">(.*?)</div>',
        html,
        re.S,
    )
    assert summary is not None, html[:3000]
    assert "2 lines need correcting; nothing was saved." in summary.group(1)
    links = re.findall(r'<li><a href="#([^"]+)">([^<]*)</a></li>', summary.group(1))
    assert links == [
        (
            f"id_{fields[('D-ATV-OS', '20MG')]}",
            "D-ATV-OS 20mg: “-4” is negative; it must be greater than zero.",
        ),
        (f"id_{fields[('D-CLO-OS', '75MG')]}", "D-CLO-OS 75mg: “lots” is not a number."),
    ]
    for field_id, _text in links:
        # The link points at a field that exists, which carries the same error beside it.
        assert f'id="{field_id}"' in html
        assert re.search(
            rf'id="{field_id}"[^>]*aria-invalid="true" aria-describedby="{field_id}-error"', html
        )
        assert f'<p class="field-error" id="{field_id}-error">' in html
    assert not DemandDeclaration.objects.exists()

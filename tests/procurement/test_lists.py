"""Growing procurement lists are paged on the server; their filters survive the page links."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from procurement.models import DemandChange
from procurement.services import DemandLine, demand_declare
from tests.procurement.conftest import client_for
from tests.procurement.factories import drug_item, hospital_user, make_round

pytestmark = pytest.mark.django_db


def _round_codes(html: str) -> list[str]:
    return re.findall(r'<td><a href="/rounds/([^/]+)/">', html)


def test_the_round_list_is_paged_newest_first_and_searchable(office):
    drug_item()
    for n in range(53):
        make_round(office=office, code=f"GY-{n:03d}")
    client = client_for(office)
    url = reverse("procurement:rounds")
    first = client.get(url).content.decode()
    assert _round_codes(first)[:2] == ["GY-052", "GY-051"]
    assert len(_round_codes(first)) == 50
    assert "Rows 1–50 of 53" in first
    last = client.get(url + "?page=2").content.decode()
    assert _round_codes(last) == ["GY-002", "GY-001", "GY-000"]
    # The search and the state filter cover every page and stay in the page links.
    found = client.get(url + "?q=GY-00&status=draft").content.decode()
    assert _round_codes(found) == [f"GY-00{n}" for n in range(9, -1, -1)]
    assert '<option value="draft" selected>' in found
    assert not _round_codes(client.get(url + "?status=demand_open").content.decode())
    every_draft = client.get(url + "?status=draft").content.decode()
    assert 'href="?status=draft&amp;page=2" rel="next"' in every_draft


def test_demand_history_is_paged_and_the_office_finds_a_hospitals_changes(open_round, office):
    hospitals = [hospital_user("11") for _ in range(3)]
    for n in range(20):
        for hospital in hospitals:
            demand_declare(
                hospital=hospital.organization,
                round_=open_round,
                lines=[DemandLine(item_code="D-ATV-OS", specification_code="10MG", quantity=n + 1)],
                channel="web",
                by=hospital,
            )
    assert DemandChange.objects.count() == 60
    client = client_for(office)
    url = reverse("procurement:demand-history", args=[open_round.code])
    first = client.get(url).content.decode()
    assert "Rows 1–50 of 60" in first
    assert first.count("<tr>") - 1 == 50  # the header row and 50 changes
    target = hospitals[1].organization
    found = client.get(url + f"?q={target.social_credit_code}").content.decode()
    assert "Rows 1–20 of 20" in found
    assert target.name_en in found
    assert hospitals[0].organization.name_en not in found
    # A hospital sees only its own changes, paged the same way.
    own = client_for(hospitals[0]).get(url).content.decode()
    assert "Rows 1–20 of 20" in own


def test_hospitals_that_have_not_declared_are_paged(open_round, office):
    for _ in range(55):
        hospital_user("31")
    client = client_for(office)
    url = reverse("procurement:demand-totals", args=[open_round.code])
    first = client.get(url).content.decode()
    assert "55 hospitals in scope have not declared" in first
    assert "Rows 1–50 of 55" in first
    assert "Rows 51–55 of 55" in client.get(url + "?page=2").content.decode()


def test_the_rule_set_list_is_paged(office):
    from procurement.services import rule_set_load_presets

    rule_set_load_presets()
    html = client_for(office).get(reverse("procurement:rule-sets")).content.decode()
    assert re.search(r"Rows 1–\d+ of \d+", html)


def test_the_office_finds_a_hospital_that_has_not_declared_on_any_page(open_round, office):
    hospitals = [hospital_user("31") for _ in range(55)]
    target = hospitals[-1].organization
    client = client_for(office)
    url = reverse("procurement:demand-totals", args=[open_round.code])
    found = client.get(url + f"?q={target.social_credit_code}").content.decode()
    assert "Rows 1–1 of 1" in found
    assert target.name_en in found
    assert "55 hospitals in scope have not declared" in found  # the count is the whole list
    assert (
        "No hospital that has not declared matches “nobody”."
        in client.get(url + "?q=nobody").content.decode()
    )

"""The award's admin: evaluation runs list and filter their kind (a hospitals' choice run
among them), and the hospitals' choices for lost volume are shown, never edited."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from awards.models import EvaluationRun, LostVolumeChoice
from tests.awards.test_reassignment import choose, finalize, published

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_en() -> Client:
    User.objects.create_superuser("platform-admin", "admin@example.org", "pw-admin-1")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="platform-admin", password="pw-admin-1")
    return client


@pytest.fixture
def chosen(django_capture_on_commit_callbacks):
    """A consumables round finalized after H1 chose B4 then B2: a choice run is official."""
    built = published(django_capture_on_commit_callbacks, code="T-2026-ADM")
    choose(built, "H1", "B4", "B2")
    finalize(django_capture_on_commit_callbacks, built)
    return built


def test_runs_list_and_filter_the_hospitals_choice_flag(admin_client_en, chosen) -> None:
    url = reverse("admin:awards_evaluationrun_changelist")
    page = admin_client_en.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "column-is_hospital_choice" in html
    assert "By hospitals&#x27; choices" in html  # the filter
    choice_run = EvaluationRun.objects.get(round=chosen.round, is_hospital_choice=True)
    filtered = admin_client_en.get(url, {"is_hospital_choice__exact": "1"})
    assert list(filtered.context["cl"].result_list) == [choice_run]
    others = admin_client_en.get(url, {"is_hospital_choice__exact": "0"})
    assert choice_run not in list(others.context["cl"].result_list)
    assert len(others.context["cl"].result_list) >= 1  # the proposed run


def test_the_choices_are_listed_with_their_winner_and_cannot_be_changed(
    admin_client_en, chosen
) -> None:
    url = reverse("admin:awards_lostvolumechoice_changelist")
    page = admin_client_en.get(url)
    assert page.status_code == 200
    rows = list(page.context["cl"].result_list)
    assert [(c.hospital, c.rank, c.opened_bid) for c in rows] == [
        (chosen.hospitals["H1"].organization, 1, chosen.bids["B4"]),
        (chosen.hospitals["H1"].organization, 2, chosen.bids["B2"]),
    ]
    html = page.content.decode()
    assert str(chosen.bids["B4"].manufacturer) in html  # the winner column
    assert "T-2026-ADM" in html
    choice = rows[0]
    change = reverse("admin:awards_lostvolumechoice_change", args=[choice.pk])
    assert admin_client_en.get(change).status_code == 200  # a view, no save button
    assert admin_client_en.post(change, {"rank": 5}).status_code == 403
    assert admin_client_en.get(reverse("admin:awards_lostvolumechoice_add")).status_code == 403
    delete = reverse("admin:awards_lostvolumechoice_delete", args=[choice.pk])
    assert admin_client_en.post(delete, {"post": "yes"}).status_code == 403
    assert LostVolumeChoice.objects.get(pk=choice.pk).rank == 1

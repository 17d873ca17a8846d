"""Counts agree with their nouns in English ("1 bidder, 1 winner", never "1 winners")."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from awards import services
from tests.awards.factories import opened_round
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _run_page(built, run_id: int) -> str:  # type: ignore[no-untyped-def]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=built.office.username, password=TEST_PASSWORD)
    return client.get(reverse("awards:run", args=[run_id])).content.decode()


def test_one_bidder_and_one_winner_are_singular(django_capture_on_commit_callbacks) -> None:
    built = opened_round(prices=("0.1000",), code="T-2026-ONE")
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    page = " ".join(_run_page(built, run.pk).split())
    assert "1 bidder, cap" in page and "1 winner." in page
    for wrong in ("1 bidders", "1 winners"):
        assert wrong not in page, page[page.index(wrong) - 300 : page.index(wrong) + 100]


def test_several_are_plural(django_capture_on_commit_callbacks) -> None:
    built = opened_round()  # five bidders, three winners
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    page = " ".join(_run_page(built, run.pk).split())
    assert "5 bidders, cap 4, 3 winners." in page

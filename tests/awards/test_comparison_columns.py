"""The comparison of runs counts winning companies and winning bids apart (a company that
wins several items is one company: DEMO-2026-D1's 12 winning bids came from 7 companies)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from awards import services
from awards.models import EvaluationRun
from tests.awards.factories import opened_round
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_winning_companies_and_winning_bids_are_two_columns(
    django_capture_on_commit_callbacks,
) -> None:
    built = opened_round()
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    run = EvaluationRun.objects.get(pk=run.pk)
    comparison = run.comparison
    assert comparison is not None
    # As a round of several items would store it: 12 winning bids, 7 companies with volume
    # (and one with none).
    comparison["winners"] = 12
    comparison["volume_by_supplier"] = {f"m{n}": 1000 * n for n in range(8)}
    EvaluationRun.objects.filter(pk=run.pk).update(comparison=comparison)

    ((_, row),) = services.evaluation_comparison(round_=built.round)
    assert (row["winning_companies"], row["winners"]) == (7, 12)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.login(username=built.office.username, password=TEST_PASSWORD)
    page = client.get(reverse("awards:round", args=[built.round.pk])).content.decode()
    table = page[page.index("测算比较") :]
    assert "中选企业数" in table and "中选产品数" in table
    assert '<td class="num">7</td><td class="num">12</td>' in table

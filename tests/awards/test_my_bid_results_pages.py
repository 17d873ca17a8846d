"""A manufacturer's bid results on its awards page, a page at a time (``?results_page=``),
beside the hospital allocations that page by ``?page=``."""

from __future__ import annotations

import functools

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from awards import services
from awards.models import BidResult
from awards.views import results as views
from common.pagination import paginate
from tests.awards.factories import opened_round
from tests.factories import TEST_PASSWORD


def _results(page: str) -> str:
    """The bid-results section of the page."""
    start = page.index('<caption class="visually-hidden">')
    return page[start : page.index("</section>", start)]


@pytest.mark.django_db
def test_bid_results_page_by_their_own_parameter(
    django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = opened_round()  # five bids: 0.1000, 0.1500, 0.1900, 0.3000, 0.6000
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    maker = built.makers[0]
    # All five results as one manufacturer's (as for a maker bidding several products).
    BidResult.objects.filter(run=run).update(manufacturer=maker.organization)
    # Two rows a page, so five rows make three pages.
    monkeypatch.setattr(views, "paginate", functools.partial(paginate, per_page=2))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=maker.username, password=TEST_PASSWORD)
    url = reverse("awards:mine")

    first = _results(client.get(url).content.decode())
    assert "Rows 1–2 of 5" in first
    assert "0.1000" in first and "0.6000" not in first
    assert 'href="?results_page=2" rel="next"' in first
    assert 'aria-label="Pages of my bid results"' in first

    last = _results(client.get(url, {"results_page": 3, "page": 4}).content.decode())
    assert "Rows 5–5 of 5" in last and "0.6000" in last and "0.1000" not in last
    # Links change this list's page and keep the other list's.
    assert 'href="?results_page=2&amp;page=4" rel="prev"' in last

    with translation.override("zh-hans"):
        chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert chinese.login(username=maker.username, password=TEST_PASSWORD)
        page = _results(chinese.get(url, {"results_page": 2}).content.decode())
    assert "第 2 页" in page

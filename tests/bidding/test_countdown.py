"""A countdown to the bid deadline on the bid sheet and the round page, from the server's
clock (issue 14): rendered by the server, kept running by static/js/countdown.js (a file,
not an inline script: the Content Security Policy allows none)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from procurement.models import Round
from procurement.templatetags.procurement_tags import countdown_parts
from tests.bidding.conftest import World
from tests.bidding.test_pages import client_for


def test_the_time_left_in_days_and_a_clock() -> None:
    assert countdown_parts(90_061) == (1, "01:01:01")
    assert countdown_parts(59) == (0, "00:00:59")
    assert countdown_parts(-5) == (0, "00:00:00")


def _countdown(html: str) -> dict[str, str]:
    box = re.search(r'<p class="countdown"(.*?)</p>', html, re.S)
    assert box is not None, "no countdown on the page"
    attributes = dict(re.findall(r'data-countdown-([a-z-]+)="([^"]*)"', box.group(1)))
    value = re.search(r'<strong class="countdown-value"[^>]*>(.*?)</strong>', box.group(1), re.S)
    assert value is not None
    return {**attributes, "value": value.group(1).strip()}


@pytest.mark.parametrize(
    ("language", "days", "closed"),
    [("en", "days", "Bidding has closed"), ("zh-hans", "天", "投标已截止")],
)
def test_the_sheet_and_the_round_page_count_down_from_the_server_time(
    world: World, language: str, days: str, closed: str
) -> None:
    deadline = timezone.now().replace(microsecond=0) + datetime.timedelta(
        days=2, hours=3, minutes=4, seconds=30
    )
    Round.objects.filter(pk=world.round.pk).update(
        bid_deadline=deadline, opening_at=deadline + datetime.timedelta(hours=1)
    )
    client = client_for(world.bidder)
    client.cookies["django_language"] = language
    world.bidder.language = language
    world.bidder.save(update_fields=["language"])
    for url in (
        reverse("bidding:sheet", args=[world.round.code]),
        reverse("procurement:round", args=[world.round.code]),
    ):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        countdown = _countdown(html)
        assert datetime.datetime.fromisoformat(countdown["deadline"]) == deadline
        server_now = datetime.datetime.fromisoformat(countdown["server-now"])
        assert abs(server_now - timezone.now()) < datetime.timedelta(seconds=30)
        assert countdown["days"] == days and countdown["closed"].startswith(closed)
        assert re.fullmatch(rf"2 {days} 03:0[34]:\d\d", countdown["value"]), countdown["value"]
        # The script is a file; the page carries no inline script (CSP).
        assert '<script src="/static/js/countdown.js" defer></script>' in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)

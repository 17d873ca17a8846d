"""The bid deadline countdown in Chromium: it counts from the server's clock, so a bidder
whose computer is five hours fast still sees the time really left, and it runs."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from procurement.models import Round
from tests.bidding.conftest import build_world
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

LEFT = re.compile(r"^(\d+) (days|天) (\d\d):(\d\d):(\d\d)$")


def _seconds(text: str) -> int:
    match = LEFT.match(text.strip())
    assert match is not None, text
    days, _, h, m, s = match.groups()
    return int(days) * 86_400 + int(h) * 3_600 + int(m) * 60 + int(s)


def test_a_fast_computer_clock_does_not_move_the_deadline(page: Page, live_server) -> None:
    world = build_world()
    deadline = timezone.now() + datetime.timedelta(hours=2)
    Round.objects.filter(pk=world.round.pk).update(
        bid_deadline=deadline, opening_at=deadline + datetime.timedelta(hours=1)
    )
    page.clock.install(time=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=5))
    page.goto(f"{live_server.url}/login/")
    page.locator("input[name=username]").fill(world.bidder.username)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header .who")).to_contain_text(world.bidder.username)
    for path in (f"/bidding/rounds/{world.round.code}/sheet/", f"/rounds/{world.round.code}/"):
        page.goto(f"{live_server.url}{path}")
        value = page.locator(".countdown-value")
        first = _seconds(value.inner_text())
        real_left = (deadline - timezone.now()).total_seconds()
        assert abs(first - real_left) < 60, (first, real_left)  # not 5 hours less (or gone)
        page.clock.run_for(5_000)
        assert 3 <= first - _seconds(value.inner_text()) <= 7  # it runs
    # At the deadline the countdown says bidding has closed.
    page.clock.run_for(int(real_left * 1000) + 2_000)
    expect(page.locator(".countdown-value")).to_have_text(
        re.compile("投标已截止|Bidding has closed")
    )

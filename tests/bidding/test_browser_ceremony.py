"""The opening ceremony in a real browser (Debian's Chromium through Playwright) against
Django's live server: a manufacturer's bid is sealed; at the opening time one official
presents in Chinese (a wrong passphrase first: refused, then the right one: the page says
one more is needed), a second official presents in English and the bids open; the public
record shows the price."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from accounts.models import User
from bidding.models import CeremonyEvent, OpeningOfficial
from bidding.services import bid_submit
from tests.bidding.conftest import build_world, past_opening
from tests.ceremony import PASSPHRASES

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser-ceremony"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed_in(browser: Browser, base: str, user: User, language: str) -> Page:
    context = browser.new_context(
        viewport={"width": 1200, "height": 900},
        locale="zh-CN" if language == "zh-hans" else "en-US",
        extra_http_headers={"Accept-Language": language},
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    user.set_password("ceremony-browser-pw")
    user.save()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "ceremony-browser-pw")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def test_two_officials_open_the_bids_at_the_ceremony(live_server, browser: Browser) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    world = build_world(code="CER-1")
    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=Decimal("1.9876"),
        annual_capacity=120000,
        by=world.bidder,
    )
    past_opening(world.round)
    officials = [
        o.user
        for o in OpeningOfficial.objects.filter(custody__round=world.round).order_by("share_index")
    ]
    url = f"{live_server.url}/bidding/rounds/CER-1/ceremony/"

    zh = _signed_in(browser, live_server.url, officials[0], "zh-hans")
    zh.goto(url)
    assert "开标仪式" in zh.locator("h1").inner_text()
    assert zh.locator("#officials tbody tr").count() == 3
    zh.fill("input[name=passphrase]", "not the passphrase")
    zh.click("button:has-text('出示我的份额')")
    zh.wait_for_load_state("networkidle")
    assert "此口令无法打开您的份额" in zh.content()
    assert CeremonyEvent.objects.filter(kind="refused", user=officials[0]).count() == 1
    zh.fill("input[name=passphrase]", PASSPHRASES[0])
    zh.click("button:has-text('出示我的份额')")
    zh.wait_for_load_state("networkidle")
    progress = zh.locator("#ceremony-progress").inner_text()
    assert "还需 1 名开标人出示份额" in progress
    zh.screenshot(path=str(ARTIFACTS / "ceremony-zh-waiting.png"), full_page=True)

    en = _signed_in(browser, live_server.url, officials[1], "en")
    en.goto(url)
    assert (
        "1 official has presented; 2 are needed." in en.locator("#ceremony-progress").inner_text()
    )
    en.fill("input[name=passphrase]", PASSPHRASES[1])
    en.click("button:has-text('Present my share')")
    en.wait_for_load_state("networkidle")
    assert en.url.endswith("/bidding/rounds/CER-1/opening/")
    assert "The bids are opened; the opening record is public." in en.content()
    assert "1.9876" in en.content()
    en.screenshot(path=str(ARTIFACTS / "ceremony-en-opened.png"), full_page=True)

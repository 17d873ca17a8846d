"""The bidding journey in a real browser (Debian's Chromium through Playwright) against
Django's live server, on the demo data: two manufacturers bid through the pages (one above
the ceiling, warned before sealing), each downloads its receipt; the office sees who bid
but no price and opens the bids from the round page; an anonymous visitor reads the
opening record, and each downloaded receipt verifies against the published hash."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from bidding import sealing
from bidding.demo import DEMO_OFFICIALS
from procurement.models import Round
from procurement.services import round_close_demand, round_open_bidding, round_open_demand
from tests.bidding.conftest import move_clock
from tests.ceremony import open_bids

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser-bidding"
CODE = "DEMO-2026-D1"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _page(browser: Browser) -> Page:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")


def _bid(page: Page, base: str, username: str, price: str, capacity: str) -> dict:
    _sign_in(page, base, username)
    page.click("nav >> text=Sealed bids")
    page.click("main >> text=Open the bid sheet")
    row = page.locator("tr", has=page.locator("td", has_text="20mg×7片")).first
    row.locator("input[name$='-unit_price']").fill(price)
    row.locator("input[name$='-annual_capacity']").fill(capacity)
    page.click("button[value=review]")
    page.wait_for_load_state("networkidle")
    assert "Confirm your bids" in page.content()
    confirmation = page.content()
    page.screenshot(path=str(ARTIFACTS / f"{username}-confirm.png"), full_page=True)
    page.click("button[value=confirm]")
    # The confirmation page's script (static/js/signing.js) looks for the user's keys
    # before it submits: the result page comes after that work, not with the click.
    page.wait_for_selector("a[download^='receipt-']")
    page.wait_for_load_state("networkidle")
    assert "1 bid sealed. Download its receipt now" in page.content()
    with page.expect_download() as download:
        page.click("a[download^='receipt-']")
    document = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert document["content"]["unit_price"] == price
    document["_confirmation"] = confirmation
    return document


def test_manufacturers_bid_office_opens_public_verifies(live_server, browser: Browser) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    call_command("seed_demo", verbosity=0)
    round_ = Round.objects.get(code=CODE)
    office = User.objects.get(username="office")
    round_open_demand(round_=round_, by=office)
    round_close_demand(round_=round_, by=office)
    round_open_bidding(round_=round_, by=office)
    base = live_server.url

    qian = _bid(_page(browser), base, "maker01", "1.8800", "3000000")
    lipitor = _bid(_page(browser), base, "maker08", "2.5000", "1500000")
    assert "judged invalid at the opening" in lipitor.pop("_confirmation")
    qian.pop("_confirmation")

    office_page = _page(browser)
    _sign_in(office_page, base, "office")
    office_page.goto(f"{base}/bidding/rounds/{CODE}/status/")
    status = office_page.content()
    assert "Qi&#x27;an Pharmaceutical" in status or "Qi'an Pharmaceutical" in status
    for price in ("1.8800", "2.5000", "3,000,000", "1,500,000"):
        assert price not in status

    move_clock(
        round_,
        deadline_in=-datetime.timedelta(minutes=5),
        opening_in=-datetime.timedelta(minutes=1),
    )
    office_page.goto(f"{base}/rounds/{CODE}/")
    office_page.click("#bidding-round-panel a:has-text('Opening ceremony')")
    office_page.wait_for_load_state("networkidle")
    assert "Opening officials" in office_page.content()
    demo_passphrases = tuple(passphrase for _user, passphrase in DEMO_OFFICIALS)
    # Two of the demo's officials present (bidding.demo.DEMO_OFFICIALS, README).
    open_bids(round_=Round.objects.get(code=CODE), by=None, passphrases=demo_passphrases)
    office_page.goto(f"{base}/bidding/rounds/{CODE}/ceremony/")
    assert "The bids of this round are opened" in office_page.content()

    public = _page(browser)
    public.goto(f"{base}/bidding/openings/")
    public.click(f"text={CODE}")
    public.wait_for_load_state("networkidle")
    public.screenshot(path=str(ARTIFACTS / "opening-record.png"), full_page=True)
    record = public.content()
    assert "1.8800" in record and "2.5000" in record
    assert "Above the maximum valid bid price" in record
    for document in (qian, lipitor):
        published = document["hash"]
        assert published in record
        assert sealing.receipt_verify(document, expected_hash=published)

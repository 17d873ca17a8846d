"""A manufacturer signs with a key its browser made, in English and in Chinese: it
generates a key on the Signing keys page (WebCrypto ECDSA P-256; only the public key is
sent, an encrypted backup is downloaded), seals a bid the browser signs on the
confirmation page, and after the office amends the ceiling re-confirms the bid with the
same key. The server verifies each signature; the opening shows it valid."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import SigningKey
from bidding.models import BidVersion, OpenedBid
from procurement.models import Round
from tender.services import AmendmentDraft, amendment_publish
from tests.bidding.conftest import build_world, past_opening
from tests.browser.conftest import Journey
from tests.browser.helpers import open_browser, set_language
from tests.ceremony import open_bids
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
PASSPHRASE = "correct horse battery staple"
TEXT = {
    "en": {"keys": "Signing keys", "sealed": "Bids sealed", "active": "Active"},
    "zh-hans": {"keys": "签名密钥", "sealed": "报价已密封", "active": "有效"},
}


def _seal_on_the_sheet(
    page: Page, ui: object, code: str, row: str, product: int, price: str
) -> None:
    ui.go(f"/bidding/rounds/{code}/sheet/")  # type: ignore[attr-defined]
    select = page.locator(f"select[name='{row}-product']")
    if select.count():
        select.select_option(str(product))
    page.locator(f"input[name='{row}-unit_price']").fill(price)
    page.locator(f"input[name='{row}-annual_capacity']").fill("50000")
    page.locator("button[name=step][value=review]").click()
    expect(page.locator("form[data-sign] input[data-sign-content]")).to_have_count(1)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_manufacturer_signs_and_reconfirms_its_bid_with_its_browser_key(
    live_server: object, page: Page, tmp_path: Path, language: str
) -> None:
    text = TEXT[language]
    world = build_world(code=f"SIGN-{language[:2].upper()}")
    Round.objects.filter(pk=world.round.pk).update(signatures_required=True)
    journey = Journey(f"signing-{language}", page, folder=tmp_path / "shots")
    ui = open_browser(page, live_server.url)  # type: ignore[attr-defined]

    ui.go("/login/")
    if page.locator("html").get_attribute("lang") != language:
        set_language(page, language)
    page.locator("input[name=username]").fill(world.bidder.username)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header .who")).to_contain_text(world.bidder.username)
    if page.locator("html").get_attribute("lang") != language:
        set_language(page, language)

    # 1. Generate a key in the browser; the encrypted backup is downloaded.
    page.get_by_role("link", name=text["keys"]).first.click()
    expect(page.locator("h1")).to_contain_text(text["keys"])
    form = page.locator("form[data-keygen]")
    form.locator("input[name=name]").fill("采购部笔记本 laptop")
    form.locator("[data-passphrase]").fill(PASSPHRASE)
    form.locator("[data-passphrase-again]").fill(PASSPHRASE)
    ui.step(journey, "generate a key")
    with page.expect_download() as download:
        form.locator("button[type=submit]").click()
    backup = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    expect(page.locator("main table")).to_contain_text(text["active"])
    ui.step(journey, "key registered")
    key = SigningKey.objects.get(user=world.bidder)
    assert key.kind == SigningKey.Kind.BROWSER
    assert backup["format"] == "jicai-signing-key-backup/1"
    assert backup["fingerprint"] == key.fingerprint
    assert backup["kdf"]["name"] == "PBKDF2" and backup["cipher"]["name"] == "AES-GCM"
    assert "wrapped_private_key" in backup and "d" not in backup  # no clear private key
    expect(page.locator(f"code[data-fingerprint='{key.fingerprint}']")).to_be_visible()

    # 2. Seal a bid: the browser signs the line on the confirmation page.
    row = f"{world.round_item.pk}-{world.spec20.pk}"
    _seal_on_the_sheet(page, ui, world.round.code, row, world.bidder_20.pk, "1.8000")
    ui.step(journey, "confirm and sign")
    page.locator("button[data-sign-button]").click()
    expect(page.locator("h1")).to_contain_text(text["sealed"])
    first = BidVersion.objects.get()
    assert first.signing_key == key and len(bytes(first.signature)) == 64  # WebCrypto r||s

    # 3. The office amends the ceiling; the manufacturer re-confirms with the same key.
    amendment_publish(
        round_=Round.objects.get(pk=world.round.pk),
        by=world.office,
        draft=AmendmentDraft(
            reason="最高有效申报价调整",
            reason_en="The ceiling of 20 mg is corrected.",
            ceilings={(world.round_item.pk, world.spec20.pk): Decimal("2.0000")},
        ),
    )
    _seal_on_the_sheet(page, ui, world.round.code, row, world.bidder_20.pk, "1.7500")
    page.locator("button[data-sign-button]").click()
    expect(page.locator("h1")).to_contain_text(text["sealed"])
    ui.step(journey, "re-confirmed and signed")
    second = BidVersion.objects.get(number=2)
    assert second.signing_key == key and second.signature

    # 4. At the opening the signature verifies.
    opening = open_bids(round_=past_opening(Round.objects.get(pk=world.round.pk)), by=world.office)
    opened = OpenedBid.objects.get(opening=opening)
    assert opened.version_id == second.pk
    assert (opened.signature, opened.signature_key) == ("valid", key.fingerprint)
    assert opened.validity == OpenedBid.Validity.VALID
    ui.assert_pages_checked()
    ui.assert_offline()


def test_a_round_without_the_requirement_seals_unsigned_when_the_browser_holds_no_key(
    live_server: object, page: Page
) -> None:
    """The demo users have registered (demo) keys their browsers do not hold: on a round
    that does not require signatures the confirmation still seals, unsigned."""
    from tests.signing.keys import browser_key

    world = build_world(code="SIGN-OFF")
    browser_key(world.bidder)  # registered, but not in this browser
    ui = open_browser(page, live_server.url)  # type: ignore[attr-defined]
    ui.go("/login/")
    page.locator("input[name=username]").fill(world.bidder.username)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header .who")).to_contain_text(world.bidder.username)
    row = f"{world.round_item.pk}-{world.spec20.pk}"
    _seal_on_the_sheet(page, ui, world.round.code, row, world.bidder_20.pk, "1.8000")
    page.locator("button[data-sign-button]").click()
    expect(page.locator("section.sealed-receipt")).to_have_count(1)  # the sealed page
    version = BidVersion.objects.get()
    assert version.signing_key is None and not version.signature

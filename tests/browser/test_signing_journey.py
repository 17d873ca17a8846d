"""A manufacturer signs with a key its browser made, in English and in Chinese: it
generates a key on the Signing keys page (WebCrypto ECDSA P-256; only the public key is
sent, an encrypted backup is downloaded) and seals a bid the browser signs on the
confirmation page. It then asks a question on the round's Q&A page; the office, in its own
browser, answers it and publishes an amendment of the bid's ceiling on its pages; the
manufacturer reads the answer (published without its name) and the notice, finds its bid
marked for re-confirmation on the bid sheet and re-confirms it with the same key. The
server verifies each signature; the opening shows it valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import SigningKey
from bidding.models import BidVersion, OpenedBid
from procurement.models import Round
from tender.models import Amendment, Clarification
from tests.bidding.conftest import build_world, past_opening
from tests.browser.conftest import Journey
from tests.browser.helpers import open_browser, set_language
from tests.ceremony import open_bids
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
PASSPHRASE = "correct horse battery staple"
QUESTION = "20mg规格的最高有效申报价是否含配送费？ Does the 20 mg ceiling include delivery?"
ANSWER = "含配送费；最高有效申报价将以补遗调整。 It does; the ceiling is amended today."
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


def _sign_in(page: Page, ui: object, username: str, language: str) -> None:
    ui.go("/login/")  # type: ignore[attr-defined]
    if page.locator("html").get_attribute("lang") != language:
        set_language(page, language)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header .who")).to_contain_text(username)
    if page.locator("html").get_attribute("lang") != language:
        set_language(page, language)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_manufacturer_signs_and_reconfirms_its_bid_with_its_browser_key(
    live_server: object, page: Page, tmp_path: Path, language: str
) -> None:
    text = TEXT[language]
    world = build_world(code=f"SIGN-{language[:2].upper()}")
    Round.objects.filter(pk=world.round.pk).update(signatures_required=True)
    journey = Journey(f"signing-{language}", page, folder=tmp_path / "shots")
    ui = open_browser(page, live_server.url)  # type: ignore[attr-defined]

    _sign_in(page, ui, world.bidder.username, language)

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

    # 3. The manufacturer asks a question, from the round page's link to the Q&A page.
    code = world.round.code
    ui.go(f"/rounds/{code}/")
    page.locator(f"main a[href='/tender/{code}/questions/']").first.click()
    expect(page).to_have_url(live_server.url + f"/tender/{code}/questions/")  # type: ignore[attr-defined]
    ask = page.locator("main form")
    ask.locator("select[name=round_item]").select_option(str(world.round_item.pk))
    ask.locator("textarea[name=question]").fill(QUESTION)
    ui.step(journey, "ask a question")
    ask.locator("button[type=submit]").click()
    expect(page.locator(".message.success")).to_be_visible()
    expect(page.locator("main table")).to_contain_text(QUESTION)
    ui.step(journey, "question sent")

    # 4. The office, in its own browser, answers it and amends the 20 mg ceiling.
    browser = page.context.browser
    assert browser is not None
    office_context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    try:
        office_page = office_context.new_page()
        office_page.set_default_timeout(15_000)
        office = open_browser(office_page, live_server.url)  # type: ignore[attr-defined]
        office_journey = Journey(
            f"signing-office-{language}", office_page, folder=tmp_path / "office"
        )
        _sign_in(office_page, office, world.office.username, language)
        office.go(f"/tender/{code}/")
        office_page.locator(f"main a[href='/tender/{code}/questions/']").first.click()
        asker = world.bidder.organization
        assert asker is not None
        asker_name = asker.name_en if language == "en" else asker.name
        expect(office_page.locator("main table")).to_contain_text(asker_name)  # office only
        office_page.locator(f"main a[href^='/tender/{code}/questions/'][href$='/answer/']").click()
        office_page.locator("textarea[name=answer]").fill(ANSWER)
        office.step(office_journey, "answer the question")
        office_page.locator("main form button[type=submit]").click()
        expect(office_page.locator(".message.success")).to_be_visible()
        expect(office_page.locator("main table")).to_contain_text(ANSWER)
        office.step(office_journey, "answer published")
        assert Clarification.objects.get().number == 1

        office.go(f"/tender/{code}/")
        office_page.locator(f"main a[href='/tender/{code}/amend/']").click()
        office_page.locator("textarea[name=reason]").fill("20mg 最高有效申报价调整")
        office_page.locator("textarea[name=reason_en]").fill("The ceiling of 20 mg is corrected.")
        ceiling = office_page.locator(f"input[name='ceil-{world.round_item.pk}-{world.spec20.pk}']")
        expect(ceiling).to_have_value("2.1200")
        ceiling.fill("2.0000")
        office_page.locator("button[name=action][value=preview]").click()
        expect(office_page.locator("#preview")).to_contain_text("2.0000")
        office.step(office_journey, "preview the amendment")
        office_page.locator("button[name=action][value=publish]").click()
        expect(office_page).to_have_url(live_server.url + f"/tender/{code}/notices/1/")  # type: ignore[attr-defined]
        expect(office_page.locator("main")).to_contain_text("2.0000")
        office.step(office_journey, "amendment published")
        assert office.dialogs  # the publication asked for confirmation
        office.assert_pages_checked()
        office.assert_offline()
    finally:
        office_context.close()
    amendment = Amendment.objects.get()
    assert amendment.number == 1

    # 5. The manufacturer reads the answer, without its name, and the amendment notice.
    ui.go(f"/tender/{code}/")
    published = page.locator("#clarification-1")
    expect(published).to_contain_text(QUESTION)
    expect(published).to_contain_text(ANSWER)
    public_answers = page.locator("#clarifications").inner_text()
    for mark in (asker.name, asker.name_en, asker.social_credit_code, world.bidder.username):
        assert mark not in public_answers, mark
    expect(page.locator("#notices")).to_contain_text("2.0000")
    ui.step(journey, "answer and amendment published")

    # 6. Its bid is marked for re-confirmation; it re-confirms it, same terms, same key.
    ui.go(f"/bidding/rounds/{code}/sheet/")
    expect(page.locator("#reconfirm")).to_be_visible()
    expect(page.locator(f"#row-{row} [data-reconfirm]")).to_be_visible()
    ui.step(journey, "bid to re-confirm")
    _seal_on_the_sheet(page, ui, code, row, world.bidder_20.pk, "1.8000")
    ui.step(journey, "re-confirm and sign")
    page.locator("button[data-sign-button]").click()
    expect(page.locator("h1")).to_contain_text(text["sealed"])
    ui.step(journey, "re-confirmed and signed")
    second = BidVersion.objects.get(number=2)
    assert second.signing_key == key and second.signature
    ui.go(f"/bidding/rounds/{code}/my-bids/")
    expect(page.locator("main table tbody tr")).to_have_count(1)
    expect(page.locator("[data-reconfirm]")).to_have_count(0)

    # 7. At the opening the signature verifies.
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

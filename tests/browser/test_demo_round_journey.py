"""The done-when journey of issue 14, in Chinese: the demo round DEMO-2026-D1 walked from
draft to a recorded month of purchases by its three roles, each following only what the
round page's "What happens next" card (下一步) and its notices (通知) tell it.

The office (``office``) runs every step from the round page's next-step card; the
hospital pharmacist (``hospital01``, Beijing) declares demand from its notice, confirms
its contract from its notice and records a month of purchases; the manufacturer
(``maker03``, Shiquan, whose only atorvastatin is the 40 mg strength) seals its bids from
its notice, chooses Beijing when the notice says it is its turn and confirms its contract.
Everyone else (the other hospitals and makers, the two opening officials at the
ceremony) acts through the services, as they would through their own pages.

It shows: finalizing refused inside the objection period, with its end time, and accepted
after it (the period's end moved back, no real waiting); a contract line on the 40 mg
specification at 0.30 yuan per tablet; the award-result PDF downloaded and read back
(``pdftotext -layout``) with every annex price and receipt hash intact. Screenshots:
``docs/screenshots/journey-d1-zh/``."""

from __future__ import annotations

import datetime
import hashlib
import re
import subprocess
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import Browser as PlaywrightBrowser
from playwright.sync_api import Locator, Page, expect

from accounts.models import Organization, User
from awards.models import ProvinceSelection
from awards.services import draft_board, selection_pick
from bidding.demo import BIDS, open_with_demo_officials
from bidding.models import OpenedBid
from catalog.models import Product
from common.money import format_unit_price
from contracts.models import Contract, ContractLineSpecification, Purchase
from procurement.demo import DEMO_REGIONS
from procurement.models import Round
from procurement.services import DemandLine, demand_declare
from tests.browser.conftest import SCREENSHOTS, Journey
from tests.browser.helpers import (
    SLOW_MS,
    Browser,
    button,
    link,
    open_browser,
    organization,
    set_language,
    sign_in,
    submit_bid,
)
from tests.factories import move_contract_term

pytestmark = pytest.mark.django_db(transaction=True)
CODE = "DEMO-2026-D1"
ZH = "zh-hans"
HOSPITAL = "hospital01"  # Beijing First People's Hospital
MAKER = "maker03"  # Shiquan: atorvastatin 40 mg (国药准字H20193003), ambroxol 4 ml:30 mg
BEIJING = "11"
# Every other demo hospital's yearly demand, per item (specification code, quantity).
OTHER_DEMAND = {
    "D-ATV-OS": ("20MG", 150_000),
    "D-CLO-OS": ("75MG", 100_000),
    "D-AMB-INJ": ("2ML15MG", 30_000),
    "D-AML-OS": ("5MG", 120_000),
    "D-DLX-OS": ("20MG", 20_000),
    "D-VRC-INJ": ("200MG", 2_000),
}


FITS_ITS_CARD_JS = """
() => {
  const card = document.querySelector("table.contract-lines").closest(".card");
  return card.scrollWidth <= card.clientWidth + 1;
}
"""


def zh(message: str, **params: object) -> str:
    """The Chinese text of a message id, as the pages show it."""
    with translation.override(ZH):
        text = gettext(message)
    return text % params if params else text


def status(value: str) -> str:
    with translation.override(ZH):
        return str(Round.Status(value).label)


class Steps(Journey):
    """One numbered series of screenshots for the three roles' pages."""

    def __init__(self) -> None:
        self.uis: list[Browser] = []
        super().__init__("journey-d1-zh", page=None, folder=SCREENSHOTS / "journey-d1-zh")  # type: ignore[arg-type]

    def shot(self, ui: Browser, label: str) -> None:
        self.page = ui.page
        ui.step(self, label)


def role_page(browser: PlaywrightBrowser, base: str, username: str) -> Browser:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    ui = open_browser(page, base)
    sign_in(ui, username, language=ZH)
    return ui


def follow_notice(ui: Browser, subject: str) -> None:
    """Open the notifications page and follow the notice with this subject."""
    ui.go("/awards/notifications/")
    ui.page.get_by_role("link", name=subject).first.click()


def next_step(page: Page) -> Locator:
    return page.locator("#next-step")


def other_hospitals_declare(round_: Round) -> None:
    round_.refresh_from_db()
    for hospital in Organization.objects.filter(
        kind=Organization.Kind.HOSPITAL, region__code__in=DEMO_REGIONS, users__isnull=False
    ).exclude(users__username=HOSPITAL)[:12]:
        demand_declare(
            hospital=hospital,
            round_=round_,
            lines=[
                DemandLine(item_code=code, specification_code=spec, quantity=quantity)
                for code, (spec, quantity) in OTHER_DEMAND.items()
            ],
            channel="web",
            by=hospital.users.order_by("pk").first(),  # type: ignore[arg-type]
        )


def other_makers_bid(round_: Round) -> None:
    """The demo's other sealed bids (bidding/demo.py), signatures off in tests."""
    round_.refresh_from_db()
    for username, approval, price in BIDS:
        if username != MAKER:
            submit_bid(round_, username, approval, price, 50_000_000)


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_demo_round_d1_in_chinese_from_draft_to_a_month_of_purchases(
    live_server: object, page: Page, browser: PlaywrightBrowser, tmp_path: Path
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url  # type: ignore[attr-defined]
    steps = Steps()
    round_ = Round.objects.get(code=CODE)
    assert round_.status == Round.Status.DRAFT

    # 1. The office: the round page says what comes next and offers it.
    office = open_browser(page, base)
    sign_in(office, "office", language=ZH)
    steps.uis.append(office)
    office.go(f"/rounds/{CODE}/")
    expect(page.locator(".badge").first).to_have_text(status("draft"))
    expect(next_step(page)).to_contain_text(zh("Open demand declaration"))
    steps.shot(office, "office draft next step")
    button(next_step(page), zh("Open demand declaration")).click()
    expect(page.locator(".badge").first).to_have_text(status("demand_open"))
    steps.shot(office, "office demand open")

    # 2. The pharmacist: the notice asks for its demand and leads to the table.
    pharmacist = role_page(browser, base, HOSPITAL)
    steps.uis.append(pharmacist)
    hpage = pharmacist.page
    pharmacist.go("/awards/notifications/")
    subject = zh("Declare your demand for round %(code)s", code=CODE)
    expect(hpage.get_by_role("link", name=subject)).to_be_visible()
    steps.shot(pharmacist, "hospital notice demand open")
    follow_notice(pharmacist, subject)
    rows = hpage.locator("tbody tr")
    for code, spec, quantity in (
        ("D-ATV-OS", "40mg", "60000"),
        ("D-ATV-OS", "20mg", "120000"),
        ("D-CLO-OS", "75mg", "90000"),
        ("D-AMB-INJ", "4ml", "20000"),
        ("D-AML-OS", "5mg", "100000"),
    ):
        rows.filter(has_text=code).filter(has_text=spec).locator("input[type=text]").fill(quantity)
    steps.shot(pharmacist, "hospital declares demand")
    button(hpage, zh("Save all")).click()
    expect(rows.filter(has_text="D-ATV-OS").filter(has_text="40mg")).to_contain_text("60")
    steps.shot(pharmacist, "hospital demand saved")
    other_hospitals_declare(round_)

    # 3. The office closes demand (early: the page names who has not declared and asks
    # again), then opens bidding.
    office.go(f"/rounds/{CODE}/")
    button(next_step(page), zh("Close demand declaration")).click()
    steps.shot(office, "office close demand early warning")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator(".badge").first).to_have_text(status("demand_closed"))
    expect(next_step(page)).to_contain_text(zh("Open bidding"))
    steps.shot(office, "office demand closed next open bidding")
    button(next_step(page), zh("Open bidding")).click()
    expect(page.locator(".badge").first).to_have_text(status("bidding_open"))
    steps.shot(office, "office bidding open")

    # 4. The manufacturer: the notice leads to the round; the bid sheet shows the volume
    # bid for; it seals atorvastatin 40 mg at 0.30 and ambroxol 4 ml at 1.90.
    maker = role_page(browser, base, MAKER)
    steps.uis.append(maker)
    mpage = maker.page
    subject = zh("Bidding of round %(code)s is open", code=CODE)
    maker.go("/awards/notifications/")
    expect(mpage.get_by_role("link", name=subject)).to_be_visible()
    steps.shot(maker, "manufacturer notice bidding open")
    follow_notice(maker, subject)
    expect(mpage.locator("h1")).to_contain_text(CODE)
    steps.shot(maker, "manufacturer round page")
    link(next_step(mpage), zh("Open the bid sheet")).click()
    for spec, price in (("40mg", "0.3000"), ("4ml", "1.9000")):
        row = (
            mpage.locator("tr[id^=row-]")
            .filter(has_text=spec)
            .filter(has=mpage.locator("input[name$=unit_price]"))
        )
        product = row.locator("select[name$=product]")
        if product.count():
            product.select_option(index=1)
        row.locator("input[name$=unit_price]").fill(price)
        row.locator("input[name$=annual_capacity]").fill("50000000")
    steps.shot(maker, "manufacturer bid sheet filled in")
    button(mpage, zh("Review what will be sealed")).click()
    steps.shot(maker, "manufacturer review")
    button(mpage, zh("Seal and submit")).click(timeout=SLOW_MS)
    receipts = mpage.locator("section.sealed-receipt")
    expect(receipts).to_have_count(2)
    steps.shot(maker, "manufacturer bids sealed")
    other_makers_bid(round_)

    # 5. The deadline and the opening time pass (the timetable moved back, no real
    # waiting); the office closes bidding and opens the bids at the ceremony (two of the
    # demo officials present their passphrases there).
    now = timezone.now()
    Round.objects.filter(pk=round_.pk).update(
        demand_opens_at=now - datetime.timedelta(days=30),
        demand_closes_at=now - datetime.timedelta(days=25),
        bid_deadline=now - datetime.timedelta(minutes=2),
        opening_at=now - datetime.timedelta(minutes=1),
        objection_ends_at=now + datetime.timedelta(days=7),
    )
    office.go(f"/rounds/{CODE}/")
    steps.shot(office, "office after the deadline")
    if page.locator("#next-step").get_by_role("button", name=zh("Close bidding")).count():
        button(next_step(page), zh("Close bidding")).click()
    expect(page.locator(".badge").first).to_have_text(status("bidding_closed"))
    steps.shot(office, "office next open the bids")
    button(next_step(page), zh("Open bids")).click()
    expect(page.locator("h1")).to_contain_text(zh("Opening ceremony"))
    steps.shot(office, "office opening ceremony")
    round_.refresh_from_db()
    open_with_demo_officials(round_)

    # 6. Evaluate, publish the proposed winners, try to finalize in the period.
    office.go(f"/rounds/{CODE}/")
    expect(page.locator(".badge").first).to_have_text(status("bids_opened"))
    steps.shot(office, "office next evaluate")
    button(next_step(page), zh("Run the evaluation")).click(timeout=SLOW_MS)
    office.go(f"/rounds/{CODE}/")
    expect(page.locator(".badge").first).to_have_text(status("evaluated"), timeout=SLOW_MS)
    steps.shot(office, "office next publish")
    button(next_step(page), zh("Publish the proposed winners for objections")).click()
    office.go(f"/rounds/{CODE}/")
    expect(page.locator(".badge").first).to_have_text(status("objection"))
    round_.refresh_from_db()
    ends = timezone.localtime(round_.objection_ends_at).strftime("%Y-%m-%d %H:%M")
    assert round_.objection_ends_at > timezone.now()
    expect(next_step(page)).to_contain_text(ends)
    steps.shot(office, "office objection period what remains")
    link(next_step(page), zh("Open the award page")).click()
    button(page, zh("Finalize the award")).click(timeout=SLOW_MS)
    expect(page.locator("main")).to_contain_text(ends)
    round_.refresh_from_db()
    assert round_.status == Round.Status.OBJECTION
    steps.shot(office, "office finalize refused inside the period")

    # The period ends (moved back: no real waiting); the round page offers finalizing.
    Round.objects.filter(pk=round_.pk).update(
        objection_ends_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    office.go(f"/rounds/{CODE}/")
    steps.shot(office, "office next finalize")
    button(next_step(page), zh("Finalize the award")).click(timeout=SLOW_MS)
    expect(page.locator(".badge").first).to_have_text(status("awarded"), timeout=SLOW_MS)
    round_.refresh_from_db()
    assert round_.status == Round.Status.AWARDED
    steps.shot(office, "office awarded next province selection")

    # 7. The award-result PDF, downloaded and read back: every annex price and receipt
    # hash of the opening record intact.
    office.go(f"/rounds/{CODE}/")
    link(page, zh("Open the analysis and publication page")).click()
    documents = page.locator("#award-documents")
    expect(documents.locator("code.sha256")).to_have_count(2, timeout=SLOW_MS)
    steps.shot(office, "office award result published")
    row = documents.locator("tbody tr", has_text="简体中文")
    shown = row.locator("code.sha256").inner_text().strip()
    href = row.get_by_role("link").get_attribute("href")
    assert href is not None
    response = page.request.get(office.url(href))
    assert response.ok
    pdf = tmp_path / "award-result-zh.pdf"
    pdf.write_bytes(response.body())
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == shown
    text = pdf_text(pdf)
    annex = text[text.index("附件：开标记录") :]
    tokens = set(annex.split())
    bids = OpenedBid.objects.filter(round_item__round=round_)
    assert bids.count() == len(BIDS)
    for bid in bids:
        assert format_unit_price(bid.unit_price) in tokens, bid.unit_price
        assert format_unit_price(bid.unit_comparable_price) in tokens, bid.unit_comparable_price
        parts = [bid.receipt_hash[i : i + 16] for i in range(0, 64, 16)]
        assert all(p in tokens for p in parts), bid.receipt_hash
    ours = bids.get(manufacturer__users__username=MAKER, round_item__item__code="D-ATV-OS")
    assert ours.unit_price == D("0.3000") and "0.3000" in tokens

    # 8. Province selection: the round page sends the office to the award page, where it
    # opens it; the manufacturer is told when it is its turn and chooses Beijing.
    office.go(f"/rounds/{CODE}/")
    link(next_step(page), zh("Open the award page")).click()
    # The closing time is proposed (two days on, to the hour): the office accepts it.
    expect(page.locator("#id_closes_at")).to_have_value(re.compile(r"^\d{4}-\d\d-\d\dT\d\d:00$"))
    button(page, zh("Open province selection")).click()
    expect(button(page, zh("Close the selection now"))).to_be_visible()
    steps.shot(office, "office province selection open")
    selection = ProvinceSelection.objects.get(round=round_)
    atorvastatin = round_.items.get(item__code="D-ATV-OS")
    board = draft_board(selection=selection, round_item_id=atorvastatin.pk)
    maker_org = organization(MAKER)
    # The winners before Shiquan in the draft order choose elsewhere (their own pages).
    while board.current is not None and board.current.manufacturer_id != maker_org.pk:
        selection_pick(
            selection=selection,
            round_item_id=atorvastatin.pk,
            by=User.objects.filter(organization_id=board.current.manufacturer_id).get(),
            region=next(r for r in board.free if r.code != BEIJING),
        )
        board = draft_board(selection=selection, round_item_id=atorvastatin.pk)
    assert board.current is not None, "Shiquan won atorvastatin with its 40 mg bid"
    subject = zh(
        "Your turn to choose a province for %(item)s (round %(code)s)",
        item=atorvastatin.item.name,
        code=CODE,
    )
    maker.go("/awards/notifications/")
    expect(mpage.get_by_role("link", name=subject)).to_be_visible()
    steps.shot(maker, "manufacturer notice your turn")
    follow_notice(maker, subject)
    cards = mpage.locator("section.card", has=mpage.get_by_role("heading", name="D-ATV-OS"))
    cards.locator("select[name=region]").select_option(BEIJING)
    steps.shot(maker, "manufacturer chooses beijing")
    button(cards, zh("Choose")).click()
    expect(cards.locator("tbody tr", has_text="北京").first).to_be_visible()

    # 9. The office closes the selection from the draft boards (the picks left open are
    # assigned by the platform), then, as the round page says, draws up the contracts.
    office.go(f"/awards/rounds/{round_.pk}/")
    link(page, zh("Open the draft boards")).click()
    steps.shot(office, "office draft boards")
    button(page, zh("Close the selection now")).click(timeout=SLOW_MS)
    office.go(f"/rounds/{CODE}/")
    steps.shot(office, "office next draw up the contracts")
    link(next_step(page), zh("Open the award page")).click()
    button(page, zh("Draw up the contracts")).click(timeout=SLOW_MS)
    expect(link(page, zh("All contracts"))).to_be_visible(timeout=SLOW_MS)
    steps.shot(office, "office contracts drawn up")

    # The 40 mg line: Shiquan's contract with the Beijing hospital, at 0.30 per tablet.
    contract = Contract.objects.get(
        round=round_, manufacturer=maker_org, hospital__users__username=HOSPITAL
    )
    spec_line = ContractLineSpecification.objects.get(
        line__contract=contract, specification__code="40MG", is_bid=True
    )
    assert spec_line.unit_price == D("0.3")

    # 10. The pharmacist follows its notice to its contracts and confirms Shiquan's; the
    # manufacturer is then told to confirm it too.
    follow_notice(pharmacist, zh("Contracts of round %(code)s to confirm", code=CODE))
    steps.shot(pharmacist, "hospital contracts to confirm")
    link(hpage, contract.number).click()
    bought = hpage.locator("tr", has_text="40mg").filter(has_text="0.30")
    expect(bought.first).to_be_visible()
    steps.shot(pharmacist, "hospital contract 40mg at 0.30")
    button(hpage, zh("Confirm the contract")).click()
    expect(hpage.locator("h1")).to_contain_text(
        zh("Awaiting the manufacturer's confirmation"), timeout=SLOW_MS
    )
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_MANUFACTURER
    steps.shot(pharmacist, "hospital contract confirmed")
    follow_notice(maker, zh("Contract %(number)s to confirm", number=contract.number))
    steps.shot(maker, "manufacturer contract to confirm")
    button(mpage, zh("Confirm the contract")).click()
    expect(mpage.locator("h1")).to_contain_text(zh("Confirmed by both parties"), timeout=SLOW_MS)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.CONFIRMED
    steps.shot(maker, "manufacturer contract confirmed")

    # Every other contract confirmed by its parties (their own pages).
    from tests.browser.helpers import confirm_contracts

    confirm_contracts(round_)

    # 11. The office starts execution; the term is moved to have begun 90 days ago (no
    # real waiting) so that a past month can be recorded.
    office.go(f"/awards/rounds/{round_.pk}/")
    button(page, zh("Start execution")).click(timeout=SLOW_MS)
    expect(button(page, zh("Start execution"))).to_have_count(0, timeout=SLOW_MS)
    round_.refresh_from_db()
    assert round_.status == Round.Status.IN_EXECUTION
    move_contract_term(round_, timezone.localdate() - datetime.timedelta(days=90))
    office.go(f"/rounds/{CODE}/")
    steps.shot(office, "office in execution")

    # 12. The pharmacist records a month of the 40 mg tablets.
    pharmacist.go("/awards/purchases/")
    month = timezone.localdate().replace(day=1) - datetime.timedelta(days=40)
    option = hpage.locator("#id_line option", has_text=contract.number).filter(has_text="D-ATV-OS")
    hpage.locator("#id_line").select_option(option.first.get_attribute("value"))
    hpage.locator("#id_month").fill(f"{month:%Y-%m}")
    hpage.locator("#id_quantity").fill("5000")
    steps.shot(pharmacist, "hospital records a month")
    button(hpage, zh("Record")).click()
    recorded = hpage.locator(
        "section", has=hpage.get_by_role("heading", name=zh("Recorded purchases"))
    )
    expect(recorded).to_contain_text(f"{month:%Y-%m}")
    assert Purchase.objects.get(contract=contract).quantity == 5000
    steps.shot(pharmacist, "hospital purchases recorded")

    # 13. The contract's lines fit their card at 1280 px, in Chinese and in English (long
    # English headers wrap instead of making the table scroll sideways).
    for language in (ZH, "en"):
        if language != ZH:
            set_language(hpage, language)
        pharmacist.go(f"/awards/contracts/{contract.pk}/")
        assert hpage.evaluate(FITS_ITS_CARD_JS), language
        steps.shot(pharmacist, f"hospital contract lines fit {language}")

    for ui in (pharmacist, maker):
        ui.page.context.close()
    for ui in steps.uis:
        ui.assert_offline()
        ui.assert_pages_checked()
    assert Product.objects.filter(approval_number="国药准字H20193003").exists()

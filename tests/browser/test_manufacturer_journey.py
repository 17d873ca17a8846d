"""Journey 3, a manufacturer's tender team, in a real browser: register a product, seal
bids through the bid sheet (review, then confirm), download the receipt, find the same
receipt hash on the public opening record, read the result and the reason for the item it
lost, choose a province and confirm a contract. English first, then the key pages in
Chinese."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from playwright.sync_api import Page, expect

from accounts.models import User
from awards.models import BidResult, ProvinceAllocation, ProvinceSelection
from awards.reasons import bid_result_reason
from awards.services import draft_board, selection_pick
from bidding.models import OpenedBid
from catalog.models import Product, Specification
from catalog.services import product_register
from contracts.models import Contract
from procurement.services import round_close_demand, round_open_bidding, round_open_demand
from tests.browser.conftest import Journey
from tests.browser.helpers import (
    OTHER_DEMAND,
    SLOW_MS,
    button,
    close_selection_and_draw_up_contracts,
    confirm_contracts,
    declare_demand,
    heading,
    journey_round,
    link,
    move_past_opening,
    open_bids_and_award,
    open_browser,
    open_province_selection,
    organization,
    set_language,
    sign_in,
    submit_rival_bids,
    user,
)
from tests.ceremony import open_bids as round_open_bids

pytestmark = pytest.mark.django_db(transaction=True)
CODE = "J-2026-MAKER"
MAKER = "maker01"
APPROVAL = "国药准字H20193099"


def test_manufacturer_bids_sealed_verifies_its_receipt_and_confirms_a_contract(
    live_server: object, page: Page, journey: Journey, tmp_path: Path
) -> None:
    call_command("seed_demo", verbosity=0)
    office = user("office")
    round_ = journey_round(CODE)
    round_open_demand(round_=round_, by=office)
    declare_demand(round_, OTHER_DEMAND)
    round_close_demand(round_=round_, by=office)
    round_open_bidding(round_=round_, by=office)
    maker = user(MAKER)
    # Its amlodipine product was registered long ago; clopidogrel is registered below.
    amlodipine = Specification.objects.get(item__code="D-AML-OS", code="5MG")
    product_register(
        manufacturer=organization(MAKER),
        specification=amlodipine,
        name="苯磺酸氨氯地平片（齐安）",
        name_en="Amlodipine (Qi'an)",
        approval_number="国药准字H20193098",
        is_consistency_evaluated=True,
    )
    submit_rival_bids(round_)
    ui = open_browser(page, live_server.url)  # type: ignore[attr-defined]

    # 1. Sign in.
    sign_in(ui, MAKER)
    expect(page.locator("h1")).to_contain_text("Manufacturer")
    ui.step(journey, "manufacturer home")

    # 2. Register a product.
    ui.go("/catalog/products/register/")
    clopidogrel = Specification.objects.get(item__code="D-CLO-OS", code="75MG")
    page.locator("#id_specification").select_option(str(clopidogrel.pk))
    page.locator("#id_name").fill("硫酸氢氯吡格雷片（齐安）")
    page.locator("#id_name_en").fill("Clopidogrel (Qi'an)")
    page.locator("#id_approval_number").fill(APPROVAL)
    page.locator("#id_is_consistency_evaluated").check()
    ui.step(journey, "register a product")
    button(page, "Register").click()
    expect(page.locator("main")).to_contain_text(APPROVAL)
    product = Product.objects.get(approval_number=APPROVAL)
    assert product.manufacturer == maker.organization and product.is_consistency_evaluated
    ui.step(journey, "product registered")

    # 3. The bid sheet: two lines, reviewed, then sealed.
    ui.go(f"/rounds/{CODE}/")
    link(page, "Open the bid sheet").click()
    expect(page.locator("h1")).to_contain_text("Bid sheet")
    for code, price, capacity in (
        ("D-CLO-OS", "0.5500", "6000000"),
        ("D-AML-OS", "0.4000", "900000"),
    ):
        section = page.locator("section.card", has=page.get_by_role("heading", name=code))
        product_select = section.locator("select[name$=product]")
        if product_select.count():
            product_select.select_option(index=1)
        section.locator("input[name$=unit_price]").fill(price)
        section.locator("input[name$=annual_capacity]").fill(capacity)
    ui.step(journey, "bid sheet filled in")
    button(page, "Review what will be sealed").click()
    expect(page.locator("h1")).to_contain_text("Confirm your bids")
    review = page.locator("table.data-table")
    expect(review).to_contain_text("0.5500")
    expect(review).to_contain_text("6,000,000")
    expect(review).to_contain_text("0.4000")
    ui.step(journey, "review what will be sealed")
    button(page, "Seal and submit").click(timeout=SLOW_MS)
    expect(page.locator("h1")).to_contain_text("Bids sealed")
    receipts = page.locator("section.sealed-receipt")
    expect(receipts).to_have_count(2)
    expect(receipts.filter(has_text="D-CLO-OS")).to_contain_text("0.5500")
    ui.step(journey, "bids sealed with receipts")

    # 4. Download the clopidogrel receipt now (the only time the platform can show it with
    # its price); its hash is the one on the page.
    row = receipts.filter(has_text="D-CLO-OS")
    shown = row.locator("code.receipt-hash").inner_text().strip()
    with page.expect_download() as download_info:
        link(row, "Download the receipt (JSON)").click()
    document = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert document["hash"] == shown
    assert document["content"]["unit_price"] == "0.5500"
    assert len(shown) == 64

    # 5. The deadline and opening time pass; the office opens the bids.
    move_past_opening(round_)
    round_open_bids(round_=round_, by=office)
    ui.go(f"/bidding/rounds/{CODE}/opening/")
    expect(page.locator(".receipt-list")).to_contain_text(shown)
    mine = OpenedBid.objects.get(round_item__item__code="D-CLO-OS", manufacturer=maker.organization)
    assert mine.receipt_hash == shown and mine.unit_price == D("0.5500")
    ui.step(journey, "receipt on the opening record")

    # 6. Evaluated, published, final: the result and the reason for the lost item.
    open_bids_and_award(round_)
    ui.go("/awards/mine/")
    results = page.locator("section", has=heading(page, "My bid results"))
    lost = BidResult.objects.get(
        run__round=round_,
        run__is_official=True,
        manufacturer=maker.organization,
        round_item__item__code="D-AML-OS",
    )
    assert lost.outcome == "lost"
    with translation.override("en"):  # the page is in English; the reason is rendered from codes
        reason = bid_result_reason(lost)
    assert reason and reason != lost.reason
    expect(results.locator("tr", has_text="D-AML-OS")).to_contain_text(reason)
    expect(results.locator("tr", has_text="D-CLO-OS")).to_contain_text("Won")
    ui.step(journey, "results and reasons")

    # 7. Province selection: the lowest winner picks first.
    open_province_selection(round_)
    ui.go("/awards/mine/")
    link(page, f"{CODE} 旅程测试药品集采").or_(link(page, f"{CODE} Journey drug round")).click()
    expect(page.locator("h1")).to_contain_text("Province selection")
    board = page.locator("section.card", has=page.get_by_role("heading", name="D-CLO-OS"))
    board.locator("select[name=region]").select_option("11")
    ui.step(journey, "choose a province")
    button(board, "Choose").click()
    board = page.locator("section.card", has=page.get_by_role("heading", name="D-CLO-OS"))
    expect(board.locator("tbody tr").first).to_contain_text("Beijing")
    ui.step(journey, "province chosen")
    # The next pick is made elsewhere (a rival, or a colleague): the open page shows it by
    # itself, without a reload, and says so in its polite live region.
    selection = ProvinceSelection.objects.get(round=round_)
    item_id = round_.items.get(item__code="D-CLO-OS").pk
    draft = draft_board(selection=selection, round_item_id=item_id)
    assert draft.current is not None
    elsewhere = draft.free[0]
    version = page.locator("#selection-poll").get_attribute("hx-get")
    selection_pick(
        selection=selection,
        round_item_id=item_id,
        by=User.objects.filter(organization_id=draft.current.manufacturer_id).first(),
        region=elsewhere,
    )
    expect(page.locator("#selection-news")).to_contain_text(
        f"chose {elsewhere.name_en}.", timeout=SLOW_MS
    )
    expect(board.locator("tbody tr").nth(1)).to_contain_text(elsewhere.name_en)
    # The page now asks with the version it shows (the same pick is not announced again).
    expect(page.locator("#selection-poll")).not_to_have_attribute("hx-get", version or "")
    ui.step(journey, "another pick appears by itself")
    close_selection_and_draw_up_contracts(round_)
    assert (
        ProvinceAllocation.objects.get(
            run__round=round_,
            run__is_official=True,
            region__code="11",
            round_item__item__code="D-CLO-OS",
        ).manufacturer
        == maker.organization
    )

    # 8. Confirm a contract once the hospital has confirmed.
    confirm_contracts(round_, skip_maker=MAKER)
    contract = (
        Contract.objects.filter(round=round_, manufacturer=maker.organization)
        .order_by("pk")
        .first()
    )
    assert contract is not None and contract.status == Contract.Status.AWAITING_MANUFACTURER
    ui.go("/awards/contracts/")
    link(page, contract.number).click()
    expect(page.locator("main")).to_contain_text(
        contract.hospital.name_en or contract.hospital.name
    )
    ui.step(journey, "contract awaiting the manufacturer")
    button(page, "Confirm the contract").click()
    expect(page.locator("h1")).to_contain_text("Confirmed by both parties")
    assert any("cannot be withdrawn" in message for message in ui.dialogs), ui.dialogs
    ui.step(journey, "contract confirmed")

    # 9. The key pages in Chinese.
    set_language(page, "zh-hans")
    expect(page.locator("main")).to_contain_text(contract.hospital.name)
    ui.step(journey, "contract in Chinese")
    ui.go("/awards/mine/")
    expect(page.locator("main")).to_contain_text("D-AML-OS")
    expect(page.locator("h1")).not_to_have_text("My awards and allocations")
    ui.step(journey, "results in Chinese")
    ui.go(f"/bidding/rounds/{CODE}/opening/")
    expect(page.locator(".receipt-list")).to_contain_text(shown)
    ui.step(journey, "opening record in Chinese")
    ui.assert_offline()
    ui.assert_pages_checked()

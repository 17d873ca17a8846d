"""Journey 2, a hospital pharmacist, in a real browser: declare annual demand in the web
table and by spreadsheet (a bad row first: the error names its row; fixed, previewed,
committed), then after the award see the allocations, confirm a contract, record a month
of purchases and see the progress against the agreed volume. English first, then the
key pages in Chinese."""

from __future__ import annotations

import datetime
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from awards.models import HospitalAllocation
from contracts.models import Contract, Purchase
from procurement.models import DemandDeclaration
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
    open_bids_and_award,
    open_browser,
    open_province_selection,
    set_language,
    sign_in,
    start_execution_three_months_ago,
    submit_rival_bids,
    user,
)

pytestmark = pytest.mark.django_db(transaction=True)
CODE = "J-2026-HOSP"
HOSPITAL = "hospital01"


def _demand_csv(folder: Path, amlodipine: str) -> Path:
    path = folder / f"demand-{amlodipine}.csv"
    path.write_text(
        "品种编码,规格编码,年度需求量\nD-CLO-OS,75MG,52000\n" + f"D-AML-OS,5MG,{amlodipine}\n",
        encoding="utf-8",
    )
    return path


def _declared(item_code: str) -> int:
    return DemandDeclaration.objects.get(
        round_item__round__code=CODE,
        hospital__users__username=HOSPITAL,
        round_item__item__code=item_code,
    ).quantity


def test_hospital_declares_demand_then_confirms_its_contract_and_records_purchases(
    live_server: object, page: Page, journey: Journey, tmp_path: Path
) -> None:
    call_command("seed_demo", verbosity=0)
    round_ = journey_round(CODE)
    round_open_demand(round_=round_, by=user("office"))
    ui = open_browser(page, live_server.url)  # type: ignore[attr-defined]

    # 1. Sign in; the round open for demand is on the hospital's home page.
    sign_in(ui, HOSPITAL)
    expect(page.locator("h1")).to_contain_text("Hospital")
    ui.step(journey, "hospital home")

    # 2. Declare in the web table, from the home page's list of open rounds, by keyboard:
    # a wrong entry first (the error is in the summary, which takes the focus, and next to
    # the field), then the right one, each submitted with Enter.
    row = page.locator("tr", has_text=CODE)
    expect(row).to_contain_text("not declared yet")
    link(row, "Declare demand").click()
    expect(page.locator("h1")).to_contain_text("Annual demand")
    quantity = page.locator("tbody tr", has_text="D-CLO-OS").locator("input[type=text]")
    quantity.focus()
    page.keyboard.type("48 thousand")
    page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("1 line needs correcting; nothing was saved.")
    expect(summary).to_be_focused()
    expect(quantity).to_have_attribute("aria-invalid", "true")
    field_error = page.locator("tbody tr", has_text="D-CLO-OS").locator(".field-error")
    expect(field_error).to_have_text("“48 thousand” is not a number.")
    ui.step(journey, "web table error next to the field and in the summary")
    quantity.fill("")
    quantity.focus()
    page.keyboard.type("48,000")
    ui.step(journey, "web table filled in")
    page.keyboard.press("Enter")
    expect(page.locator("tbody tr", has_text="D-CLO-OS")).to_contain_text("48,000")
    expect(page.locator(".error-summary")).to_have_count(0)
    assert _declared("D-CLO-OS") == 48_000
    ui.step(journey, "web table saved")

    # 3. Upload a spreadsheet with a bad row: the error names the row; nothing is written.
    link(page, "Upload a spreadsheet instead").click()
    page.locator("#id_file").set_input_files(str(_demand_csv(tmp_path, "-300")))
    button(page, "Preview").click()
    errors = page.locator("#preview .error-summary")
    expect(errors).to_be_visible()
    bad = errors.locator("tbody tr")
    expect(bad).to_have_count(1)
    expect(bad.locator("td").first).to_have_text("3")
    expect(bad).to_contain_text("“-300” is negative; it must be greater than zero.")
    expect(errors).to_contain_text("Nothing was written")
    assert _declared("D-CLO-OS") == 48_000
    ui.step(journey, "spreadsheet refused with the row of the error")

    # 4. Fix the row, preview, commit.
    page.locator("#id_file").set_input_files(str(_demand_csv(tmp_path, "80000")))
    button(page, "Preview").click()
    expect(heading(page, "Preview")).to_be_visible()
    ui.step(journey, "fixed spreadsheet preview")
    button(page, "Import all rows").click()
    expect(page.locator("tbody tr", has_text="D-CLO-OS")).to_contain_text("52,000")
    expect(page.locator("tbody tr", has_text="D-AML-OS")).to_contain_text("80,000")
    assert (_declared("D-CLO-OS"), _declared("D-AML-OS")) == (52_000, 80_000)
    ui.step(journey, "spreadsheet committed")

    # The rest of the round happens elsewhere: other hospitals declare, the office closes
    # demand, manufacturers bid, the bids are opened and the award is final; provinces are
    # assigned and the contracts drawn up.
    declare_demand(round_, OTHER_DEMAND)
    round_close_demand(round_=round_, by=user("office"))
    round_open_bidding(round_=round_, by=user("office"))
    submit_rival_bids(round_)
    open_bids_and_award(round_)
    open_province_selection(round_)
    close_selection_and_draw_up_contracts(round_)
    confirm_contracts(round_, skip_hospital=HOSPITAL)

    # 5. The hospital's allocations after the award.
    ui.go("/awards/mine/")
    allocations = page.locator("section", has=heading(page, "Hospital allocations"))
    mine = HospitalAllocation.objects.filter(
        run__round=round_, hospital__users__username=HOSPITAL, quantity__gt=0
    ).select_related("round_item__item")
    codes = {a.round_item.item.code for a in mine}
    assert codes == {"D-CLO-OS", "D-AML-OS"}
    for allocation in mine:
        expect(allocations).to_contain_text(f"{allocation.quantity:,}")
    ui.step(journey, "allocations")

    # 6. Confirm each contract (irreversible: the confirmation says so).
    contracts = Contract.objects.filter(round=round_, hospital__users__username=HOSPITAL)
    assert contracts.count() >= 1
    for contract in contracts:
        ui.go("/awards/contracts/")
        link(page, contract.number).click()
        expect(page.locator("h1")).to_contain_text(contract.number)
        if contract == contracts.first():
            ui.step(journey, "contract awaiting confirmation")
        button(page, "Confirm the contract").click()
        expect(page.locator("h1")).to_contain_text("Awaiting the manufacturer")
    assert any("cannot be withdrawn" in message for message in ui.dialogs), ui.dialogs
    ui.step(journey, "contract confirmed")

    # The contract's PDF: rendered by a task once the page asked for it; the page shows
    # the download links by itself when it is ready (no reload).
    expect(link(page, "PDF (English)")).to_be_visible(timeout=SLOW_MS)
    with page.expect_download(timeout=SLOW_MS) as download_info:
        link(page, "PDF (English)").click()
    pdf = Path(download_info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert contract.number in text
    ui.step(journey, "contract PDF ready")
    confirm_contracts(round_)
    start_execution_three_months_ago(round_)

    # 7. Record a month of purchases against a contract line.
    ui.go("/awards/purchases/")
    month = timezone.localdate().replace(day=1) - datetime.timedelta(days=40)
    first = contracts.order_by("pk").first()
    assert first is not None
    line = first.lines.select_related("round_item__item").first()
    assert line is not None
    page.locator("#id_line").select_option(f"{first.number}|{line.round_item.item.code}")
    page.locator("#id_month").fill(f"{month:%Y-%m}")
    page.locator("#id_quantity").fill("4000")
    ui.step(journey, "record a month of purchases")
    button(page, "Record").click()
    recorded = page.locator("section", has=heading(page, "Recorded purchases"))
    expect(recorded).to_contain_text(f"{month:%Y-%m}")
    expect(recorded).to_contain_text("4,000")
    assert Purchase.objects.get(contract=first).quantity == 4000
    ui.step(journey, "purchases recorded")

    # 8. Progress against the agreed volume.
    link(page, "See your progress against the agreed volume").click()
    expect(page.locator("h1")).to_contain_text("Execution progress")
    expect(page.locator("main")).to_contain_text("4,000")
    ui.step(journey, "progress")

    # 9. The key pages in Chinese.
    set_language(page, "zh-hans")
    expect(page.locator("main")).to_contain_text("4,000")
    expect(page.locator("h1")).not_to_have_text("Execution progress")
    ui.step(journey, "progress in Chinese")
    ui.go(f"/rounds/{CODE}/demand/")
    # humanize's intcomma follows Django's zh_Hans format (no thousands separator): reported.
    expect(page.locator("tbody tr", has_text="D-CLO-OS")).to_contain_text(re.compile("52,?000"))
    ui.step(journey, "demand table in Chinese")
    ui.go(f"/awards/contracts/{first.pk}/")
    expect(page.locator("main")).to_contain_text(first.hospital.name)
    ui.step(journey, "contract in Chinese")
    ui.assert_offline()
    ui.assert_pages_checked()

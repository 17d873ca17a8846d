"""Journey 1, the procurement office, in a real browser: create a round from catalog items,
import its ceilings from a spreadsheet, open demand and bidding, open the bids, evaluate
and compare two scenarios, answer an objection, finalize, publish the award-result PDF
and check the downloaded bytes against the SHA-256 shown on the page. In English first,
then the key pages again in Chinese."""

from __future__ import annotations

import datetime
import hashlib
import io
import re
from decimal import Decimal as D
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Region
from awards.models import EvaluationRun
from awards.services import objection_file
from catalog.models import ProcurementItem
from procurement.models import Round, RuleSet
from procurement.selectors import hospitals_in_scope, hospitals_not_declared
from tests.browser.conftest import Journey
from tests.browser.helpers import (
    DEMO_REGIONS,
    OTHER_DEMAND,
    SLOW_MS,
    button,
    declare_demand,
    heading,
    link,
    move_past_opening,
    open_browser,
    set_language,
    sign_in,
    submit_rival_bids,
    user,
)
from tests.ceremony import open_bids

pytestmark = pytest.mark.django_db(transaction=True)
CODE = "J-2026-OFFICE"


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _ceilings_xlsx(folder: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["item code", "specification code", "maximum valid bid price", "reference price"])
    sheet.append(["D-CLO-OS", "75MG", "3.1800", "15.4700"])
    sheet.append(["D-AML-OS", "5MG", "0.6500", "4.6000"])
    buffer = io.BytesIO()
    book.save(buffer)
    path = folder / "ceilings.xlsx"
    path.write_bytes(buffer.getvalue())
    return path


def test_office_runs_a_round_from_creation_to_the_published_award_pdf(
    live_server: object, page: Page, journey: Journey, tmp_path: Path
) -> None:
    call_command("seed_demo", verbosity=0)
    ui = open_browser(page, live_server.url)  # type: ignore[attr-defined]

    # 1. Sign in.
    sign_in(ui, "office")
    expect(page.locator("h1")).to_contain_text("Procurement office")
    ui.step(journey, "office home")

    # 2. Create a round from catalog items.
    ui.go("/rounds/new/")
    # Keyboard: the first Tab reaches the skip link, Enter moves the focus to the content.
    page.keyboard.press("Tab")
    expect(link(page, "Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    now = timezone.now()
    page.locator("#id_code").fill(CODE)
    page.locator("#id_name").fill("旅程测试药品集采")
    page.locator("#id_name_en").fill("Journey drug round")
    page.locator("#id_kind").select_option("drugs")
    batch4 = RuleSet.objects.get(name="national-drug-batch-4", version=1)
    page.locator("#id_rule_set").select_option(str(batch4.pk))
    for item in ProcurementItem.objects.filter(code__in=["D-CLO-OS", "D-AML-OS"]):
        page.locator(f"input[name=items][value='{item.pk}']").check()
    for region in Region.objects.filter(code__in=DEMO_REGIONS):
        page.locator(f"input[name=regions][value='{region.pk}']").check()
    page.locator("#id_demand_opens_at").fill(_local(now - datetime.timedelta(hours=1)))
    page.locator("#id_demand_closes_at").fill(_local(now + datetime.timedelta(days=7)))
    # The rule set keeps 20 days from publication (bidding opens) to the deadline.
    page.locator("#id_bid_deadline").fill(_local(now + datetime.timedelta(days=28)))
    page.locator("#id_opening_at").fill(_local(now + datetime.timedelta(days=28, hours=1)))
    page.locator("#id_objection_ends_at").fill(_local(now + datetime.timedelta(days=35)))
    page.locator("#id_contract_starts_on").fill(
        (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    )
    ui.step(journey, "create a round")
    button(page, "Create the round").click()
    expect(page.locator("h1")).to_contain_text(CODE)
    round_ = Round.objects.get(code=CODE)
    assert sorted(round_.items.values_list("item__code", flat=True)) == ["D-AML-OS", "D-CLO-OS"]
    expect(page.locator("main")).to_contain_text("not set")
    ui.step(journey, "round created without ceilings")

    # 3. Import the ceilings from a spreadsheet: preview, then commit.
    link(page, "Import ceilings from a spreadsheet").first.click()
    page.locator("#id_file").set_input_files(str(_ceilings_xlsx(tmp_path)))
    button(page, "Preview").click()
    expect(heading(page, "Preview")).to_be_visible()
    ui.step(journey, "ceiling import preview")
    button(page, "Import all rows").click()
    expect(page.locator("h1")).to_contain_text(CODE)
    prices = page.locator("table.data-table").first
    expect(prices).to_contain_text("3.1800")
    expect(prices).to_contain_text("0.6500")
    expect(page.locator("main")).not_to_contain_text("not set")
    ui.step(journey, "ceilings imported")

    # 4. Open demand; hospitals declare (through their own pages, here the services).
    button(page, "Open demand declaration").click()
    expect(page.locator(".badge").first).to_have_text("Demand declaration open")
    declare_demand(round_, OTHER_DEMAND)
    page.reload()
    ui.step(journey, "demand open")

    # 5. Close demand and open bidding. Before its closing time, with hospitals still to
    # declare: the page names them and asks again.
    button(page, "Close demand declaration").click()
    expect(heading(page, "Close demand declaration early?")).to_be_visible()
    undeclared = hospitals_not_declared(round_=round_)
    in_scope = hospitals_in_scope(round_=round_).count()
    expect(page.locator("main")).to_contain_text(
        f"{undeclared.count()} of {in_scope} hospitals in scope have not declared"
    )
    first = undeclared.first()
    assert first is not None
    expect(page.locator("main")).to_contain_text(first.name_en)  # the page is in English
    page.get_by_role("button", name=re.compile(r"^\s*Close demand now, without ")).click()
    expect(button(page, "Open bidding")).to_be_visible()
    button(page, "Open bidding").click()
    expect(page.locator(".badge").first).to_have_text("Bidding open")
    submit_rival_bids(round_)
    page.reload()
    expect(page.locator("#bidding-round-panel")).to_contain_text("Huarui")
    expect(page.locator("#bidding-round-panel")).not_to_contain_text("0.6000")  # sealed
    ui.step(journey, "bidding open sealed bids")

    # 6. The deadline and the opening time pass; two of the round's three opening
    # officials present their passphrases at the ceremony (tests/ceremony.py), and the
    # office reads the public record.
    move_past_opening(round_)
    page.reload()
    link(page, "Opening ceremony").click()
    expect(page.locator("h1")).to_contain_text("Opening ceremony")
    expect(page.locator("#officials tbody tr")).to_have_count(3)
    open_bids(round_=round_, by=None)
    ui.go(f"/bidding/rounds/{CODE}/opening/")
    expect(page.locator("main")).to_contain_text("0.6000")
    ui.step(journey, "opening record")

    # 7. Run the evaluation, then a scenario under batch 7's antimicrobial volume shares
    # (40% of the pooled demand for two winners instead of 60%), and compare them.
    ui.go(f"/awards/rounds/{round_.pk}/")
    button(page, "Run the evaluation").click(timeout=SLOW_MS)
    expect(page.locator("h1")).to_contain_text("Evaluation run")
    official = EvaluationRun.objects.get(round=round_, is_official=True)
    assert official.status == EvaluationRun.Status.DONE
    expect(page.locator("main")).to_contain_text("Official")
    ui.step(journey, "official evaluation")
    ui.go(f"/awards/rounds/{round_.pk}/")
    batch7 = RuleSet.objects.get(name="national-drug-batch-7-antimicrobial", version=1)
    page.locator("#id_rule_set").select_option(str(batch7.pk))
    button(page, "Run the scenario").click(timeout=SLOW_MS)
    expect(page.locator("h1")).to_contain_text("Evaluation run")
    expect(page.locator("main")).to_contain_text("Scenario")
    ui.go(f"/awards/rounds/{round_.pk}/")
    comparison = page.locator("section", has=heading(page, "Comparison of runs"))
    expect(comparison.locator("tbody tr")).to_have_count(2)
    # Each rule set by its title, its stable name beside it.
    expect(comparison).to_contain_text("National drug procurement, batch 4")
    expect(comparison).to_contain_text("national-drug-batch-4")
    expect(comparison).to_contain_text("National drug procurement, batch 7 (antimicrobials)")
    expect(comparison).to_contain_text("national-drug-batch-7-antimicrobial")
    official.refresh_from_db()
    scenario = EvaluationRun.objects.get(round=round_, is_scenario=True)
    # Same winners and prices, 40% instead of 60% of the pooled demand: two thirds the cost.
    assert (official.total_cost, scenario.total_cost) == (D("167808.00"), D("111872.00"))
    expect(comparison).to_contain_text("167,808.00")
    expect(comparison).to_contain_text("111,872.00")
    ui.step(journey, "two scenarios compared")

    # 8. Publish the proposed winners; a manufacturer objects; the office answers.
    button(page, "Publish the proposed winners for objections").click()
    expect(page.locator(".badge").first).to_have_text("Objection period")
    clopidogrel = round_.items.get(item__code="D-CLO-OS")
    objection_file(
        round_=round_,
        round_item_id=clopidogrel.pk,
        by=user("maker07"),
        text="信和制药认为最低报价企业的产能不足以保障供应。",
    )
    page.reload()
    link(page, "Answer").click()
    expect(page.locator("main")).to_contain_text("信和制药认为")
    page.get_by_role("radio", name="Dismiss the objection").check()
    page.locator("#id_answer").fill("The declared capacity covers the agreed volume.")
    ui.step(journey, "answer an objection")
    button(page, "Send the answer").click(timeout=SLOW_MS)
    expect(page.locator("main")).to_contain_text("Dismissed")
    ui.step(journey, "objection dismissed")

    # 9. Finalize: refused inside the objection period (3 days from publication), with
    # its end; once it has passed (moved back here, no real waiting), accepted
    # (irreversible: the confirmation says so).
    button(page, "Finalize the award").click(timeout=SLOW_MS)
    round_.refresh_from_db()
    ends = timezone.localtime(round_.objection_ends_at).strftime("%Y-%m-%d %H:%M")
    expect(page.locator("main")).to_contain_text(ends)
    expect(page.locator(".badge").first).to_have_text("Objection period")
    Round.objects.filter(pk=round_.pk).update(
        objection_ends_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    page.reload()
    button(page, "Finalize the award").click(timeout=SLOW_MS)
    expect(page.locator(".badge").first).to_contain_text("Awarded")
    assert any("cannot be undone" in m for m in ui.dialogs if "Finalize" in m), ui.dialogs
    ui.step(journey, "award finalized")

    # 10. Finalizing published the award-result PDF (generated in the background, here
    # in-process); regenerating it gives the same bytes. Download it: its SHA-256 is the
    # one shown.
    ui.go(f"/rounds/{CODE}/")
    link(page, "Open the analysis and publication page").click()
    documents = page.locator("section", has=page.locator("code.sha256"))
    expect(documents.locator("code.sha256")).to_have_count(2)
    published = documents.locator("code.sha256").all_inner_texts()
    button(page, "Regenerate the award-result PDF").click(timeout=SLOW_MS)
    expect(documents.locator("code.sha256")).to_have_count(2)
    assert documents.locator("code.sha256").all_inner_texts() == published
    # Each chart is one image to a screen reader, named by its title.
    expect(page.get_by_role("img", name="Price before and after, per item")).to_be_visible()
    ui.step(journey, "award result published")
    row = documents.locator("tbody tr", has_text="English")
    shown = row.locator("code.sha256").inner_text().strip()
    href = row.get_by_role("link").get_attribute("href")
    assert href is not None
    response = page.request.get(ui.url(href))
    assert response.ok
    body = response.body()
    assert body.startswith(b"%PDF")
    assert hashlib.sha256(body).hexdigest() == shown

    # 11. The same pages in Chinese: data from the database, numbers unchanged.
    set_language(page, "zh-hans")
    expect(documents.locator("code.sha256")).to_have_count(2)
    expect(page.locator("main")).to_contain_text(shown)
    expect(page.locator("h1")).not_to_contain_text("Price-cut analysis")
    expect(page.get_by_role("img", name="各省预计节约金额")).to_be_visible()
    ui.step(journey, "analysis in Chinese")
    ui.go(f"/awards/rounds/{round_.pk}/")
    expect(page.locator("h1")).to_contain_text("旅程测试药品集采")
    runs = page.locator("section", has=heading(page, "全部测算"))
    expect(runs).to_contain_text("第四批国家组织药品集中采购")
    ui.step(journey, "award page in Chinese")
    ui.go(f"/bidding/rounds/{CODE}/opening/")
    expect(page.locator("main")).to_contain_text("0.6000")
    ui.step(journey, "opening record in Chinese")
    ui.assert_offline()
    ui.assert_pages_checked()

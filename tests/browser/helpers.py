"""Shared steps of the browser journeys: signing in, the language switch, accessible
locators that accept the English or the Chinese name, the offline guard, and services that
build the state a journey needs (other hospitals' demand, rivals' bids, the clock).

A journey does its own user's steps in the browser; everything another party does happens
through the services, exactly as it would through their own pages or the API."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.utils import timezone
from playwright.sync_api import Dialog, Locator, Page, Request, expect

from accounts.demo import DEMO_PASSWORD
from accounts.models import Organization, Region, User
from awards.models import ProvinceSelection
from bidding.services import BidReceipt, bid_submit
from catalog.models import ProcurementItem, Product
from procurement.models import Round, RuleSet
from procurement.services import (
    DemandLine,
    demand_declare,
    round_close_demand,
    round_create,
    round_item_set_prices,
    round_open_bidding,
    round_open_demand,
    rule_set_load_presets,
)
from tests.browser.conftest import Journey
from tests.factories import move_contract_term

D = Decimal
DEMO_REGIONS = ["11", "31", "37", "42", "44", "51"]
# Clopidogrel 75 mg and amlodipine 5 mg: one specification each, published ceilings.
CEILINGS = {"D-CLO-OS": ("75MG", D("3.1800")), "D-AML-OS": ("5MG", D("0.6500"))}
REFERENCE = {"D-CLO-OS": D("15.4700"), "D-AML-OS": D("4.6000")}


# Requests that do heavy work in-process in these tests (tasks run eagerly): the opening,
# the evaluation, PDF rendering. On a shared 2-core machine they can take far longer than a
# page load; give them room rather than flake.
SLOW_MS = 120_000


def names(*texts: str) -> re.Pattern[str]:
    """An exact accessible name in any of the languages given (English, Chinese)."""
    return re.compile("^\\s*(" + "|".join(re.escape(t) for t in texts) + ")\\s*$")


def button(page: Page | Locator, *texts: str) -> Locator:
    return page.get_by_role("button", name=names(*texts))


def link(page: Page | Locator, *texts: str) -> Locator:
    return page.get_by_role("link", name=names(*texts))


def heading(page: Page | Locator, text: str) -> Locator:
    return page.get_by_role("heading", name=re.compile(re.escape(text)))


UNLABELLED_FIELDS_JS = """
() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter((el) => !["hidden", "submit", "button"].includes(el.type) && el.offsetParent !== null)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
    && !el.getAttribute("aria-labelledby") && !el.title)
  .map((el) => el.outerHTML.slice(0, 160))
"""


# Table cells holding a number (quantities, money, prices, percentages) that are not
# right-aligned, so that digits line up in columns. A cell that is a link (a run's id) is
# an identifier, not a figure.
MISALIGNED_NUMBERS_JS = """
() => Array.from(document.querySelectorAll("td, th[scope=row]"))
  .filter((cell) => !cell.querySelector("a"))
  .filter((cell) => /^[-+]?[0-9][0-9,]*(\\.[0-9]+)?%?$/.test(cell.innerText.trim()))
  .filter((cell) => !["right", "end"].includes(getComputedStyle(cell).textAlign))
  .map((cell) => {
    const table = cell.closest("table");
    const heading = table && table.tHead ? table.tHead.rows[0].cells[cell.cellIndex] : null;
    return (heading ? heading.innerText.trim() : "?") + " = " + cell.innerText.trim();
  })
"""


# Content wider than the window: the page scrolls sideways, so a reader misses columns
# without knowing they exist. Wide tables must scroll inside their card instead.
OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width + 1) return [];
  const sticksOut = (el) => el.getBoundingClientRect().right > width + 1;
  return Array.from(document.querySelectorAll("main *"))
    .filter((el) => sticksOut(el) && !(el.parentElement && sticksOut(el.parentElement)))
    .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""))
    .slice(0, 5);
}
"""


# Tables whose long figure headers wrap so that they fit their card at 1280 px (the
# contract lines, the comparison of runs, the price-cut tables): one that still scrolls
# inside its card hides its last columns ("Estimated savings") behind a scroll bar.
CLIPPED_TABLES_JS = """
() => Array.from(document.querySelectorAll("table.wrap-heads, table.contract-lines"))
  .filter((table) => {
    let box = table.parentElement;
    while (box && box !== document.body && box.scrollWidth <= box.clientWidth + 1) {
      box = box.parentElement;
    }
    return box && box !== document.body;
  })
  .map((table) => "table." + table.className.split(" ").join(".") + " scrolls inside its card: "
    + (table.querySelector("caption, thead th:last-child") || table).innerText.trim())
"""


# aria-describedby / aria-labelledby naming an id that is not on the page: the field's
# error or help text is then never read out with it.
DANGLING_ARIA_JS = """
() => Array.from(document.querySelectorAll("[aria-describedby], [aria-labelledby]"))
  .flatMap((el) => ["aria-describedby", "aria-labelledby"]
    .flatMap((attr) => (el.getAttribute(attr) || "").split(/\\s+/).filter(Boolean))
    .filter((id) => !document.getElementById(id))
    .map((id) => (el.id || el.getAttribute("name") || el.tagName.toLowerCase()) + " -> #" + id))
"""


# axe-core, Deque's accessibility engine, vendored for the tests only (see vendor/README.md):
# injected into the page by Playwright, never served by the app.
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

# The WCAG 2.1 A and AA rules, every one of them: no rule is switched off. A violation whose
# impact is serious or critical fails the journey (a moderate or minor one is advice).
# Only violations are computed (no passes or incomplete lists), which keeps a page's run
# to a fraction of a second.
AXE_RUN_JS = """
async () => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    resultTypes: ["violations"],
  });
  return results.violations.flatMap((rule) => rule.nodes
    .filter((node) => ["serious", "critical"].includes(node.impact))
    .map((node) => ({
      rule: rule.id,
      impact: node.impact,
      target: node.target.map(String).join(" "),
      summary: (node.failureSummary || "").split("\\n").slice(1, 2).join("").trim(),
    })));
}
"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now:
    ``{"rule", "impact", "target", "summary"}`` for each element found."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not added as a <script>: the pages'
        # Content-Security-Policy (script-src 'self') rightly refuses an inline script.
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN_JS)
    return violations


@dataclass
class Browser:
    """A signed-in page plus what the guards saw: dialogs accepted and foreign requests."""

    page: Page
    base: str
    dialogs: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    unlabelled: list[str] = field(default_factory=list)
    misaligned: list[str] = field(default_factory=list)
    overflowing: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    inaccessible: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def go(self, path: str) -> None:
        self.page.goto(self.url(path))

    def step(self, journey: Journey, label: str) -> None:
        """A journey step's screenshot, plus the checks every page must pass: each form
        field a user can fill in has an accessible name (a label, aria-label or title), and
        each figure in a table is right-aligned, nothing is wider than the window (and the
        tables made to fit their card do not scroll inside it), and every
        aria-describedby/labelledby names an id on the page; and axe-core finds no serious
        or critical violation of WCAG 2.1 A/AA (contrast, names, landmarks, table headers)."""
        journey.step(label)
        for field_html in self.page.evaluate(UNLABELLED_FIELDS_JS):
            self.unlabelled.append(f"{self.page.url}: {field_html}")
        for cell in self.page.evaluate(MISALIGNED_NUMBERS_JS):
            self.misaligned.append(f"{urlparse(self.page.url).path}: {cell}")
        for element in self.page.evaluate(OVERFLOW_JS) + self.page.evaluate(CLIPPED_TABLES_JS):
            self.overflowing.append(f"{urlparse(self.page.url).path}: {element}")
        for reference in self.page.evaluate(DANGLING_ARIA_JS):
            self.dangling.append(f"{urlparse(self.page.url).path}: {reference}")
        for found in axe_violations(self.page):
            self.inaccessible.append(
                f"{urlparse(self.page.url).path}: {found['rule']} ({found['impact']}) "
                f"at {found['target']}: {found['summary']}"
            )

    def assert_pages_checked(self) -> None:
        assert self.unlabelled == [], f"fields without a label: {self.unlabelled}"
        assert self.misaligned == [], f"figures not right-aligned: {self.misaligned}"
        assert self.overflowing == [], f"wider than the window: {self.overflowing}"
        assert self.dangling == [], f"ARIA references to missing ids: {self.dangling}"
        assert self.inaccessible == [], "WCAG 2.1 A/AA violations (axe-core):\n" + "\n".join(
            self.inaccessible
        )

    def assert_offline(self) -> None:
        """Every request the pages made went to the live server (hospital networks are
        closed: no CDN, no web font, no analytics)."""
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"


def open_browser(page: Page, live_server_url: str) -> Browser:
    state = Browser(page=page, base=live_server_url)
    host = urlparse(live_server_url).netloc

    def on_request(request: Request) -> None:
        parsed = urlparse(request.url)
        if parsed.scheme in {"http", "https", "ws", "wss"} and parsed.netloc != host:
            state.foreign.append(request.url)

    def on_dialog(dialog: Dialog) -> None:
        state.dialogs.append(dialog.message)
        dialog.accept()

    page.on("request", on_request)
    page.on("dialog", on_dialog)
    return state


def set_language(page: Page, code: str) -> None:
    """Use the header's language switch (``en`` or ``zh-hans``)."""
    page.locator("#language-select").select_option(code)
    page.locator("form.language-form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def sign_in(state: Browser, username: str, *, language: str = "en") -> None:
    page = state.page
    state.go("/login/")
    if page.locator("html").get_attribute("lang") != language:
        set_language(page, language)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header .who")).to_contain_text(username)
    if page.locator("html").get_attribute("lang") != language:
        set_language(page, language)


def user(username: str) -> User:
    return User.objects.get(username=username)


def organization(username: str) -> Organization:
    org = user(username).organization
    assert org is not None, username
    return org


# --- state built through the services ----------------------------------------------------


def journey_round(code: str, *, items: tuple[str, ...] = ("D-CLO-OS", "D-AML-OS")) -> Round:
    """A drug round over the demo provinces, ceilings set, in draft."""
    rule_set_load_presets()
    now = timezone.now().replace(second=0, microsecond=0)
    round_ = round_create(
        office=organization("office"),
        code=code,
        name="旅程测试药品集采",
        name_en="Journey drug round",
        kind=Round.Kind.DRUGS,
        rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
        regions=Region.objects.filter(code__in=DEMO_REGIONS),
        demand_opens_at=now - datetime.timedelta(hours=1),
        demand_closes_at=now + datetime.timedelta(days=7),
        # The rule set's 20 days from publication (bidding opens) to the deadline.
        bid_deadline=now + datetime.timedelta(days=28),
        opening_at=now + datetime.timedelta(days=28, hours=1),
        objection_ends_at=now + datetime.timedelta(days=35),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
        items=list(ProcurementItem.objects.filter(code__in=items)),
    )
    for round_item in round_.items.select_related("item"):
        spec_code, ceiling = CEILINGS[round_item.item.code]
        spec = round_item.item.specifications.get(code=spec_code)
        round_item_set_prices(
            round_item=round_item,
            ceilings={spec: ceiling},
            reference_price=REFERENCE[round_item.item.code],
        )
    return round_


def declare_demand(round_: Round, quantities: dict[str, dict[str, int]]) -> None:
    """``{"hospital07": {"D-CLO-OS": 120000}}``: other hospitals' declarations."""
    round_.refresh_from_db()
    for username, lines in quantities.items():
        hospital = user(username)
        demand_declare(
            hospital=organization(username),
            round_=round_,
            lines=[
                DemandLine(item_code=code, specification_code=CEILINGS[code][0], quantity=qty)
                for code, qty in lines.items()
            ],
            channel="web",
            by=hospital,
        )


OTHER_DEMAND = {
    f"hospital{n:02d}": {"D-CLO-OS": 40_000 + 1_000 * n, "D-AML-OS": 60_000 + 500 * n}
    for n in (2, 6, 7, 11, 16, 21, 26)
}

# Rivals' sealed bids: (username, approval number, unit price, annual capacity).
RIVAL_BIDS = [
    ("maker05", "国药准字H20193005", "0.6000", 5_000_000),
    ("maker06", "国药准字H20193006", "0.7000", 5_000_000),
    ("maker07", "国药准字H20193007", "2.5000", 5_000_000),
    ("maker05", "国药准字H20193012", "0.1000", 8_000_000),
    ("maker07", "国药准字H20193013", "0.1200", 8_000_000),
]


def submit_bid(
    round_: Round, username: str, approval_number: str, price: str, capacity: int
) -> BidReceipt:
    product = Product.objects.select_related("specification__item").get(
        approval_number=approval_number
    )
    return bid_submit(
        round_item=round_.items.get(item=product.specification.item),
        specification=product.specification,
        product=product,
        unit_price=D(price),
        annual_capacity=capacity,
        by=user(username),
    )


def submit_rival_bids(round_: Round) -> None:
    round_.refresh_from_db()
    for username, approval, price, capacity in RIVAL_BIDS:
        submit_bid(round_, username, approval, price, capacity)


def open_demand_then_bidding(round_: Round) -> Round:
    office = user("office")
    round_open_demand(round_=round_, by=office)
    declare_demand(round_, OTHER_DEMAND)
    round_close_demand(round_=round_, by=office)
    round_open_bidding(round_=round_, by=office)
    round_.refresh_from_db()
    return round_


def move_past_opening(round_: Round) -> Round:
    """The bid deadline and the opening time have just passed (no real waiting)."""
    now = timezone.now()
    Round.objects.filter(pk=round_.pk).update(
        demand_opens_at=now - datetime.timedelta(days=3),
        demand_closes_at=now - datetime.timedelta(days=1),
        bid_deadline=now - datetime.timedelta(minutes=2),
        opening_at=now - datetime.timedelta(minutes=1),
        objection_ends_at=now + datetime.timedelta(days=7),
    )
    round_.refresh_from_db()
    return round_


def open_bids_and_award(round_: Round) -> Round:
    """Bids opened at the opening time, evaluated, published, no objection, finalized."""
    from awards.services import award_finalize, evaluation_request, objection_period_open
    from tests.ceremony import open_bids as round_open_bids

    office = user("office")
    round_.refresh_from_db()
    if round_.status == Round.Status.BIDDING_OPEN:
        move_past_opening(round_)
        round_open_bids(round_=round_, by=office)
        round_.refresh_from_db()
    evaluation_request(round_=round_, by=office)  # eager: runs when the request commits
    round_.refresh_from_db()
    objection_period_open(round_=round_, by=office)
    round_.refresh_from_db()
    # The objection period has passed (no real waiting).
    award_finalize(round_=round_, by=office, now=round_.objection_ends_at)
    round_.refresh_from_db()
    return round_


def open_province_selection(round_: Round) -> ProvinceSelection:
    from awards.services import selection_open

    return selection_open(
        round_=round_, by=user("office"), closes_at=timezone.now() + datetime.timedelta(hours=2)
    )


def close_selection_and_draw_up_contracts(round_: Round) -> Round:
    from awards.models import ProvinceSelection
    from awards.services import selection_close
    from contracts.services import contracts_generate

    office = user("office")
    selection = ProvinceSelection.objects.get(round=round_)
    selection_close(selection=selection, by=office)
    round_.refresh_from_db()
    contracts_generate(round_=round_, by=office)
    round_.refresh_from_db()
    return round_


def confirm_contracts(round_: Round, *, skip_hospital: str = "", skip_maker: str = "") -> None:
    """Every pending confirmation, except the ones a journey does in its own browser."""
    from contracts.models import Contract
    from contracts.services import contract_confirm

    for contract in Contract.objects.filter(round=round_).order_by("pk"):
        hospital = User.objects.filter(organization=contract.hospital_id).first()
        maker = User.objects.filter(organization=contract.manufacturer_id).first()
        assert hospital is not None and maker is not None
        if contract.status == Contract.Status.AWAITING_HOSPITAL:
            if hospital.username == skip_hospital:
                continue
            contract = contract_confirm(contract=contract, by=hospital)
        if contract.status == Contract.Status.AWAITING_MANUFACTURER:
            if maker.username == skip_maker:
                continue
            contract_confirm(contract=contract, by=maker)


def start_execution_three_months_ago(round_: Round) -> Round:
    """Execution starts; the contracts' term is moved to have begun 90 days ago so that a
    past month can be recorded and progress is measured against a pro-rata schedule."""
    from contracts.services import execution_start

    execution_start(round_=round_, by=user("office"))
    move_contract_term(round_, timezone.localdate() - datetime.timedelta(days=90))
    round_.refresh_from_db()
    return round_

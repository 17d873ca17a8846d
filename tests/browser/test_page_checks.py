"""The checks every journey runs on its pages can fail: an unlabelled field, a request to
another host, a figure not right-aligned, a table wider than the window, a dangling ARIA
reference and axe-core's WCAG violations are caught."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Journey
from tests.browser.helpers import (
    AXE_JS,
    AXE_SHA256,
    CLIPPED_TABLES_JS,
    DANGLING_ARIA_JS,
    MISALIGNED_NUMBERS_JS,
    OVERFLOW_JS,
    UNLABELLED_FIELDS_JS,
    axe_violations,
    open_browser,
)


def test_the_label_check_finds_fields_without_an_accessible_name(page: Page) -> None:
    page.set_content(
        "<form><label for=a>A</label><input id=a><input name=b><select name=c></select>"
        "<input type=hidden name=d><input aria-label=E name=e><textarea title=F></textarea>"
        "<label>G <input name=g></label><button>Go</button></form>"
    )
    found = page.evaluate(UNLABELLED_FIELDS_JS)
    assert found == ['<input name="b">', '<select name="c"></select>']


def test_the_offline_guard_records_a_request_to_another_host(page: Page) -> None:
    # The guard compares hosts, so any host other than the live server's proves it. The
    # "other host" is a second loopback address whose answer Playwright serves itself:
    # the test needs no network and no name lookup.
    ui = open_browser(page, "http://127.0.0.1:9")
    other = "http://127.0.0.2:9/logo.svg"
    page.route(other, lambda route: route.fulfill(body="<svg/>", content_type="image/svg+xml"))
    page.set_content(f'<img src="{other}" alt="">')
    page.wait_for_load_state("load")
    assert ui.foreign == [other]


def test_the_alignment_check_finds_figures_that_are_not_right_aligned(page: Page) -> None:
    page.set_content(
        "<table><thead><tr><th>Item</th><th>Run</th><th>Amount (yuan)</th><th>Share</th>"
        "<th>Quantity</th></tr></thead><tbody><tr><td>D-CLO-OS</td><td><a href=#>7</a></td>"
        "<td style='text-align:right'>1,234.50</td><td>12.5%</td><td>48,000</td></tr>"
        "</tbody></table>"
    )
    assert page.evaluate(MISALIGNED_NUMBERS_JS) == ["Share = 12.5%", "Quantity = 48,000"]


def test_the_overflow_check_finds_a_table_wider_than_the_window(page: Page) -> None:
    cells = "".join(f"<td>column {n} with a long heading</td>" for n in range(40))
    page.set_content(
        f"<main><div class=card><table class=wide><tr>{cells}</tr></table></div></main>"
    )
    assert page.evaluate(OVERFLOW_JS) == ["table.wide"]
    # The same table inside a card that scrolls sideways keeps the page within the window.
    page.set_content(
        "<main><div class=card style='overflow-x:auto'>"
        f"<table class=wide><tr>{cells}</tr></table></div></main>"
    )
    assert page.evaluate(OVERFLOW_JS) == []


def test_the_clipped_table_check_finds_a_fitting_table_that_still_scrolls(page: Page) -> None:
    cells = "".join(f"<td>1,234,567.00 column {n}</td>" for n in range(30))
    html = (
        "<main style='width:600px'><div class=card style='overflow-x:auto'>"
        "<table class='data-table wrap-heads'><thead><tr><th>Savings</th></tr></thead>"
        "<tr>{cells}</tr></table></div>"
        "<div class=card style='overflow-x:auto'><table class='data-table wide'>"
        "<tr>{cells}</tr></table></div></main>"
    )
    page.set_content(html.format(cells=cells))
    # Only the table meant to fit is reported; a table allowed to scroll is not.
    assert page.evaluate(CLIPPED_TABLES_JS) == [
        "table.data-table.wrap-heads scrolls inside its card: Savings"
    ]
    page.set_content(html.format(cells="<td>1.00</td>"))
    assert page.evaluate(CLIPPED_TABLES_JS) == []


def test_the_aria_check_finds_references_to_missing_ids(page: Page) -> None:
    page.set_content(
        "<p id=help>Help</p><input name=a aria-describedby='help a_error'>"
        "<input name=b aria-describedby=help><section aria-labelledby=nothing></section>"
    )
    assert page.evaluate(DANGLING_ARIA_JS) == ["a -> #a_error", "section -> #nothing"]


def test_the_vendored_axe_core_is_the_pinned_release() -> None:
    assert hashlib.sha256(AXE_JS.read_bytes()).hexdigest() == AXE_SHA256
    assert AXE_JS.read_text(encoding="utf-8").startswith("/*! axe v4.14.1\n")


def test_the_axe_check_finds_serious_and_critical_wcag_violations(page: Page) -> None:
    page.set_content(
        "<!doctype html><html lang=en><head><title>Checks</title></head><body><main>"
        "<h1>Round</h1><img src='data:,' id=chart>"
        "<button id=close><span class=icon></span></button>"
        "<p id=faint style='color:#aaa;background:#fff'>Provisional until selection ends</p>"
        "<p id=dark style='color:#555;background:#fff'>Readable muted text</p>"
        "</main></body></html>"
    )
    found = {(v["rule"], v["impact"], v["target"]) for v in axe_violations(page)}
    assert found == {
        ("image-alt", "critical", "#chart"),
        ("button-name", "critical", "#close"),
        ("color-contrast", "serious", "#faint"),
    }


def test_the_axe_check_is_collected_with_the_page_and_fails_the_journey(
    page: Page, tmp_path: Path
) -> None:
    ui = open_browser(page, "http://127.0.0.1:9")
    page.set_content(
        "<!doctype html><html lang=en><head><title>Checks</title></head><body><main>"
        "<h1>Round</h1><img src='data:,' id=chart>"
        "</main></body></html>"
    )
    ui.step(Journey("page-checks", page, folder=tmp_path), "axe")
    assert ui.inaccessible == [
        "blank: image-alt (critical) at #chart: Element does not have an alt attribute"
    ]
    with pytest.raises(AssertionError, match="image-alt"):
        ui.assert_pages_checked()

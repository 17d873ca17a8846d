"""The checks every journey runs on its pages can fail: an unlabelled field and a request
to another host are caught."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.helpers import (
    DANGLING_ARIA_JS,
    MISALIGNED_NUMBERS_JS,
    OVERFLOW_JS,
    UNLABELLED_FIELDS_JS,
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
    ui = open_browser(page, "http://127.0.0.1:9")
    page.set_content('<img src="http://cdn.example.invalid/logo.png" alt="">')
    page.wait_for_load_state("load")
    assert ui.foreign == ["http://cdn.example.invalid/logo.png"]


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


def test_the_aria_check_finds_references_to_missing_ids(page: Page) -> None:
    page.set_content(
        "<p id=help>Help</p><input name=a aria-describedby='help a_error'>"
        "<input name=b aria-describedby=help><section aria-labelledby=nothing></section>"
    )
    assert page.evaluate(DANGLING_ARIA_JS) == ["a -> #a_error", "section -> #nothing"]

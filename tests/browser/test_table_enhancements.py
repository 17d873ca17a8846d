"""Every data table sorts by column (numbers as numbers) and long tables get a filter box."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

SCRIPT = Path(__file__).resolve().parents[2] / "static" / "js" / "jicai.js"

ROWS = [
    ("齐安制药", "1,200", "0.4200"),
    ("正元药业", "35,000", "0.0950"),
    ("石泉药业", "980", "1.2471"),
    ("扬帆药业", "12,000,000", "0.1000"),
    ("华瑞制药", "7", "2.1200"),
    ("京信药业", "450", "0.8800"),
    ("信和医药", "66,000", "0.3300"),
    ("辉源制药", "3,300", "3.6040"),
]


def _load(page: Page) -> None:
    body = "".join(
        f"<tr><td>{a}</td><td class='num'>{b}</td><td class='num'>{c}</td></tr>" for a, b, c in ROWS
    )
    page.set_content(
        "<html lang='en'><body data-filter-label='Filter rows'>"
        "<table class='data-table'><thead><tr><th>Manufacturer</th><th>Volume</th>"
        "<th>Unit price</th></tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>"
    )
    page.add_script_tag(path=str(SCRIPT))
    page.evaluate("document.dispatchEvent(new Event('DOMContentLoaded'))")


def _column(page: Page, index: int) -> list[str]:
    return page.locator(f"tbody tr:not([hidden]) td:nth-child({index})").all_inner_texts()


def test_numeric_columns_sort_as_numbers_both_ways(page: Page) -> None:
    _load(page)
    page.get_by_role("button", name="Volume").click()
    assert _column(page, 2) == [
        "7",
        "450",
        "980",
        "1,200",
        "3,300",
        "35,000",
        "66,000",
        "12,000,000",
    ]
    expect(page.locator("th").nth(1)).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("button", name="Volume").click()
    assert _column(page, 2)[0] == "12,000,000"
    expect(page.locator("th").nth(1)).to_have_attribute("aria-sort", "descending")


def test_headers_sort_from_the_keyboard(page: Page) -> None:
    _load(page)
    page.get_by_role("button", name="Unit price").focus()
    page.keyboard.press("Enter")
    assert _column(page, 3)[:2] == ["0.0950", "0.1000"]


def test_long_tables_filter_rows_and_say_how_many_match(page: Page) -> None:
    _load(page)
    page.get_by_label("Filter rows").fill("药业")
    assert _column(page, 1) == ["正元药业", "石泉药业", "扬帆药业", "京信药业"]
    expect(page.locator(".table-filter-count")).to_have_text("4 / 8")
    page.get_by_label("Filter rows").fill("")
    assert len(_column(page, 1)) == 8


def test_a_paged_list_says_the_filter_only_sees_this_page(page: Page) -> None:
    body = "".join(f"<tr><td>{a}</td><td class='num'>{b}</td></tr>" for a, b, _ in ROWS)
    page.set_content(
        "<html lang='en'><body data-filter-label='Filter rows'"
        " data-filter-page-label='Filter rows on this page'><section class='card'>"
        "<table class='data-table'><thead><tr><th>Manufacturer</th><th>Volume</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
        "<nav class='pagination'><span class='pagination-links'><a href='?page=2'>Next</a>"
        "</span></nav></section></body></html>"
    )
    page.add_script_tag(path=str(SCRIPT))
    page.evaluate("document.dispatchEvent(new Event('DOMContentLoaded'))")
    expect(page.get_by_label("Filter rows on this page")).to_be_visible()


def test_the_navigation_marks_the_section_of_the_current_page(page: Page) -> None:
    html = (
        "<html lang='en'><body><nav class='main-nav'><a href='/'>Home</a>"
        "<a href='/rounds/'>Rounds</a><a href='/reports/'>Published results</a></nav>"
        "</body></html>"
    )
    # Served by Playwright itself: nothing leaves the machine.
    page.route(
        "http://jicai.test/**", lambda route: route.fulfill(body=html, content_type="text/html")
    )
    page.goto("http://jicai.test/reports/round/7/")
    page.add_script_tag(path=str(SCRIPT))
    page.evaluate("document.dispatchEvent(new Event('DOMContentLoaded'))")
    expect(page.get_by_role("link", name="Published results")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_role("link", name="Home")).not_to_have_attribute("aria-current", "page")


def test_a_list_with_a_server_search_gets_no_second_filter_box(page: Page) -> None:
    body = "".join(f"<tr><td>{a}</td><td class='num'>{b}</td></tr>" for a, b, _ in ROWS)
    page.set_content(
        "<html lang='en'><body data-filter-label='Filter rows'><section class='card'>"
        "<form role='search' method='get'><label for='q'>Hospital</label>"
        "<input id='q' name='q' type='search'><button>Search</button></form>"
        "<table class='data-table'><thead><tr><th>Manufacturer</th><th>Volume</th></tr></thead>"
        f"<tbody>{body}</tbody></table></section></body></html>"
    )
    page.add_script_tag(path=str(SCRIPT))
    page.evaluate("document.dispatchEvent(new Event('DOMContentLoaded'))")
    expect(page.locator(".table-filter")).to_have_count(0)
    page.get_by_role("button", name="Volume").click()  # sorting still works
    assert _column(page, 2)[0] == "7"

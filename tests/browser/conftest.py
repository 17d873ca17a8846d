"""Browser journeys: Playwright driving Debian's Chromium against Django's live server.

The browser is Debian's Chromium, one per test process (``tests/chromium.py``, the
``browser`` fixture in tests/conftest.py). Every journey step saves a
screenshot to ``docs/screenshots/<journey>/`` (committed, so a reviewer can look without
running anything); a failing test also saves the page to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
FAILURES = ROOT / "test-artifacts" / "browser"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


class Journey:
    """Screenshots for one journey: ``journey.step("signed-in")`` after each step."""

    def __init__(self, name: str, page: Page, folder: Path | None = None) -> None:
        self.name = name
        self.page = page
        self.count = 0
        self.folder = folder or SCREENSHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()

    def step(self, label: str) -> None:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{slug}.png"), full_page=True)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(FAILURES / f"{request.node.name}.png"), full_page=True)
        (FAILURES / f"{request.node.name}.html").write_text(page.content(), encoding="utf-8")
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def journey(page: Page, request: pytest.FixtureRequest) -> Journey:
    return Journey(request.node.name.replace("test_", "").replace("[", "-").rstrip("]"), page)

"""The collated demand import in a real browser: the status page follows the tasks by
itself (htmx polling), announces each state, moves the focus to the result, and can be
left and found again from the round page.

The tasks are held back (their ``delay`` records the token) so the test decides when each
one runs, as a worker would, while the page polls."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from catalog.models import StoredUpload
from procurement import services
from procurement.models import DemandDeclaration
from procurement.views import demand_office as views
from tests.browser.helpers import axe_violations
from tests.factories import TEST_PASSWORD, user_of
from tests.procurement.factories import drug_item, hospital_user, make_round

pytestmark = pytest.mark.django_db(transaction=True)


class HeldTask:
    """Stands in for a Celery task: remembers what was enqueued instead of running it."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def delay(self, token: str) -> None:
        self.tokens.append(token)


def test_the_office_follows_a_collated_import_leaves_it_and_comes_back(
    live_server: object,
    page: Page,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check, commit = HeldTask(), HeldTask()
    monkeypatch.setattr(views, "demand_collated_preview_task", check)
    monkeypatch.setattr(views, "demand_collated_import_task", commit)
    office = user_of("office")
    office.language = "en"
    office.save(update_fields=["language"])
    round_ = make_round(office=office, items=[drug_item()], open_demand=True)
    code = hospital_user("11").organization.social_credit_code
    data = tmp_path / "collated.csv"
    data.write_text(
        f"hospital code,item code,specification code,quantity\n{code},D-ATV-OS,10MG,7\n",
        encoding="utf-8",
    )
    base = live_server.url  # type: ignore[attr-defined]
    page.goto(f"{base}/login/")
    page.locator("#language-select").select_option("en")
    page.locator("form.language-form button[type=submit]").click()
    page.locator("input[name=username]").fill(office.username)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header .who")).to_contain_text(office.username)

    # Upload: the file is stored and the status page polls while it waits to be checked.
    page.goto(f"{base}/rounds/{round_.code}/demand/import/")
    page.locator("#id_file").set_input_files(str(data))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("#import-status-card h2")).to_contain_text("Waiting to be checked")
    expect(page.locator("[aria-current=step]")).to_contain_text("Checking every row")
    status_url = page.url

    # Leave; the round page links back to the unfinished import.
    page.goto(f"{base}/rounds/{round_.code}/")
    page.locator("#collated-import-in-progress").get_by_role("link").click()
    expect(page).to_have_url(status_url)

    # The worker checks the file: the page updates itself and takes the focus to the result.
    services.demand_collated_preview_run(token=check.tokens[0])
    expect(page.locator("#import-status-card h2")).to_contain_text(
        "Checked: waiting for your confirmation", timeout=10_000
    )
    expect(page.locator("#import-status-card h2")).to_be_focused()
    expect(page.locator("#import-announce")).to_contain_text("Checked")
    expect(page.locator("#import-status-card")).to_contain_text(f"{code} · D-ATV-OS 10MG: 7")
    assert axe_violations(page) == []  # the state htmx swapped in meets WCAG 2.1 AA too
    assert not DemandDeclaration.objects.exists()

    # Confirm; the worker imports; the page ends on "Imported" with the counts.
    page.get_by_role("button", name="Import all rows").click()
    expect(page.locator("#import-status-card h2")).to_contain_text("Queued")
    services.demand_collated_import_run(token=commit.tokens[0])
    expect(page.locator("#import-status-card h2")).to_contain_text("Imported", timeout=10_000)
    expect(page.locator("#import-status-card")).not_to_have_attribute("hx-trigger", re.compile("."))
    assert DemandDeclaration.objects.get().quantity == 7
    assert axe_violations(page) == []
    assert StoredUpload.objects.get().status == StoredUpload.Status.DONE

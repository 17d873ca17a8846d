"""Each demo role signs in through the browser and sees its home page in Chinese and English."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from accounts.demo import DEMO_PASSWORD
from tests.browser.conftest import Journey
from tests.browser.helpers import open_browser

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = [
    ("office", "采购办公室", "Procurement office"),
    ("hospital01", "医院", "Hospital"),
    ("maker01", "生产企业", "Manufacturer"),
]


@pytest.mark.parametrize(
    ("username", "heading_zh", "heading_en"), ROLES, ids=["office", "hospital", "manufacturer"]
)
def test_sign_in(
    live_server: object,
    page: Page,
    journey: Journey,
    username: str,
    heading_zh: str,
    heading_en: str,
) -> None:
    call_command("seed_demo", verbosity=0)
    ui = open_browser(page, live_server.url)  # type: ignore[attr-defined]
    ui.go("/login/")
    expect(page.locator("h1")).to_have_text("登录")
    ui.step(journey, "login page in Chinese")

    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("h1")).to_contain_text(heading_zh)
    ui.step(journey, "home page in Chinese")

    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()
    expect(page.locator("h1")).to_contain_text(heading_en)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    ui.step(journey, "home page in English")

    page.get_by_role("button", name="Sign out").click()
    ui.go("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The language choice is remembered on the account, not only in this browser.
    expect(page.locator("h1")).to_contain_text(heading_en)
    ui.assert_offline()
    ui.assert_pages_checked()


def test_wrong_password_shows_the_error_in_the_summary(
    live_server: object, page: Page, journey: Journey
) -> None:
    call_command("seed_demo", verbosity=0)
    ui = open_browser(page, live_server.url)  # type: ignore[attr-defined]
    ui.go("/login/")
    page.get_by_label("用户名").fill("office")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".error-summary")).to_contain_text("请输入一个正确的")
    ui.step(journey, "wrong password refused")
    ui.assert_offline()
    ui.assert_pages_checked()

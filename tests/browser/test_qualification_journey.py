"""A new manufacturer in a real browser, in English and in Chinese: it registers with its
unified social credit code, the office approves the registration, the manufacturer signs
in and uploads its business licence, the office asks for more, the manufacturer
resubmits, the office approves; every page passes the accessibility checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.demo import DEMO_PASSWORD, demo_code
from accounts.models import Organization, Region
from qualification.demo import specimen_pdf
from qualification.models import QualificationDocument, RegistrationRequest
from tests.browser.conftest import Journey
from tests.browser.helpers import button, open_browser, set_language, sign_in
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-Pass-phrase-2026"
TEXT = {
    "en": {
        "send": "Send the registration",
        "approve": "Approve",
        "upload": "Upload for review",
        "record": "Record the decision",
        "resubmit": "Resubmit for review",
        "waiting": "Waiting for review",
        "approved": "Approved",
    },
    "zh-hans": {
        "send": "提交注册申请",
        "approve": "通过",
        "upload": "上传并提交审核",
        "record": "记录审核结果",
        "resubmit": "重新提交审核",
        "waiting": "待审核",
        "approved": "已通过",
    },
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_new_manufacturer_registers_and_is_qualified(
    live_server: object, page: Page, journey: Journey, tmp_path: Path, language: str
) -> None:
    text = TEXT[language]
    office_org = OrganizationFactory(kind=Organization.Kind.OFFICE)
    office = UserFactory(username="office", organization=office_org)
    office.set_password(DEMO_PASSWORD)
    office.save()
    code = demo_code("91", "32", 515151)
    username = f"xincheng-{language}"
    scan = tmp_path / "licence.pdf"
    scan.write_bytes(specimen_pdf())
    ui = open_browser(page, live_server.url)  # type: ignore[attr-defined]

    # 1. Register (no sign-in).
    ui.go("/qualification/register/")
    if page.locator("html").get_attribute("lang") != language:
        set_language(page, language)
    page.locator("#id_kind").select_option("manufacturer")
    page.locator("#id_name").fill("新成药业有限公司")
    page.locator("#id_name_en").fill("Xincheng Pharma Co., Ltd.")
    page.locator("#id_social_credit_code").fill(code)
    page.locator("#id_region").select_option(str(Region.objects.get(code="32").pk))
    page.locator("#id_contact_name").fill("王芳")
    page.locator("#id_email").fill("wang@example.com")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password_again").fill(PASSWORD)
    ui.step(journey, "registration form")
    button(page, text["send"]).click()
    expect(page.locator("input[name=username]")).to_be_visible()  # on to the sign-in page
    assert RegistrationRequest.objects.get().status == "pending"
    ui.step(journey, "registration sent")

    # 2. The office approves the registration.
    sign_in(ui, "office", language=language)
    ui.go("/qualification/office/")
    expect(page.locator("main")).to_contain_text(code)
    ui.step(journey, "office sees the request")
    page.locator("main form").filter(has=page.locator("button[value=approve]")).locator(
        "button[value=approve]"
    ).click()
    expect(page.locator("main")).to_contain_text(username)
    organization = Organization.objects.get(social_credit_code=code)
    page.context.clear_cookies()

    # 3. The new user signs in and uploads its business licence.
    ui.go("/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    if page.locator("html").get_attribute("lang") != language:
        set_language(page, language)
    ui.go("/qualification/documents/")
    page.locator("#id_kind").select_option("business_licence")
    page.locator("#id_number").fill(code)
    page.locator("#id_issuer").fill("江苏省市场监督管理局")
    page.locator("#id_valid_from").fill("2024-01-01")
    page.locator("#id_valid_until").fill("2034-01-01")
    page.locator("#id_file").set_input_files(str(scan))
    ui.step(journey, "upload form")
    button(page, text["upload"]).click()
    expect(page.locator("main table")).to_contain_text(text["waiting"])
    document = QualificationDocument.objects.get(organization=organization)
    ui.step(journey, "document waiting for review")
    page.context.clear_cookies()

    # 4. The office asks for more; the manufacturer resubmits; the office approves.
    sign_in(ui, "office", language=language)
    ui.go(f"/qualification/documents/{document.pk}/")
    page.locator("input[name=action][value=more_requested]").check()
    page.locator("#id_note").fill("请上传彩色扫描件。")
    button(page, text["record"]).click()
    expect(page.locator("main")).to_contain_text("请上传彩色扫描件。")
    page.context.clear_cookies()
    ui.go("/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    ui.go(f"/qualification/documents/{document.pk}/")
    page.locator("#id_file").set_input_files(str(scan))
    ui.step(journey, "asked for more")
    button(page, text["resubmit"]).click()
    expect(page.locator("main")).to_contain_text(text["waiting"])
    page.context.clear_cookies()
    sign_in(ui, "office", language=language)
    ui.go(f"/qualification/documents/{document.pk}/")
    page.locator("input[name=action][value=approved]").check()
    button(page, text["record"]).click()
    expect(page.locator("main dl")).to_contain_text(text["approved"])
    ui.step(journey, "approved with its history")
    document.refresh_from_db()
    assert document.status == "approved"
    assert list(document.reviews.values_list("action", flat=True)) == [
        "submitted",
        "more_requested",
        "resubmitted",
        "approved",
    ]
    ui.assert_pages_checked()
    ui.assert_offline()

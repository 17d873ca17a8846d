"""The pages of a contract-PDF batch and of an evaluation run solved in parts, in both
languages (screenshots in docs/screenshots/pdf-batch-and-parts/)."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from awards.models import EvaluationRun
from awards.services.fanout import STAGE_PARTS
from contracts.models import ContractPdfBatch
from tests.browser.conftest import Journey
from tests.contracts.test_contracts import contracted_round
from tests.factories import TEST_PASSWORD


def test_pdf_batch_and_parts_pages(
    page: Page, live_server, django_capture_on_commit_callbacks
) -> None:
    built = contracted_round(django_capture_on_commit_callbacks)
    running = ContractPdfBatch.objects.create(round=built.round, total=120, chunks=4, done=45)
    failed = ContractPdfBatch.objects.create(
        round=built.round,
        total=120,
        chunks=4,
        done=118,
        rendered=90,
        failed=2,
        finished_at=timezone.now() + datetime.timedelta(minutes=3),
    )
    run = EvaluationRun.objects.create(
        round=built.round,
        rule_set=built.round.rule_set,
        rule_set_version=built.round.rule_set.version,
        exclusions_key="screenshot",
        status=EvaluationRun.Status.RUNNING,
        stage=STAGE_PARTS,
        progress=45,
        parts=4,
        parts_done=2,
    )
    journey = Journey("pdf-batch-and-parts", page)
    page.goto(f"{live_server.url}/login/")
    page.locator("input[name=username]").fill(built.office.username)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header .who")).to_contain_text(built.office.username)
    for language in ("en", "zh-hans"):
        page.goto(f"{live_server.url}/")
        page.locator("#language-select").select_option(language)
        page.locator("form.language-form button[type=submit]").click()
        expect(page.locator("html")).to_have_attribute("lang", language)
        page.goto(f"{live_server.url}{reverse('contracts:contract-pdf-batch', args=[running.pk])}")
        expect(page.locator(".batch-count")).to_contain_text("45")
        journey.step(f"batch running {language}")
        page.goto(f"{live_server.url}{reverse('contracts:contract-pdf-batch', args=[failed.pk])}")
        expect(page.locator("#pdf-batch-what-to-do")).to_be_visible()
        journey.step(f"batch failed {language}")
        page.goto(f"{live_server.url}{reverse('awards:run', args=[run.pk])}")
        expect(page.locator(".run-parts")).to_contain_text("2")
        journey.step(f"run in parts {language}")

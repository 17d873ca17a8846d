"""The award-result PDF on PostgreSQL with a real Celery worker: generated out of process,
stored once per language however often it is requested, same bytes as in-process."""

from __future__ import annotations

import subprocess
import time

import pytest
from django.test import Client
from django.urls import reverse

from common.pdf import sha256
from reports import services
from reports.models import GenerationJob, ReportDocument
from reports.tasks import award_result_task
from tests.factories import TEST_PASSWORD
from tests.reports.factories import small_awarded_round

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait_for_documents(round_id: int, count: int) -> list[ReportDocument]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        documents = list(ReportDocument.objects.filter(round_id=round_id).order_by("language"))
        if len(documents) >= count:
            return documents
        time.sleep(0.5)
    raise AssertionError(f"{count} documents were not generated in time")


def test_the_worker_publishes_both_languages_once(celery_worker: subprocess.Popen[bytes]) -> None:
    built = small_awarded_round(code="R-INT-1")
    office = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert office.login(username=built.office.username, password=TEST_PASSWORD)
    response = office.post(reverse("reports:publish", args=[built.round.pk]))
    assert response.status_code == 302
    documents = _wait_for_documents(built.round.pk, 2)
    assert [d.language for d in documents] == ["en", "zh-hans"]
    # The job the page polls has counted both languages, once, from the worker's tasks.
    deadline = time.monotonic() + 30
    while GenerationJob.objects.filter(round=built.round, finished_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.3)
    job = GenerationJob.objects.get(round=built.round)
    assert (job.done, job.failed) == (2, 0)
    partial = office.get(reverse("reports:award-job-progress", args=[built.round.pk]))
    assert "hx-get" not in partial.content.decode()
    first = {d.language: (d.pk, d.sha256, d.generated_at) for d in documents}

    # The same bytes as rendering here: the PDF does not depend on the process.
    local = services.award_result_render(round_=built.round, run=built.run, language="zh-hans")
    assert sha256(local) == first["zh-hans"][1]

    # Redelivered and repeated tasks, several at once: still one row per language,
    # untouched because the bytes are the same.
    for _ in range(3):
        award_result_task.delay(built.round.pk, "en")
        award_result_task.delay(built.round.pk, "zh-hans")
    time.sleep(1)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        # wait for the queue to drain: a ping task is answered after the PDFs (prefetch 1)
        from config.celery import app

        inspector = app.control.inspect(timeout=2)
        active = inspector.active() or {}
        reserved = inspector.reserved() or {}
        if not any(active.values()) and not any(reserved.values()):
            break
        time.sleep(1)
    documents = list(ReportDocument.objects.filter(round=built.round).order_by("language"))
    assert {d.language: (d.pk, d.sha256, d.generated_at) for d in documents} == first

    download = Client().get(reverse("reports:award-pdf", args=[built.round.pk, "zh-hans"]))
    assert download.status_code == 200
    assert sha256(download.getvalue()) == first["zh-hans"][1]


def test_party_reports_fan_out_over_the_worker(celery_worker: subprocess.Popen[bytes]) -> None:
    built = small_awarded_round(code="R-INT-2")
    office = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert office.login(username=built.office.username, password=TEST_PASSWORD)
    response = office.post(reverse("reports:publish-party-reports", args=[built.round.pk]))
    assert response.status_code == 302
    # 2 hospitals with allocations and 6 bidders, in Chinese and English
    documents = _wait_for_documents(built.round.pk, (2 + 6) * 2)
    deadline = time.monotonic() + 30
    while GenerationJob.objects.filter(round=built.round, finished_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.3)
    job = GenerationJob.objects.get(round=built.round, kind="party_reports")
    assert (job.total, job.done, job.failed) == (16, 16, 0)
    assert len(job.parts_finished) == 4  # one batch of hospitals, one of makers, x 2 languages
    assert {d.kind for d in documents} == {"hospital", "manufacturer"}
    assert len({(d.kind, d.organization_id, d.language) for d in documents}) == 16
    hospital = built.hospitals["11"]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=hospital.username, password=TEST_PASSWORD)
    download = client.get(reverse("reports:party-pdf", args=[built.round.pk, "zh-hans"]))
    assert download.status_code == 200
    stored = next(
        d
        for d in documents
        if d.organization_id == hospital.organization_id and d.language == "zh-hans"
    )
    assert sha256(download.getvalue()) == stored.sha256

"""A worker killed with SIGKILL mid-task: its task is redelivered and the job finishes,
with nothing done twice.

The failure found: ``kill -9`` on the worker during "generate every party report" left the
job at 64/74 with two messages unacked in Redis; a restarted worker did not pick them up
in 16 minutes (no visibility timeout was set: Redis's default is an hour). The worker in
these tests runs with a visibility timeout of 4 s (``killable_worker``); production keeps
it just above the hard time limit (config/settings.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from awards.models import BidResult, EvaluationRun, HospitalAllocation
from awards.services import evaluation_request
from awards.services.base import STAGE_SOLVING
from reports.models import GenerationJob, ReportDocument
from tests.conftest import KillableWorker
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.2)


def test_an_evaluation_killed_while_solving_is_run_again_and_stored_once(
    killable_worker: Callable[..., KillableWorker],
) -> None:
    from tests.contracts.test_full_round_integration import _round_with_demand_and_bids

    office, _hospitals, _makers, round_, _round_item = _round_with_demand_and_bids()
    worker = killable_worker(solve_delay=6)
    worker.start()
    run = evaluation_request(round_=round_, by=office)

    def solving() -> bool:
        run.refresh_from_db()
        return run.status == "running" and run.stage == STAGE_SOLVING

    _until(solving, 60, "the run was not solving")
    worker.kill()
    run.refresh_from_db()
    assert run.status == "running" and run.attempts == 1  # killed: nothing stored
    assert not BidResult.objects.filter(run=run).exists()

    worker.start()  # the same worker, started again (a supervisor would do this)
    _until(lambda: EvaluationRun.objects.get(pk=run.pk).status == "done", 90, "not done")
    run.refresh_from_db()
    assert run.attempts == 2
    assert EvaluationRun.objects.filter(round=round_).count() == 1
    assert BidResult.objects.filter(run=run).count() == 5  # once per bid
    assert HospitalAllocation.objects.filter(run=run).count() == 6


def test_a_report_batch_job_killed_mid_way_finishes_with_every_document_once(
    killable_worker: Callable[..., KillableWorker],
) -> None:
    from tests.reports.factories import small_awarded_round

    built = small_awarded_round(code="R-KILL-1")
    worker = killable_worker(delay=3)
    worker.start()
    office = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert office.login(username=built.office.username, password=TEST_PASSWORD)
    response = office.post(reverse("reports:publish-party-reports", args=[built.round.pk]))
    assert response.status_code == 302
    job = GenerationJob.objects.get(round=built.round, kind=GenerationJob.Kind.PARTY_REPORTS)
    parts = 4  # hospitals and manufacturers, one batch each, in two languages

    def some_parts_done() -> bool:
        job.refresh_from_db()
        return len(job.parts_finished) >= 1

    _until(some_parts_done, 90, "no batch finished")
    worker.kill()  # the next batch was taken (unacked) and is waiting in the task
    job.refresh_from_db()
    done_before = len(job.parts_finished)
    assert 1 <= done_before < parts and job.finished_at is None

    worker.start()
    _until(lambda: GenerationJob.objects.get(pk=job.pk).finished_at is not None, 120, "not done")
    job.refresh_from_db()
    assert sorted(job.parts_finished) == sorted(set(job.parts_finished))
    assert len(job.parts_finished) == parts
    assert (job.done, job.failed, job.total) == (16, 0, 16)
    documents = ReportDocument.objects.filter(round=built.round, organization__isnull=False)
    keys = list(documents.values_list("kind", "organization_id", "language"))
    assert len(keys) == len(set(keys)) == 16  # 2 hospitals and 6 bidders, two languages

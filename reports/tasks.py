"""Thin, idempotent tasks: ids in, one service call, retry policy here.

Tasks that belong to a ``GenerationJob`` take ``job_id`` and ``part``; when one fails for
good (an error a retry cannot mend, or its retries spent) its documents are counted as
failed on the job, so the page that polls the job stops waiting. This is done in the task
body, not in ``Task.on_failure``, because eager tasks (no broker) never call that hook.
A worker killed outright reports nothing: the page then shows the job as stalled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from celery import Task, shared_task
from django.db import DatabaseError

from reports import services

T = TypeVar("T")
RETRY = {
    "acks_late": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 5,
    "retry_backoff_max": 120,
    "max_retries": 5,
    "ignore_result": True,
}


def _job_part(
    task: Task,
    work: Callable[[], T],
    *,
    job_id: int | None,
    part: str,
    language: str,
    organization_ids: list[int],
) -> T:
    try:
        return work()
    except Exception as exc:
        retried = isinstance(exc, DatabaseError) and task.request.retries < (task.max_retries or 0)
        if job_id is not None and not retried:
            services.job_part_failed(
                job_id=job_id,
                part=part,
                language=language,
                organization_ids=organization_ids,
                error=f"{type(exc).__name__}: {exc}",
            )
        raise


@shared_task(bind=True, name="reports.award_result", **RETRY)
def award_result_task(
    self: Task,
    round_id: int,
    language: str,
    job_id: int | None = None,
) -> None:
    """Render and store one language of a round's award-result PDF. A redelivered task
    renders the same bytes and leaves the stored row as it is (same hash)."""
    _job_part(
        self,
        lambda: services.award_result_generate(round_id=round_id, language=language, job_id=job_id),
        job_id=job_id,
        part=services.award_part(language),
        language=language,
        organization_ids=[],
    )


@shared_task(bind=True, name="reports.party_reports_batch", **RETRY)
def party_reports_batch_task(
    self: Task,
    round_id: int,
    kind: str,
    organization_ids: list[int],
    language: str,
    job_id: int | None = None,
    part: str = "",
) -> int:
    """One bounded batch of hospital or manufacturer reports. Idempotent: unchanged data
    render the same bytes and leave the stored rows as they are, and the job counts the
    batch once."""
    return _job_part(
        self,
        lambda: services.party_reports_generate(
            round_id=round_id,
            kind=kind,
            organization_ids=organization_ids,
            language=language,
            job_id=job_id,
            part=part,
        ),
        job_id=job_id,
        part=part,
        language=language,
        organization_ids=organization_ids,
    )


@shared_task(bind=True, name="reports.open_data_build", **RETRY)
def open_data_build_task(self: Task, round_id: int, kind: str, language: str = "") -> None:
    """Build and store a round's open-data file (``reports.open_data``); idempotent: a
    file already built from the current inputs is left as it is."""
    from reports import open_data

    open_data.build(round_id=round_id, kind=kind, language=language)

"""Thin, idempotent tasks: ids in, one service call, retry policy here."""

from __future__ import annotations

from celery import Task, shared_task
from django.db import DatabaseError

from awards.services import comparison, fanout, storing

EVALUATION_RETRIES = 5


def _retry(task: Task, exc: DatabaseError) -> Exception:
    """The task's retry, with backoff (5 s doubling, at most 2 minutes)."""
    return task.retry(exc=exc, countdown=min(120, 5 * 2**task.request.retries))


def _retry_or_fail(task: Task, run_id: int, exc: DatabaseError) -> None:
    """A database error in a step of an evaluation run: retried with backoff; after the
    last retry the run is marked failed with the error."""
    if task.request.retries >= EVALUATION_RETRIES:
        storing.evaluation_fail(run_id=run_id, message=f"database error: {exc}")
        return
    raise _retry(task, exc) from exc


@shared_task(
    bind=True,
    name="awards.evaluation_run",
    acks_late=True,
    max_retries=EVALUATION_RETRIES,
    ignore_result=True,
)
def evaluation_run_task(self: Task, run_id: int) -> None:
    """Solve and store one evaluation run. Guarded on the run's status in the service:
    a redelivered task (worker killed, broker retry) finds the run done and does nothing,
    or finds it still ``running`` with nothing stored and starts it again. Database
    errors are retried with backoff; after the last retry the run is marked failed."""
    try:
        storing.evaluation_execute(run_id=run_id)
    except DatabaseError as exc:
        _retry_or_fail(self, run_id, exc)


@shared_task(
    bind=True,
    name=comparison.RELAXATION_TASK,
    acks_late=True,
    max_retries=EVALUATION_RETRIES,
    ignore_result=True,
)
def relaxation_cost_task(self: Task, run_id: int, index: int) -> None:
    """One relaxation of a stored run's scenario comparison (sent as a group, one task
    per relaxation). Idempotent: a cost already written is left as it is."""
    try:
        comparison.relaxation_execute(run_id=run_id, index=index)
    except DatabaseError as exc:
        raise _retry(self, exc) from exc


@shared_task(
    bind=True,
    name=fanout.PART_TASK,
    acks_late=True,
    max_retries=EVALUATION_RETRIES,
    ignore_result=True,
)
def evaluation_part_task(self: Task, run_id: int, index: int) -> None:
    """One chunk of items of a fanned-out evaluation run (``services.fanout``), sent as a
    group by the run's task. Idempotent: a part already solved is only counted again;
    the chunk that completes the run sends the merge."""
    try:
        fanout.part_execute(run_id=run_id, index=index)
    except DatabaseError as exc:
        _retry_or_fail(self, run_id, exc)


@shared_task(
    bind=True,
    name=fanout.MERGE_TASK,
    acks_late=True,
    max_retries=EVALUATION_RETRIES,
    ignore_result=True,
)
def evaluation_merge_task(self: Task, run_id: int) -> None:
    """Merge a fanned-out run's parts and store its result (the chord's body, sent by the
    chunk that completed the run). Idempotent on the run's status."""
    try:
        fanout.merge_execute(run_id=run_id)
    except DatabaseError as exc:
        _retry_or_fail(self, run_id, exc)

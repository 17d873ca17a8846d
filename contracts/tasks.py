"""Thin, idempotent tasks: ids in, one service call, retry policy here."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from contracts import services


@shared_task(
    name="contracts.evaluation_run",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
    ignore_result=True,
)
def evaluation_run_task(run_id: int) -> None:
    """Solve and store one evaluation run. Guarded on the run's status in the service:
    a redelivered task (worker killed, broker retry) finds the run done and does nothing,
    or finds it still ``running`` with nothing stored and starts it again."""
    services.evaluation_execute(run_id=run_id)

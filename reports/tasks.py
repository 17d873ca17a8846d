"""Thin, idempotent tasks: ids in, one service call, retry policy here."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from reports import services


@shared_task(
    name="reports.award_result",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
    ignore_result=True,
)
def award_result_task(round_id: int, language: str) -> None:
    """Render and store one language of a round's award-result PDF. A redelivered task
    renders the same bytes and leaves the stored row as it is (same hash)."""
    services.award_result_generate(round_id=round_id, language=language)

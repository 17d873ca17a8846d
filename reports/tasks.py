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


@shared_task(
    name="reports.party_reports_batch",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
    ignore_result=True,
)
def party_reports_batch_task(
    round_id: int, kind: str, organization_ids: list[int], language: str
) -> int:
    """One bounded batch of hospital or manufacturer reports. Idempotent: unchanged data
    render the same bytes and leave the stored rows as they are."""
    return services.party_reports_generate(
        round_id=round_id, kind=kind, organization_ids=organization_ids, language=language
    )


@shared_task(name="reports.party_reports_fan_out", acks_late=True, ignore_result=True)
def party_reports_fan_out_task(round_id: int) -> None:
    """Split a round's hospital and manufacturer reports into batches and send them to the
    workers as one group (each batch is its own task, so workers share the load)."""
    from celery import group

    from procurement.models import Round
    from reports.models import ReportDocument

    round_ = Round.objects.filter(pk=round_id).first()
    if round_ is None:
        return
    signatures = [
        party_reports_batch_task.si(round_id, str(kind), chunk, str(language))
        for kind in (ReportDocument.Kind.HOSPITAL, ReportDocument.Kind.MANUFACTURER)
        for chunk in services.party_report_batches(round_=round_, kind=kind)
        for language in services.LANGUAGES
    ]
    if signatures:
        group(signatures).apply_async()

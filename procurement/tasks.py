"""Thin, idempotent tasks: ids in, one service call, retry policy here."""

from __future__ import annotations

from celery import shared_task

from procurement import services


@shared_task(name="procurement.demand_collated_preview", acks_late=True, ignore_result=True)
def demand_collated_preview_task(token: str) -> None:
    """Check an office's collated demand file without writing anything (the preview).

    Guarded in the service: the upload is claimed preview-queued -> previewing, so a
    redelivered task does nothing.
    """
    services.demand_collated_preview_run(token=token)


@shared_task(name="procurement.demand_collated_import", acks_late=True, ignore_result=True)
def demand_collated_import_task(token: str) -> None:
    """Commit an office's collated demand file (a national one has a million lines).

    Guarded in the service: the upload is claimed queued -> running, so a redelivered task
    does nothing. The import is one transaction; a worker killed mid-way leaves nothing
    written and the upload marked running, to be uploaded again.
    """
    services.demand_collated_import_run(token=token)


@shared_task(name="procurement.demand_totals_refresh", acks_late=True, ignore_result=True)
def demand_totals_refresh_task(round_id: int) -> None:
    """Total a round's declarations into its snapshot (``procurement.summaries``)."""
    from procurement import summaries

    summaries.refresh(round_id=round_id)

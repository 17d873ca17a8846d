"""Thin, idempotent tasks: ids in, one service call, retry policy here."""

from __future__ import annotations

from celery import Task, shared_task
from django.db import DatabaseError

from contracts import services

EVALUATION_RETRIES = 5


@shared_task(
    bind=True,
    name="contracts.evaluation_run",
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
        services.evaluation_execute(run_id=run_id)
    except DatabaseError as exc:
        if self.request.retries >= EVALUATION_RETRIES:
            services.evaluation_fail(run_id=run_id, message=f"database error: {exc}")
            return
        raise self.retry(exc=exc, countdown=min(120, 5 * 2**self.request.retries)) from exc


@shared_task(
    name="contracts.contract_pdf",
    acks_late=True,
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=5,
    max_retries=5,
    ignore_result=True,
)
def contract_pdf_task(contract_id: int) -> None:
    """Render a contract's PDFs (Chinese and English); does nothing if they are current."""
    services.contract_pdf_render(contract_id=contract_id)


@shared_task(
    name="contracts.contracts_generate",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    max_retries=5,
    ignore_result=True,
)
def contracts_generate_task(round_id: int, user_id: int | None) -> None:
    """Draw up a round's contracts; a round that already has contracts gets none."""
    from accounts.models import User
    from procurement.models import Round

    by = User.objects.filter(pk=user_id).first() if user_id else None
    services.contracts_generate(round_=Round.objects.get(pk=round_id), by=by)

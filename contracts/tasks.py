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

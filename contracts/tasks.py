"""Thin, idempotent tasks: ids in, one service call, retry policy here."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from celery import shared_task
from django.db import DatabaseError, connection, transaction

from contracts.models import Contract
from contracts.services import contracts as services

logger = logging.getLogger(__name__)

# A contract's PDF is a few pages (Chinese and English render in about a second); the
# limit is the platform's 30 minutes for the evaluation, far too long to keep a page
# waiting. The contract page stops polling after the limit plus a margin for the queue
# (``CONTRACT_PDF_WAIT``) and offers to request it again.
CONTRACT_PDF_TIME_LIMIT = 120
CONTRACT_PDF_WAIT = datetime.timedelta(seconds=CONTRACT_PDF_TIME_LIMIT + 60)
# Key space of the PostgreSQL advisory lock taken while a contract's PDF renders
# (pg_try_advisory_xact_lock(namespace, contract id)); "JC" in ASCII.
PDF_LOCK_NAMESPACE = 0x4A43
# A render that lost the race with an amendment or a confirmation (the revision moved
# while it rendered) starts again, at most this many times in one task.
PDF_RENDER_ATTEMPTS = 3


@contextmanager
def _one_render_at_a_time(contract_id: int) -> Iterator[bool]:
    """True when this task may render the contract's PDF: no other worker is rendering it.

    A transaction-level PostgreSQL advisory lock keyed by the contract, so it is released
    on commit, on rollback and with a killed worker's connection, and it holds up nobody
    else (confirmations and amendments lock the contract row, not this key). SQLite
    (development, the unit tests: tasks run in-process) has one writer and no lock."""
    if connection.vendor != "postgresql":
        yield True
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(%s, %s)", [PDF_LOCK_NAMESPACE, contract_id]
            )
            (acquired,) = cursor.fetchone()
        yield bool(acquired)


@shared_task(
    name="contracts.contract_pdf",
    acks_late=True,
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=5,
    max_retries=5,
    ignore_result=True,
    time_limit=CONTRACT_PDF_TIME_LIMIT,
    soft_time_limit=CONTRACT_PDF_TIME_LIMIT - 20,
)
def contract_pdf_task(contract_id: int) -> None:
    """Render a contract's PDFs (Chinese and English) unless they are current.

    Requested again (a page reloaded, "request it again") while a render runs, the task
    finds the contract's render lock taken and returns: the running render ends with the
    current revision. Queued twice, the second finds the PDF current and does nothing."""
    _render_current(contract_id)


def _render_current(contract_id: int) -> bool | None:
    """Render the contract's PDFs unless current: True when this call rendered them, False
    when they were current, None when another task holds the contract's render lock."""
    with _one_render_at_a_time(contract_id) as mine:
        if not mine:
            return None
        rendered = False
        for _ in range(PDF_RENDER_ATTEMPTS):
            rendered = services.contract_pdf_render(contract_id=contract_id) or rendered
            if Contract.objects.get(pk=contract_id).pdf_ready:
                break
        return rendered


@shared_task(
    name="contracts.contract_pdfs_chunk",
    acks_late=True,
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=5,
    max_retries=5,
    ignore_result=True,
    # A chunk has at most CONTRACT_PDF_CHUNK_MAX contracts of about a second each.
    time_limit=CONTRACT_PDF_TIME_LIMIT * 10,
    soft_time_limit=CONTRACT_PDF_TIME_LIMIT * 10 - 20,
)
def contract_pdfs_chunk_task(batch_id: int, part: str, contract_ids: list[int]) -> None:
    """One chunk of a PDF batch (``services.contract_pdfs_batch_request``): each contract's
    PDFs unless current, then the chunk counted on the batch once.

    Idempotent per contract: redelivered (a worker killed, a retry after a database error),
    the chunk finds the PDFs it already stored current and renders only the rest. A contract
    gone (deleted since) or that cannot be rendered is counted as failed, not retried."""
    done = rendered = failed = 0
    for contract_id in contract_ids:
        try:
            outcome = _render_current(contract_id)
        except (DatabaseError, OSError):
            raise  # retried: what this chunk stored so far is current and kept
        except Exception:
            logger.exception("contract %s: PDF not rendered (batch %s)", contract_id, batch_id)
            failed += 1
            continue
        done += 1
        rendered += outcome is True
    services.contract_pdfs_part_finish(
        batch_id=batch_id, part=part, done=done, rendered=rendered, failed=failed
    )


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


@shared_task(name="contracts.progress_refresh", acks_late=True)
def progress_refresh_task(round_id: int) -> None:
    """Total a round's execution progress into its snapshot (``contracts.summaries``)."""
    from contracts import summaries

    summaries.refresh(round_id=round_id)

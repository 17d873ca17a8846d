"""Asking for background work on contracts, and whether it is pending: drawing up a
round's contracts (a national round has hundreds of thousands: a task writes them) and
rendering a contract's PDF. The tasks (``contracts.tasks``) do the work with
``contracts.services.contracts``; these functions check, record and queue it after commit.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from awards.models import AuditEntry
from awards.services import lock_round
from contracts.models import Contract, ContractPdfBatch
from contracts.services.contracts import contracts_source_run
from procurement.models import Round

CONTRACTS_REQUESTED = "contracts_requested"
# A request whose task has not drawn up the contracts within this time may be repeated
# (the task is idempotent: the round row is locked and a round with contracts gets none).
CONTRACTS_REQUEST_PATIENCE = datetime.timedelta(minutes=30)


def contracts_generate_unfinished(*, round_: Round) -> AuditEntry | None:
    """The office's latest request to draw up the round's contracts, while no contract
    exists (its task has not finished, or never will)."""
    if Contract.objects.filter(round=round_).exists():
        return None
    return (
        AuditEntry.objects.filter(round=round_, action=CONTRACTS_REQUESTED)
        .select_related("by")
        .order_by("-at", "-id")
        .first()
    )


def contracts_generate_pending(
    *, round_: Round, now: datetime.datetime | None = None
) -> AuditEntry | None:
    """The unfinished request, if it is recent enough to wait for."""
    now = now or timezone.now()
    request = contracts_generate_unfinished(round_=round_)
    if request is None:
        return None
    return request if now - request.at < CONTRACTS_REQUEST_PATIENCE else None


def contracts_generate_request(*, round_: Round, by: User | None) -> None:
    """Check that the round's contracts can be drawn up, and queue the work (after commit).

    A national round has hundreds of thousands of contracts: they are written by a task.
    The request is recorded, so the award page shows it as pending until the task is done.
    """
    from contracts.tasks import contracts_generate_task  # the task imports the services

    with transaction.atomic():
        locked = lock_round(round_.pk)
        if Contract.objects.filter(round=locked).exists():
            raise ValidationError(_("The contracts of this round are already drawn up."))
        contracts_source_run(locked)
        if contracts_generate_pending(round_=locked) is not None:
            raise ValidationError(
                _("The contracts of this round are already being drawn up; wait a moment.")
            )
        AuditEntry.objects.create(round=locked, action=CONTRACTS_REQUESTED, by=by)
        user_id = by.pk if by is not None else None
        transaction.on_commit(lambda: contracts_generate_task.delay(locked.pk, user_id))


def contract_pdf_request(*, contract: Contract) -> None:
    """Queue the PDF (after commit) unless it is up to date."""
    from contracts.tasks import contract_pdf_task  # the task imports the services

    if not contract.pdf_ready:
        transaction.on_commit(lambda: contract_pdf_task.delay(contract.pk))


# A batch of contract PDFs goes out as a Celery group of about this many chunks, so that
# every worker process takes a share and none is left with a long tail (a chunk is a few
# contracts, a render about a second each); a chunk has at most CONTRACT_PDF_CHUNK_MAX
# contracts, so a national round's hundreds of thousands make bounded tasks.
CONTRACT_PDF_CHUNKS = 64
CONTRACT_PDF_CHUNK_MAX = 50


def contract_pdf_chunk_size(count: int) -> int:
    """Contracts per chunk for a batch of ``count``: about ``CONTRACT_PDF_CHUNKS`` chunks,
    at least one contract and at most ``CONTRACT_PDF_CHUNK_MAX`` per chunk."""
    return max(1, min(CONTRACT_PDF_CHUNK_MAX, math.ceil(count / CONTRACT_PDF_CHUNKS)))


def contract_pdfs_batch_request(
    *, contract_ids: Sequence[int], round_: Round | None = None, chunk_size: int | None = None
) -> ContractPdfBatch:
    """Render the PDFs of ``contract_ids`` in the background as a Celery group of chunks
    (queued after commit); the returned batch keeps the progress.

    Each chunk renders, one contract at a time, only the PDFs that are not current (the
    contract's ``pdf_revision`` against its ``revision``), under the contract's render lock:
    a redelivered chunk, or a contract also requested from its page, is rendered once.
    Chunks are independent tasks, so two worker processes (or two machines) share a batch.
    """
    from celery import group

    from contracts.tasks import contract_pdfs_chunk_task  # the task imports the services

    ids = sorted(set(contract_ids))
    size = chunk_size or contract_pdf_chunk_size(len(ids))
    chunks = [ids[start : start + size] for start in range(0, len(ids), size)]
    batch = ContractPdfBatch.objects.create(
        round=round_,
        total=len(ids),
        chunks=len(chunks),
        finished_at=timezone.now() if not ids else None,
    )
    if chunks:
        work = group(
            contract_pdfs_chunk_task.si(batch.pk, f"chunk-{n}", chunk)
            for n, chunk in enumerate(chunks)
        )
        transaction.on_commit(work.apply_async)
    return batch

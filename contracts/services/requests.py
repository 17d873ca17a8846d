"""Asking for background work on contracts, and whether it is pending: drawing up a
round's contracts (a national round has hundreds of thousands: a task writes them) and
rendering a contract's PDF. The tasks (``contracts.tasks``) do the work with
``contracts.services.contracts``; these functions check, record and queue it after commit.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from awards.models import AuditEntry
from awards.services import lock_round
from contracts.models import Contract
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

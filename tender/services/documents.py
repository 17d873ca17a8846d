"""The procurement document's versions: the first when bidding opens, one per amendment."""

from __future__ import annotations

import datetime

from django.db import transaction

from accounts.models import User
from procurement.models import Round, RoundTransition
from tender.content import canonical_sha256, document_content
from tender.models import Amendment, ProcurementDocumentVersion


def _render_after_commit(version: ProcurementDocumentVersion) -> None:
    from tender.tasks import document_pdf_task

    transaction.on_commit(lambda: document_pdf_task.delay(version.pk))


@transaction.atomic
def document_version_publish(
    *, round_: Round, amendment: Amendment | None, now: datetime.datetime
) -> ProcurementDocumentVersion:
    """Store the document as the round now holds it: version 1, or the version amendment
    n publishes (n + 1). The PDFs are rendered by a task once the transaction commits."""
    content = document_content(round_)
    version = ProcurementDocumentVersion.objects.create(
        round=round_,
        number=1 if amendment is None else amendment.number + 1,
        amendment=amendment,
        published_at=now,
        content=content,
        content_sha256=canonical_sha256(content),
    )
    _render_after_commit(version)
    return version


@transaction.atomic
def document_publish(
    *, round_: Round, by: User | None, now: datetime.datetime
) -> ProcurementDocumentVersion:
    """Publish the round's procurement document (version 1); idempotent.

    Called when bidding opens (``procurement.signals.round_published``), inside the
    opening's transaction, which holds the round (a conditional update of its status), so
    two openings cannot both publish.
    """
    existing = ProcurementDocumentVersion.objects.filter(round=round_, number=1).first()
    if existing is not None:
        return existing
    version = document_version_publish(round_=round_, amendment=None, now=now)
    RoundTransition.objects.create(
        round=round_,
        from_status=round_.status,
        to_status=round_.status,
        by=by,
        note=f"procurement document v1 published (SHA-256 {version.content_sha256[:16]})",
    )
    return version

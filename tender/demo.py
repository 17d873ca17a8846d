"""Demo data of the tender app: nothing of its own (a round's procurement document is
published when its bidding opens, so ``DEMO-2026-A1`` gets one from ``bidding.demo``).

``document_restate`` is for the demo modules that move an awarded demo round's clock back
by a plain UPDATE (``contracts.demo``): the document's first version is stated again from
the round as moved, published when demand closed, so the public page's dates agree.
"""

from __future__ import annotations

from typing import TextIO

from procurement.models import Round
from tender.content import canonical_sha256, document_content
from tender.models import DocumentPdf, ProcurementDocumentVersion


def document_restate(round_: Round) -> None:
    """Demo only: version 1 as the moved timetable says it was published (its PDFs are
    dropped and rendered again by the page's next visit to the task)."""
    round_.refresh_from_db()
    version = ProcurementDocumentVersion.objects.filter(round=round_, number=1).first()
    if version is None or round_.amendments.exists():
        return
    content = document_content(round_)
    ProcurementDocumentVersion.objects.filter(pk=version.pk).update(
        published_at=round_.demand_closes_at,
        content=content,
        content_sha256=canonical_sha256(content),
    )
    DocumentPdf.objects.filter(version=version).delete()
    from django.db import transaction

    from tender.tasks import document_pdf_task

    transaction.on_commit(lambda: document_pdf_task.delay(version.pk))


def load(*, stdout: TextIO) -> None:
    stdout.write(
        f"tender: {ProcurementDocumentVersion.objects.count()} procurement document versions\n"
    )

"""Thin, idempotent tasks: ids in, one service call, retry policy here."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from tender.services import rendering

# A document version is a few pages per language (about a second each); the page shows
# "being prepared" until both are stored.
DOCUMENT_PDF_TIME_LIMIT = 120


@shared_task(
    name="tender.document_pdf",
    acks_late=True,
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=5,
    max_retries=5,
    ignore_result=True,
    time_limit=DOCUMENT_PDF_TIME_LIMIT,
    soft_time_limit=DOCUMENT_PDF_TIME_LIMIT - 20,
)
def document_pdf_task(version_id: int) -> None:
    """Render a document version's PDFs (Chinese and English) that are not stored yet.
    Redelivered, it renders nothing twice (``document_pdf_render`` skips stored ones)."""
    rendering.document_pdf_render(version_id=version_id)

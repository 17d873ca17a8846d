"""A document version's PDFs, in Chinese and English (run by ``tender.tasks``)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.pdf import render_template_pdf, sha256
from tender.models import DocumentPdf, ProcurementDocumentVersion
from tender.presentation import document_view


def document_pdf_render(*, version_id: int) -> int:
    """Render and store the version's PDFs not stored yet; returns how many were stored.

    Idempotent: a language already stored is skipped, and a render that lost a race with
    another worker is dropped by the unique (version, language) constraint. The PDF is
    made from the version's stored content, never from the round as it is now.
    """
    version = ProcurementDocumentVersion.objects.select_related("round").get(pk=version_id)
    stored = 0
    for language in DocumentPdf.Language.values:
        if DocumentPdf.objects.filter(version=version, language=language).exists():
            continue
        data = render_template_pdf(
            "tender/pdf/document.html",
            {"document": document_view(version, language=language)},
            language=language,
        )
        try:
            with transaction.atomic():
                DocumentPdf.objects.create(
                    version=version,
                    language=language,
                    content=data,
                    sha256=sha256(data),
                    size=len(data),
                    generated_at=timezone.now(),
                )
        except IntegrityError:
            continue  # another worker stored it meanwhile
        stored += 1
    return stored

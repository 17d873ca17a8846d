"""Generated report documents (award-result PDFs, per-hospital and per-manufacturer PDFs).

A document is stored with its SHA-256 so a reader can check a downloaded copy against the
hash shown beside the public link. One row per (round, kind, language, organization):
regenerating with unchanged data renders the same bytes (``contracts.pdf`` writes no
creation date), so the row is left as it is; changed data replace the bytes and the hash.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from procurement.models import Round


class ReportDocument(models.Model):
    """One generated PDF of a round, in one language (for one organization, or public)."""

    class Kind(models.TextChoices):
        AWARD_RESULT = "award_result", _("Award-result announcement")
        HOSPITAL = "hospital", _("Hospital report")
        MANUFACTURER = "manufacturer", _("Manufacturer report")

    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="report_documents", verbose_name=_("round")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    # Empty for the public award-result document; the hospital or manufacturer otherwise.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )
    content = models.BinaryField(_("PDF"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    pages = models.PositiveIntegerField(_("pages"))
    # The evaluation run whose rows the document reports (its source run).
    run_id_reported = models.PositiveIntegerField(_("evaluation run"))
    generated_at = models.DateTimeField(_("generated at"))

    class Meta:
        ordering = ["round", "kind", "organization_id", "language"]
        verbose_name = _("report document")
        verbose_name_plural = _("report documents")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "kind", "language"],
                condition=Q(organization__isnull=True),
                name="report_document_one_public_per_language",
            ),
            models.UniqueConstraint(
                fields=["round", "kind", "language", "organization"],
                condition=Q(organization__isnull=False),
                name="report_document_one_per_organization_and_language",
            ),
            models.CheckConstraint(
                condition=Q(kind="award_result", organization__isnull=True)
                | (~Q(kind="award_result") & Q(organization__isnull=False)),
                name="report_document_public_only_for_award_results",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.language} of round {self.round_id}: {self.sha256[:12]}"

    @property
    def filename(self) -> str:
        suffix = "" if self.organization_id is None else f"-{self.organization_id}"
        return f"{self.round.code}-{self.kind}{suffix}-{self.language}.pdf"

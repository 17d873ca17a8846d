"""Generated report documents (award-result PDFs, per-hospital and per-manufacturer PDFs).

A document is stored with its SHA-256 so a reader can check a downloaded copy against the
hash shown beside the public link. One row per (round, kind, language, organization):
regenerating with unchanged data renders the same bytes (``common.pdf`` writes no
creation date), so the row is left as it is; changed data replace the file and the hash.

The PDF itself is a file in Django's storage (``STORAGES["default"]``: the file system
under ``MEDIA_ROOT``, or S3-compatible object storage when configured, see
config/settings.py), not bytes in the table: the row keeps the file's name, its SHA-256,
size and page count. Files are named by their content (``..._<first 16 hex of the
SHA-256>.pdf``), so a new version never overwrites the one a reader may be downloading.
"""

from __future__ import annotations

from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver
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
    pdf = models.FileField(_("PDF"), upload_to="reports/", max_length=255)
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

    @property
    def content(self) -> bytes:
        """The PDF's bytes, read from storage (downloads stream the file instead)."""
        with self.pdf.open("rb") as stream:
            data: bytes = stream.read()
        return data


def report_file_name(
    *, round_code: str, kind: str, organization_id: int | None, language: str, digest: str
) -> str:
    """Where a document's PDF is stored: by round, and named by its content."""
    suffix = "" if organization_id is None else f"-{organization_id}"
    return f"reports/{round_code}/{kind}{suffix}-{language}-{digest[:16]}.pdf"


def delete_file_on_commit(name: str) -> None:
    """Delete a stored PDF once the transaction that stopped referring to it commits (a
    rollback keeps it: the row still names it)."""
    if not name:
        return
    storage = ReportDocument._meta.get_field("pdf").storage
    transaction.on_commit(lambda: storage.delete(name))


@receiver(post_delete, sender=ReportDocument)
def _delete_pdf_file(
    sender: type[ReportDocument], instance: ReportDocument, **kwargs: object
) -> None:
    delete_file_on_commit(instance.pdf.name)


class GenerationJob(models.Model):
    """One request to generate a round's documents, so its pages can show what is pending.

    ``total`` documents are expected; each finished task part adds what it stored to
    ``done`` and what it could not render to ``failed`` exactly once (its key is kept in
    ``parts_finished``, so a redelivered task does not count twice). The job is over when
    ``done + failed == total`` (``finished_at`` set). A pending job whose ``updated_at``
    has not moved for longer than a task may run is stalled (its worker died): the office
    may start it again.
    """

    class Kind(models.TextChoices):
        AWARD_RESULT = "award_result", _("Award-result announcement")
        PARTY_REPORTS = "party_reports", _("Hospital and manufacturer reports")

    round = models.ForeignKey(
        Round, on_delete=models.CASCADE, related_name="generation_jobs", verbose_name=_("round")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    total = models.PositiveIntegerField(_("documents expected"))
    done = models.PositiveIntegerField(_("documents stored"), default=0)
    failed = models.PositiveIntegerField(_("documents failed"), default=0)
    parts_finished = models.JSONField(_("finished parts"), default=list, blank=True)
    # [{"organization": name or "", "language": "en", "error": "..."}], at most MAX_FAILURES.
    failures = models.JSONField(_("failures"), default=list, blank=True)
    requested_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"))
    updated_at = models.DateTimeField(_("updated at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    MAX_FAILURES = 200  # failures listed (all are counted): bounds the row's size

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("generation job")
        verbose_name_plural = _("generation jobs")
        indexes = [models.Index(fields=["round", "kind", "-requested_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(done__lte=models.F("total") - models.F("failed")),
                name="generation_job_counts_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of round {self.round_id}: {self.done}+{self.failed}/{self.total}"

    @property
    def is_pending(self) -> bool:
        return self.finished_at is None

    @property
    def percent(self) -> int:
        if not self.total:
            return 100
        return (self.done + self.failed) * 100 // self.total


class OpenDataFile(models.Model):
    """A round's open-data file built by a task and stored through the storage API
    (``reports.open_data``): requests serve the stored file, they never build one.

    ``inputs_key`` fingerprints what the file was built from (the round's status, its
    official run, province selection, contracts): when the current key differs the file
    is rebuilt by a task and, until then, the previous one is served with its build time.
    """

    class Kind(models.TextChoices):
        OCDS = "ocds", _("OCDS release package")
        # The package split into release files; the row's file is their index (JSON).
        OCDS_SPLIT = "ocds_split", _("OCDS release files (index)")
        PRICE_CUTS = "price_cuts", _("Price-cut analysis (.xlsx)")
        PRICE_CUTS_OFFICE = "price_cuts_office", _("Price-cut analysis with hospitals (.xlsx)")
        # The analysis pages' tables and charts (JSON), public and the office's.
        ANALYSIS = "analysis", _("Price-cut analysis page")
        ANALYSIS_OFFICE = "analysis_office", _("Price-cut analysis page with hospitals")

    round = models.ForeignKey(
        Round, on_delete=models.CASCADE, related_name="open_data_files", verbose_name=_("round")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # The workbooks are written in the reader's language; the OCDS package has none ("").
    language = models.CharField(_("language"), max_length=8, blank=True, default="")
    file = models.FileField(_("file"), upload_to="open-data/%Y/", blank=True, default="")
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, default="")
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    inputs_key = models.CharField(max_length=64, blank=True, default="")
    built_at = models.DateTimeField(_("built at"), null=True, blank=True)
    # The key a build was last queued for, and when: one build per change, not per request.
    requested_key = models.CharField(max_length=64, blank=True, default="")
    requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("open-data file")
        verbose_name_plural = _("open-data files")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "kind", "language"], name="open_data_one_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of round {self.round_id} ({self.built_at})"

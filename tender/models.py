"""A round's procurement document (招标文件), its amendments (补遗) and the bidders'
clarification questions (答疑).

The document is published when bidding opens (``procurement.services.round_is_published``):
version 1 is what the round then holds (rules, periods, timetable, items, specifications,
ceilings, pooled demand); every amendment publishes the next version together with a
numbered notice listing each change, old value -> new value. Nothing here is ever updated
but a clarification's answer (once) and a version's rendered PDFs (once per language).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from catalog.models import Specification
from common.i18n import localized
from procurement.models import Round, RoundItem
from tender.changes import ChangeKind


class Amendment(models.Model):
    """A numbered amendment notice (补遗公告) of a round: its changes are ``changes``.

    ``material`` is true when a change alters what bidders price (``tender.changes``): such
    an amendment leaves at least the rule set's ``amendment_notice_days`` before the bid
    deadline (moving the deadline if needed), and bids on what it touches must be
    re-confirmed (``tender.selectors.reconfirmation_required_since``).
    """

    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="amendments", verbose_name=_("round")
    )
    number = models.PositiveIntegerField(_("notice number"))
    reason = models.TextField(_("reason"))
    reason_en = models.TextField(_("reason (English)"), blank=True)
    material = models.BooleanField(_("changes what bidders price"), default=False)
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        ordering = ["round", "number"]
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")
        constraints = [
            models.UniqueConstraint(fields=["round", "number"], name="amendment_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="amendment_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.round_id} No. {self.number}"

    @property
    def display_reason(self) -> str:
        return localized(self.reason, self.reason_en)


class AmendmentChange(models.Model):
    """One change of an amendment: what, old value -> new value (as published, text).

    ``round_item``/``specification`` say what it touches (both empty: the whole round);
    ``automatic`` marks what the rules changed as a consequence (the bid deadline moved to
    leave the minimum period after a material amendment).
    """

    amendment = models.ForeignKey(Amendment, on_delete=models.CASCADE, related_name="changes")
    position = models.PositiveIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=20, choices=ChangeKind.choices)
    field = models.CharField(_("field"), max_length=40, blank=True)
    round_item = models.ForeignKey(
        RoundItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="amendment_changes",
        verbose_name=_("round item"),
    )
    specification = models.ForeignKey(
        Specification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("specification"),
    )
    old_value = models.CharField(_("old value"), max_length=40, blank=True)
    new_value = models.CharField(_("new value"), max_length=40)
    material = models.BooleanField(_("changes what bidders price"))
    automatic = models.BooleanField(_("made by the rules"), default=False)

    class Meta:
        ordering = ["amendment", "position"]
        verbose_name = _("amendment change")
        verbose_name_plural = _("amendment changes")
        constraints = [
            models.UniqueConstraint(
                fields=["amendment", "position"], name="amendment_change_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(specification__isnull=True) | Q(round_item__isnull=False),
                name="amendment_change_specification_has_item",
            ),
        ]
        indexes = [models.Index(fields=["round_item", "specification"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.field}: {self.old_value} -> {self.new_value}"


class ProcurementDocumentVersion(models.Model):
    """One published version of a round's procurement document.

    ``content`` is the structured document (``tender.content``); its SHA-256 is printed on
    every page of the PDFs and returned by the API, so a reader can check that the PDF,
    the page and the API say the same. Version 1 has no amendment; version n + 1 is
    published by amendment n.
    """

    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="document_versions", verbose_name=_("round")
    )
    number = models.PositiveIntegerField(_("version"))
    amendment = models.OneToOneField(
        Amendment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="document_version",
        verbose_name=_("amendment"),
    )
    published_at = models.DateTimeField(_("published at"))
    content = models.JSONField(_("content"))
    content_sha256 = models.CharField(_("SHA-256 of the content"), max_length=64)

    class Meta:
        ordering = ["round", "number"]
        verbose_name = _("procurement document version")
        verbose_name_plural = _("procurement document versions")
        constraints = [
            models.UniqueConstraint(fields=["round", "number"], name="document_version_unique"),
            models.CheckConstraint(
                condition=(Q(number=1) & Q(amendment__isnull=True))
                | (Q(number__gt=1) & Q(amendment__isnull=False)),
                name="document_version_first_has_no_amendment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id} v{self.number}"


class DocumentPdf(models.Model):
    """A version of the procurement document rendered to PDF in one language."""

    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    version = models.ForeignKey(
        ProcurementDocumentVersion, on_delete=models.CASCADE, related_name="pdfs"
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    content = models.BinaryField(_("PDF"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    generated_at = models.DateTimeField(_("generated at"))

    class Meta:
        ordering = ["version", "language"]
        verbose_name = _("procurement document PDF")
        verbose_name_plural = _("procurement document PDFs")
        constraints = [
            models.UniqueConstraint(fields=["version", "language"], name="document_pdf_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.language}"


class Clarification(models.Model):
    """A manufacturer's question on a round's documents, and the office's published answer.

    Who asked is known to the office alone: the published question (``published_question``,
    the office's wording, which may leave out anything that names the asker) and the answer
    are shown to every bidder and on the public round page, without the asker.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for an answer")
        ANSWERED = "answered", _("Answered and published")

    round = models.ForeignKey(
        Round, on_delete=models.PROTECT, related_name="clarifications", verbose_name=_("round")
    )
    round_item = models.ForeignKey(
        RoundItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clarifications",
        verbose_name=_("item"),
    )
    asked_by_organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", verbose_name=_("asked by")
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    question = models.TextField(_("question"))
    asked_at = models.DateTimeField(_("asked at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Set when the answer is published: the clarification notice's number in the round.
    number = models.PositiveIntegerField(_("clarification number"), null=True, blank=True)
    published_question = models.TextField(_("question as published"), blank=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["round", "-asked_at", "-id"]
        verbose_name = _("clarification")
        verbose_name_plural = _("clarifications")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "number"],
                condition=Q(number__isnull=False),
                name="clarification_number_unique",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="pending") & Q(number__isnull=True) & Q(answered_at__isnull=True)
                )
                | (
                    Q(status="answered")
                    & Q(number__isnull=False)
                    & Q(answered_at__isnull=False)
                    & ~Q(answer="")
                    & ~Q(published_question="")
                ),
                name="clarification_answered_is_published",
            ),
        ]
        indexes = [models.Index(fields=["round", "asked_by_organization"])]

    def __str__(self) -> str:
        return f"{self.round_id} Q{self.pk}"

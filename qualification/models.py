"""Supplier registration and qualification documents (docs/qualification.md).

A new organization asks to register (``RegistrationRequest``); the office approves, which
creates the organization and its first user. An organization uploads typed qualification
documents (``QualificationDocument``: number, issuer, validity dates, a PDF or image kept
through Django's storage); the office approves, rejects with a reason or asks for more,
and every step is a ``DocumentReview`` row (who, when, what). ``RoundQualificationRule``
says whether a round admits only qualified bidders (no row: the setting
``JICAI_QUALIFICATION_REQUIRED``, on by default; the migration switched it off for the
rounds that existed before it).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Region, validate_social_credit_code
from catalog.models import Product
from procurement.models import Round


class DocumentKind(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    DRUG_REGISTRATION = "drug_registration", _("Drug registration certificate")
    DEVICE_REGISTRATION = "device_registration", _("Medical device registration certificate")
    PRODUCTION_LICENCE = "production_licence", _("Production licence")
    GMP = "gmp", _("GMP certificate")
    CONSISTENCY_EVALUATION = "consistency_evaluation", _("Consistency evaluation approval")
    ORIGINATOR = "originator", _("Originator (reference product) status")
    AUTHORISATION_LETTER = "authorisation_letter", _("Authorisation letter")
    PRACTICE_LICENCE = "practice_licence", _("Medical institution practising licence")


# Documents about one product, and the one about one user.
PRODUCT_KINDS = frozenset(
    {
        DocumentKind.DRUG_REGISTRATION,
        DocumentKind.DEVICE_REGISTRATION,
        DocumentKind.CONSISTENCY_EVALUATION,
        DocumentKind.ORIGINATOR,
    }
)
USER_KINDS = frozenset({DocumentKind.AUTHORISATION_LETTER})


class RegistrationRequest(models.Model):
    """A new manufacturer or hospital asking to use the platform; the office decides."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    kind = models.CharField(
        _("kind"),
        max_length=16,
        choices=[
            (Organization.Kind.MANUFACTURER.value, Organization.Kind.MANUFACTURER.label),
            (Organization.Kind.HOSPITAL.value, Organization.Kind.HOSPITAL.label),
        ],
    )
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    social_credit_code = models.CharField(
        _("unified social credit code"), max_length=18, validators=[validate_social_credit_code]
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="+"
    )
    hospital_grade = models.PositiveSmallIntegerField(
        _("hospital grade"), choices=Organization.Grade.choices, null=True, blank=True
    )
    contact_name = models.CharField(_("contact person"), max_length=100)
    email = models.EmailField(_("email"))
    username = models.CharField(_("user name"), max_length=150)
    # The first user's password, hashed as Django hashes every password.
    password = models.CharField(max_length=128)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reason = models.TextField(_("reason"), blank=True)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("registration request")
        verbose_name_plural = _("registration requests")
        constraints = [
            # One open request per code (a rejected one may be followed by a new one).
            models.UniqueConstraint(
                fields=["social_credit_code"],
                condition=Q(status="pending"),
                name="registration_one_pending_per_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.social_credit_code} {self.name}"


def _document_path(instance: QualificationDocument, filename: str) -> str:
    # The uploaded name is never used in the path: only its checked extension.
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"qualification/{instance.organization_id}/{instance.sha256[:32]}.{extension}"


class QualificationDocument(models.Model):
    """One qualification document of an organization, as uploaded and reviewed.

    A resubmission (after "more requested" or a rejection) replaces the file and the
    fields of the same row; the history is in ``reviews``.
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Waiting for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        MORE_REQUESTED = "more_requested", _("More information requested")

    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="qualification_documents",
        verbose_name=_("organization"),
    )
    kind = models.CharField(_("document type"), max_length=32, choices=DocumentKind.choices)
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="qualification_documents",
        verbose_name=_("product"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="authorisations",
        verbose_name=_("authorised user"),
    )
    number = models.CharField(_("document number"), max_length=80)
    issuer = models.CharField(_("issued by"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    file = models.FileField(_("file"), upload_to=_document_path, max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        ordering = ["organization", "kind", "valid_until", "pk"]
        verbose_name = _("qualification document")
        verbose_name_plural = _("qualification documents")
        indexes = [
            models.Index(fields=["organization", "status"], name="qualdoc_org_status"),
            models.Index(fields=["status", "valid_until"], name="qualdoc_status_until"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="qualdoc_valid_until_after_from",
                violation_error_message=_("A document cannot expire before it is valid."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def valid_on(self, day: datetime.date) -> bool:
        return self.valid_from <= day <= self.valid_until


class DocumentReview(models.Model):
    """One step of a document's history: uploaded, resubmitted, approved, rejected, more
    requested; by whom, when, and the reason or note given."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        RESUBMITTED = "resubmitted", _("Resubmitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        MORE_REQUESTED = "more_requested", _("More information requested")

    document = models.ForeignKey(
        QualificationDocument, on_delete=models.CASCADE, related_name="reviews"
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"))
    note = models.TextField(_("note"), blank=True)
    sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)

    class Meta:
        ordering = ["document", "at", "pk"]
        verbose_name = _("document review")
        verbose_name_plural = _("document reviews")

    def __str__(self) -> str:
        return f"{self.document_id} {self.action}"


class RoundQualificationRule(models.Model):
    """Whether a round admits only qualified bidders (switchable until bidding opens)."""

    round = models.OneToOneField(
        Round, on_delete=models.CASCADE, related_name="qualification_rule", verbose_name=_("round")
    )
    required = models.BooleanField(_("qualification required"))
    # The user who seals a bid for a manufacturer needs an approved authorisation letter
    # (授权委托书) naming that user, valid on the day (qualification.selectors).
    authorisation_required = models.BooleanField(
        _("authorisation letter required"), default=False, db_default=False
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("round qualification rule")
        verbose_name_plural = _("round qualification rules")

    def __str__(self) -> str:
        return f"{self.round_id}: {self.required}"

"""Users, the organizations they act for, the provincial regions, the notifications
sent to organizations, and the credentials users hold (API tokens and sign-in sessions),
which the database keeps only as digests (docs/security.md)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken

from accounts.uscc import USCCError, validate_uscc
from common.i18n import Names, localized, localized_params

USCC_MESSAGES = {
    "length": _("Invalid unified social credit code: it must be 18 characters, not %(length)s."),
    "character": _(
        "Invalid unified social credit code: character %(position)s '%(character)s' is not "
        "allowed (I, O, S, V and Z never occur)."
    ),
    "division": _(
        "Invalid unified social credit code: characters 3 to 8 must be the 6-digit "
        "administrative division code."
    ),
    "check": _(
        "Invalid unified social credit code: the check character is '%(found)s', "
        "expected '%(expected)s'."
    ),
}


def validate_social_credit_code(value: str) -> None:
    try:
        validate_uscc(value)
    except USCCError as exc:
        raise ValidationError(
            USCC_MESSAGES[exc.reason], code=f"uscc_{exc.reason}", params=exc.params
        ) from exc


class Region(models.Model):
    """A provincial-level unit (31; Xinjiang and its production corps count as one).

    Loaded by a data migration; codes are the GB/T 2260 two-digit province codes.
    """

    code = models.CharField(_("code"), max_length=2, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=32, unique=True)
    name_en = models.CharField(_("English name"), max_length=64, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    @property
    def names(self) -> Names:
        """The Chinese and the official English name (``common.i18n.display_name``)."""
        return Names(self.name_zh, self.name_en)


class Organization(models.Model):
    class Kind(models.TextChoices):
        OFFICE = "office", _("Procurement office")
        HOSPITAL = "hospital", _("Hospital")
        MANUFACTURER = "manufacturer", _("Manufacturer")

    class Grade(models.IntegerChoices):
        GRADE_1 = 1, _("Grade 1")
        GRADE_2 = 2, _("Grade 2")
        GRADE_3 = 3, _("Grade 3")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    social_credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_social_credit_code],
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="organizations"
    )
    hospital_grade = models.PositiveSmallIntegerField(
        _("hospital grade"), choices=Grade.choices, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="hospital", hospital_grade__isnull=False))
                | (~Q(kind="hospital") & Q(hospital_grade__isnull=True)),
                name="organization_grade_only_for_hospitals",
                violation_error_message=_("A hospital has a grade; other organizations do not."),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized(self.name, self.name_en)

    def clean(self) -> None:
        if self.kind == self.Kind.HOSPITAL and self.hospital_grade is None:
            raise ValidationError({"hospital_grade": _("A hospital needs a grade (1, 2 or 3).")})
        if self.kind != self.Kind.HOSPITAL and self.hospital_grade is not None:
            raise ValidationError({"hospital_grade": _("Only hospitals have a grade.")})


# The manager knox's token model adds to users (auth_token_set) is not seen by
# django-stubs, as knox has no type information.
class User(AbstractUser):  # type: ignore[django-manager-missing]
    """A person who signs in. Acts only for its own organization (none for superusers)."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="users",
        null=True,
        blank=True,
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        help_text=_("Remembered language choice; empty follows the browser."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def role(self) -> str | None:
        organization = self.organization
        return organization.kind if organization is not None else None


class Notification(models.Model):
    """An in-app notification to an organization (also sent by email to its users)."""

    class Kind(models.TextChoices):
        RESULTS_PUBLISHED = "results_published", _("Results published")
        CONTRACT_TO_CONFIRM = "contract_to_confirm", _("Contract to confirm")
        BEHIND_SCHEDULE = "behind_schedule", _("Behind schedule")
        SUPPLIER_SWITCHED = "supplier_switched", _("Supplier switched")
        # The tender app: amendments, re-confirmation, clarifications.
        AMENDMENT_PUBLISHED = "amendment_published", _("Amendment published")
        BID_RECONFIRM = "bid_reconfirm", _("Bid to re-confirm")
        QUESTION_RECEIVED = "question_received", _("Question received")
        CLARIFICATION_PUBLISHED = "clarification_published", _("Clarification published")
        # The round's turns (procurement.notices, awards' province selection).
        DEMAND_OPEN = "demand_open", _("Demand declaration open")
        DEMAND_CLOSING = "demand_closing", _("Demand declaration closing")
        DEMAND_CLOSED = "demand_closed", _("Demand declaration closed")
        BIDDING_OPEN = "bidding_open", _("Bidding open")
        BIDDING_CLOSING = "bidding_closing", _("Bidding closing")
        BIDS_OPENED = "bids_opened", _("Bids opened")
        SELECTION_TURN = "selection_turn", _("Your turn to choose provinces")
        # The qualification app: the office's review of a document, and expiry warnings.
        QUALIFICATION_REVIEWED = "qualification_reviewed", _("Qualification document reviewed")
        QUALIFICATION_EXPIRING = "qualification_expiring", _("Qualification document expiring")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    # Message ids (English) and their parameters, translated when shown or emailed.
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    params = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=300, blank=True, default="")
    # The same event never notifies the same organization twice (idempotent senders).
    dedupe_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # Set when the action the notice asks for has been taken (demand declared, bid
    # sealed, province chosen, contract confirmed); a notice asking nothing stays empty.
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], name="notification_unique_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.subject}"

    @property
    def subject_text(self) -> str:
        return gettext(self.subject) % localized_params(self.params)

    @property
    def body_text(self) -> str:
        return gettext(self.body) % localized_params(self.params)


class SigningKey(models.Model):
    """A user's public signing key (ECDSA P-256), by which the platform verifies the bids
    and contract confirmations the user signs (``accounts.signing``, docs/signatures.md).

    Either generated in the user's browser (WebCrypto; the private key never leaves the
    device) or taken from an X.509 certificate the organization uploads, whose chain was
    verified against the configured trust anchors when it was registered. The platform
    holds only public keys: it cannot sign for anybody.
    """

    class Kind(models.TextChoices):
        BROWSER = "browser", _("Key generated in the browser")
        CERTIFICATE = "certificate", _("X.509 certificate")

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="signing_keys", verbose_name=_("user")
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="signing_keys",
        verbose_name=_("organization"),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    # DER SubjectPublicKeyInfo; the fingerprint is the SHA-256 (hex) of these bytes.
    public_key = models.BinaryField(_("public key (SubjectPublicKeyInfo, DER)"))
    fingerprint = models.CharField(_("key fingerprint (SHA-256)"), max_length=64, unique=True)
    certificate = models.TextField(_("certificate (PEM)"), blank=True)
    subject = models.CharField(_("certificate subject"), max_length=300, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_reason = models.CharField(_("reason for revocation"), max_length=200, blank=True)

    class Meta:
        ordering = ["user", "-created_at", "-id"]
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")),
                name="signing_key_valid_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.name} ({self.fingerprint[:16]})"

    @property
    def short_fingerprint(self) -> str:
        """The first 16 hex digits in groups of four, as pages and PDFs print it."""
        return " ".join(self.fingerprint[i : i + 4] for i in range(0, 16, 4))


class ApiToken(AbstractAuthToken):
    """A named API token with an expiry (django-rest-knox's token model, swapped in by the
    setting ``KNOX_TOKEN_MODEL``).

    The token itself is shown once, when it is created (``accounts.services.api_token_create``);
    the database keeps only its SHA-512 ``digest`` (the primary key) and ``token_key``, the
    token's first 15 characters (the public ``jicai_`` prefix and 9 random hex characters),
    by which the owner recognises it in the list. Revoking a token deletes its row.
    """

    name: models.CharField[str, str] = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="api_token_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.name} ({self.token_key}…)"


class HashedSession(AbstractBaseSession):
    """A sign-in session whose primary key is the SHA-256 digest of the session key.

    The browser's cookie holds the session key; the database only its digest, so a copy of
    the table signs nobody in (``accounts.sessions.SessionStore``).
    """

    session_key = models.CharField(
        _("session key digest (SHA-256)"), max_length=64, primary_key=True
    )

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    @classmethod
    def get_session_store_class(cls) -> type:
        from accounts.sessions import SessionStore

        return SessionStore

"""State changes of the qualification app (docs/qualification.md).

Each service validates, then changes state in one transaction. Reviews lock the document
row (``select_for_update``) and check its status, so two reviewers clicking at once
produce one decision and a clear refusal; a registration is decided under its row lock.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, Region, User
from accounts.services import organization_upsert
from accounts.uscc import USCCError, validate_uscc
from catalog.models import Product
from procurement.models import Round
from qualification.models import (
    PRODUCT_KINDS,
    USER_KINDS,
    DocumentKind,
    DocumentReview,
    QualificationDocument,
    RegistrationRequest,
    RoundQualificationRule,
)
from qualification.notices import resubmitted_notices_done, review_notify

# What a qualification document may be: its extension, and the bytes it must start with.
ALLOWED_TYPES = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
}
HOSPITAL_KINDS = frozenset(
    {
        DocumentKind.BUSINESS_LICENCE,
        DocumentKind.PRACTICE_LICENCE,
        DocumentKind.AUTHORISATION_LETTER,
    }
)


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    extension: str
    content_type: str
    sha256: str


def _max_bytes() -> int:
    return int(settings.JICAI_QUALIFICATION_MAX_BYTES)


def document_file_check(file: UploadedFile) -> CheckedFile:
    """Read an uploaded file, at most one byte past the limit, and check its type by its
    extension and its first bytes. Raises ValidationError saying what is wrong."""
    limit = _max_bytes()
    name = file.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ALLOWED_TYPES:
        raise ValidationError(
            _("The file must be a PDF, PNG or JPEG (.pdf, .png, .jpg), not “%(name)s”.")
            % {"name": name[:80]},
            code="file_type",
        )
    if file.size is not None and file.size > limit:
        raise ValidationError(_file_too_large(limit), code="file_size")
    chunks = []
    read = 0
    for chunk in file.chunks():
        chunks.append(chunk)
        read += len(chunk)
        if read > limit:
            raise ValidationError(_file_too_large(limit), code="file_size")
    content = b"".join(chunks)
    if not content:
        raise ValidationError(_("The file is empty."), code="file_empty")
    content_type, magics = ALLOWED_TYPES[extension]
    if not content.startswith(magics):
        raise ValidationError(
            _("The file's content is not a %(type)s file; upload the document itself.")
            % {"type": extension.upper()},
            code="file_content",
        )
    return CheckedFile(content, extension, content_type, hashlib.sha256(content).hexdigest())


def _file_too_large(limit: int) -> str:
    return _("The file is larger than %(mb)s MB; scan it at a lower resolution.") % {
        "mb": f"{limit / (1024 * 1024):.0f}"
    }


# --- registration -------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationDraft:
    kind: str
    name: str
    name_en: str
    social_credit_code: str
    region: Region
    hospital_grade: int | None
    contact_name: str
    email: str
    username: str
    password: str


def registration_submit(*, draft: RegistrationDraft) -> RegistrationRequest:
    """Record a registration request for the office to decide. Refused (ValidationError,
    by field) for an invalid or already registered code, a taken user name, a weak
    password, a hospital without grade or a manufacturer with one."""
    errors: dict[str, list[str]] = {}
    try:
        code = validate_uscc(draft.social_credit_code)
    except USCCError:
        code = ""
        errors["social_credit_code"] = [_("This is not a valid unified social credit code.")]
    if draft.kind not in (Organization.Kind.MANUFACTURER, Organization.Kind.HOSPITAL):
        errors["kind"] = [_("Only manufacturers and hospitals register here.")]
    if draft.kind == Organization.Kind.HOSPITAL and draft.hospital_grade is None:
        errors["hospital_grade"] = [_("A hospital needs a grade (1, 2 or 3).")]
    if draft.kind != Organization.Kind.HOSPITAL and draft.hospital_grade is not None:
        errors["hospital_grade"] = [_("Only hospitals have a grade.")]
    if code and Organization.objects.filter(social_credit_code=code).exists():
        errors["social_credit_code"] = [
            _("An organization with this code is already registered; ask its users to add you.")
        ]
    elif (
        code
        and RegistrationRequest.objects.filter(
            social_credit_code=code, status=RegistrationRequest.Status.PENDING
        ).exists()
    ):
        errors["social_credit_code"] = [
            _("A registration with this code is already waiting for the office's review.")
        ]
    if (
        User.objects.filter(username__iexact=draft.username).exists()
        or RegistrationRequest.objects.filter(
            username__iexact=draft.username, status=RegistrationRequest.Status.PENDING
        ).exists()
    ):
        errors["username"] = [_("This user name is taken; choose another.")]
    try:
        validate_password(draft.password, User(username=draft.username, email=draft.email))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return RegistrationRequest.objects.create(
                kind=draft.kind,
                name=draft.name,
                name_en=draft.name_en,
                social_credit_code=code,
                region=draft.region,
                hospital_grade=draft.hospital_grade,
                contact_name=draft.contact_name,
                email=draft.email,
                username=draft.username,
                password=make_password(draft.password),
            )
    except IntegrityError:  # the same code sent twice at once: one pending request
        raise ValidationError(
            {
                "social_credit_code": [
                    _("A registration with this code is already waiting for the office's review.")
                ]
            }
        ) from None


def _lock_pending(request: RegistrationRequest) -> RegistrationRequest:
    locked = RegistrationRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != RegistrationRequest.Status.PENDING:
        raise ValidationError(
            _("This registration was already decided (%(status)s).")
            % {"status": locked.get_status_display()},
            code="decided",
        )
    return locked


@transaction.atomic
def registration_approve(*, request: RegistrationRequest, by: User) -> Organization:
    """Create the organization and its first user (with the password given at
    registration); the user may then sign in and upload the qualification documents."""
    _require_office(by)
    locked = _lock_pending(request)
    if Organization.objects.filter(social_credit_code=locked.social_credit_code).exists():
        raise ValidationError(
            _("An organization with this code is already registered; reject this request."),
            code="code_taken",
        )
    if User.objects.filter(username__iexact=locked.username).exists():
        raise ValidationError(
            _("The user name %(username)s is taken now; reject this request with that reason.")
            % {"username": locked.username},
            code="username_taken",
        )
    organization, _created = organization_upsert(
        kind=locked.kind,
        name=locked.name,
        name_en=locked.name_en,
        social_credit_code=locked.social_credit_code,
        region=locked.region,
        hospital_grade=locked.hospital_grade,
    )
    try:
        with transaction.atomic():
            User.objects.create(
                username=locked.username,
                email=locked.email,
                first_name=locked.contact_name[:150],
                password=locked.password,
                organization=organization,
            )
    except IntegrityError:
        raise ValidationError(
            _("The user name %(username)s is taken now; reject this request with that reason.")
            % {"username": locked.username},
            code="username_taken",
        ) from None
    locked.status = RegistrationRequest.Status.APPROVED
    locked.reviewed_by = by
    locked.reviewed_at = timezone.now()
    locked.organization = organization
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "organization"])
    return organization


@transaction.atomic
def registration_reject(*, request: RegistrationRequest, by: User, reason: str) -> None:
    _require_office(by)
    if not reason.strip():
        raise ValidationError(_("Say why the registration is rejected."), code="no_reason")
    locked = _lock_pending(request)
    locked.status = RegistrationRequest.Status.REJECTED
    locked.reviewed_by = by
    locked.reviewed_at = timezone.now()
    locked.reason = reason.strip()
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "reason"])


def _require_office(user: User) -> None:
    organization = user.organization
    if organization is None or organization.kind != Organization.Kind.OFFICE:
        raise ValidationError(_("Only the procurement office reviews."), code="not_office")


# --- documents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentDraft:
    kind: str
    number: str
    issuer: str
    valid_from: datetime.date
    valid_until: datetime.date
    product: Product | None = None
    user: User | None = None


def _check_draft(*, organization: Organization, draft: DocumentDraft) -> None:
    errors: dict[str, list[str]] = {}
    if draft.kind not in DocumentKind.values:
        errors["kind"] = [_("Choose a document type.")]
    elif organization.kind == Organization.Kind.HOSPITAL and draft.kind not in HOSPITAL_KINDS:
        errors["kind"] = [_("A hospital uploads its licences and authorisation letters only.")]
    elif organization.kind == Organization.Kind.MANUFACTURER and (
        draft.kind == DocumentKind.PRACTICE_LICENCE
    ):
        errors["kind"] = [_("A practising licence is a hospital's document.")]
    if draft.kind in PRODUCT_KINDS:
        if draft.product is None:
            errors["product"] = [_("This document is about one product: choose it.")]
        elif draft.product.manufacturer_id != organization.pk:
            errors["product"] = [_("Choose one of your own products.")]
    elif draft.product is not None:
        errors["product"] = [_("This document is about the organization, not a product.")]
    if draft.kind in USER_KINDS:
        if draft.user is None:
            errors["user"] = [_("Choose the user this letter authorises.")]
        elif draft.user.organization_id != organization.pk:
            errors["user"] = [_("Choose a user of your own organization.")]
    elif draft.user is not None:
        errors["user"] = [_("Only an authorisation letter names a user.")]
    if not draft.number.strip():
        errors["number"] = [_("Enter the document number.")]
    if not draft.issuer.strip():
        errors["issuer"] = [_("Enter who issued the document.")]
    if draft.valid_until < draft.valid_from:
        errors["valid_until"] = [_("A document cannot expire before it is valid.")]
    if errors:
        raise ValidationError(errors)


def _organization_of(user: User) -> Organization:
    organization = user.organization
    if organization is None or organization.kind not in (
        Organization.Kind.MANUFACTURER,
        Organization.Kind.HOSPITAL,
    ):
        raise ValidationError(
            _("Only manufacturers and hospitals upload qualification documents."),
            code="not_party",
        )
    return organization


@transaction.atomic
def document_upload(*, draft: DocumentDraft, file: UploadedFile, by: User) -> QualificationDocument:
    """Store a new qualification document (waiting for review). Nothing is written when
    any field or the file is refused."""
    organization = _organization_of(by)
    _check_draft(organization=organization, draft=draft)
    checked = document_file_check(file)
    now = timezone.now()
    document = QualificationDocument(
        organization=organization,
        kind=draft.kind,
        product=draft.product,
        user=draft.user,
        number=draft.number.strip(),
        issuer=draft.issuer.strip(),
        valid_from=draft.valid_from,
        valid_until=draft.valid_until,
        content_type=checked.content_type,
        size=len(checked.content),
        sha256=checked.sha256,
        uploaded_by=by,
        uploaded_at=now,
    )
    _store(document, checked)
    DocumentReview.objects.create(
        document=document,
        action=DocumentReview.Action.SUBMITTED,
        by=by,
        at=now,
        sha256=checked.sha256,
    )
    return document


def _store(document: QualificationDocument, checked: CheckedFile) -> None:
    """Store the file (Django's default storage), then save the row; a file whose row is
    not saved is removed again. Everything was validated before, so this rarely fails."""
    document.file.save(f"document.{checked.extension}", ContentFile(checked.content), save=False)
    try:
        with transaction.atomic():
            document.save()
    except Exception:
        if not QualificationDocument.objects.filter(file=document.file.name).exists():
            document.file.storage.delete(document.file.name)
        raise


@transaction.atomic
def document_resubmit(
    *, document: QualificationDocument, draft: DocumentDraft, file: UploadedFile, by: User
) -> QualificationDocument:
    """Replace a rejected document or one the office asked more about with a new file and
    fields; it waits for review again. An approved or waiting document is not replaced:
    upload a new one instead (an approved one stays on record)."""
    organization = _organization_of(by)
    locked = QualificationDocument.objects.select_for_update().get(pk=document.pk)
    if locked.organization_id != organization.pk:
        raise ValidationError(_("This document belongs to another organization."), code="not_owner")
    if locked.status not in (
        QualificationDocument.Status.REJECTED,
        QualificationDocument.Status.MORE_REQUESTED,
    ):
        raise ValidationError(
            _(
                "This document is %(status)s: it can be replaced only after the office rejects "
                "it or asks for more; upload a new document instead."
            )
            % {"status": locked.get_status_display()},
            code="not_resubmittable",
        )
    draft = DocumentDraft(
        kind=locked.kind,
        number=draft.number,
        issuer=draft.issuer,
        valid_from=draft.valid_from,
        valid_until=draft.valid_until,
        product=locked.product,
        user=locked.user,
    )
    _check_draft(organization=organization, draft=draft)
    checked = document_file_check(file)
    now = timezone.now()
    locked.number = draft.number.strip()
    locked.issuer = draft.issuer.strip()
    locked.valid_from = draft.valid_from
    locked.valid_until = draft.valid_until
    locked.content_type = checked.content_type
    locked.size = len(checked.content)
    locked.sha256 = checked.sha256
    locked.status = QualificationDocument.Status.SUBMITTED
    locked.uploaded_by = by
    locked.uploaded_at = now
    _store(locked, checked)
    DocumentReview.objects.create(
        document=locked,
        action=DocumentReview.Action.RESUBMITTED,
        by=by,
        at=now,
        sha256=checked.sha256,
    )
    resubmitted_notices_done(document=locked)
    return locked


REVIEW_ACTIONS: dict[str, str] = {
    DocumentReview.Action.APPROVED: QualificationDocument.Status.APPROVED,
    DocumentReview.Action.REJECTED: QualificationDocument.Status.REJECTED,
    DocumentReview.Action.MORE_REQUESTED: QualificationDocument.Status.MORE_REQUESTED,
}


@transaction.atomic
def document_review(
    *, document: QualificationDocument, action: str, note: str, by: User
) -> QualificationDocument:
    """The office's decision on a document waiting for review: approve, reject (a reason
    is required) or ask for more (say what). Recorded in the document's history."""
    _require_office(by)
    if action not in REVIEW_ACTIONS:
        raise ValidationError(_("Choose approve, reject or ask for more."), code="action")
    note = note.strip()
    if action != DocumentReview.Action.APPROVED and not note:
        raise ValidationError(
            _("Say why the document is rejected, or what more is needed."), code="no_reason"
        )
    locked = QualificationDocument.objects.select_for_update().get(pk=document.pk)
    if locked.status != QualificationDocument.Status.SUBMITTED:
        raise ValidationError(
            _(
                "This document is %(status)s, not waiting for review: it can be reviewed again "
                "when its organization resubmits it."
            )
            % {"status": locked.get_status_display()},
            code="not_submitted",
        )
    locked.status = REVIEW_ACTIONS[action]
    locked.save(update_fields=["status"])
    review = DocumentReview.objects.create(
        document=locked, action=action, by=by, at=timezone.now(), note=note, sha256=locked.sha256
    )
    review_notify(document=locked, review=review)
    return locked


# --- rounds -------------------------------------------------------------------------------


@transaction.atomic
def _own_round_before_bidding(*, round_: Round, by: User, too_late: str) -> Round:
    """The office's own round, locked, while its bidding rules may still change (before
    bidding opens: bidders prepare under the rules published with the round)."""
    _require_office(by)
    locked = Round.objects.select_for_update().get(pk=round_.pk)
    if locked.office_id != by.organization_id:
        raise ValidationError(_("This round belongs to another office."), code="not_owner")
    if locked.status not in (
        Round.Status.DRAFT,
        Round.Status.DEMAND_OPEN,
        Round.Status.DEMAND_CLOSED,
    ):
        raise ValidationError(
            too_late % {"code": locked.code, "status": locked.get_status_display()},
            code="too_late",
        )
    return locked


def round_qualification_set(*, round_: Round, required: bool, by: User) -> RoundQualificationRule:
    """Switch a round's qualification requirement; only its office, and only before
    bidding opens (bidders prepare under the rule published with the round)."""
    locked = _own_round_before_bidding(
        round_=round_,
        by=by,
        too_late=_(
            "Round %(code)s is %(status)s: its qualification requirement can be changed "
            "only before bidding opens."
        ),
    )
    rule, _created = RoundQualificationRule.objects.update_or_create(
        round=locked, defaults={"required": required, "changed_by": by}
    )
    return rule


@transaction.atomic
def round_requirements_set(
    *,
    round_: Round,
    by: User,
    authorisation: bool | None = None,
    signatures: bool | None = None,
) -> Round:
    """Switch a round's authorisation-letter requirement and its signature requirement
    (docs/signatures.md); only its office, only before bidding opens, like
    ``round_qualification_set``. ``None`` leaves a requirement as it is."""
    locked = _own_round_before_bidding(
        round_=round_,
        by=by,
        too_late=_(
            "Round %(code)s is %(status)s: its requirements can be changed only before "
            "bidding opens."
        ),
    )
    if authorisation is not None:
        rule = RoundQualificationRule.objects.filter(round=locked).first()
        if rule is None:
            rule = RoundQualificationRule(
                round=locked, required=bool(settings.JICAI_QUALIFICATION_REQUIRED)
            )
        rule.authorisation_required = authorisation
        rule.changed_by = by
        rule.save()
    if signatures is not None:
        Round.objects.filter(pk=locked.pk).update(signatures_required=signatures)
        locked.signatures_required = signatures
    return locked

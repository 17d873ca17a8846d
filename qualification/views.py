"""Pages of the qualification app, under /qualification/ (docs/qualification.md):
registration (public), an organization's documents and their upload, one document with
its history, its file, the office's review page and decisions."""

from __future__ import annotations

from typing import cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import office_required, role_required
from accounts.models import Organization, User
from qualification import selectors, services
from qualification.forms import (
    DocumentForm,
    RegistrationDecisionForm,
    RegistrationForm,
    ResubmitForm,
    ReviewForm,
    RoundRuleForm,
)
from qualification.models import QualificationDocument

party_required = role_required(Organization.Kind.MANUFACTURER, Organization.Kind.HOSPITAL)
signed_in_required = role_required(
    Organization.Kind.OFFICE, Organization.Kind.MANUFACTURER, Organization.Kind.HOSPITAL
)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _max_mb() -> int:
    return max(1, int(settings.JICAI_QUALIFICATION_MAX_BYTES) // (1024 * 1024))


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's refusal on the form: by field where the form has that field."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def _document(request: HttpRequest, pk: int) -> QualificationDocument:
    try:
        return selectors.document_get_for_user(user=_user(request), pk=pk)
    except QualificationDocument.DoesNotExist as exc:
        raise Http404(_("No such document.")) from exc


def register(request: HttpRequest) -> HttpResponse:
    """A new manufacturer or hospital asks to register; the office approves it."""
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.registration_submit(draft=form.draft())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Your registration is sent to the procurement office. When it is approved "
                    "you can sign in with the user name and password you chose and upload "
                    "your qualification documents."
                ),
            )
            return redirect("accounts:login")
    return render(
        request,
        "qualification/register.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@party_required
def documents(request: HttpRequest) -> HttpResponse:
    """An organization's own documents and their status, and the upload form."""
    organization = _user(request).organization
    assert organization is not None
    form = DocumentForm(
        request.POST or None, request.FILES or None, organization=organization, max_mb=_max_mb()
    )
    if request.method == "POST" and form.is_valid():
        try:
            document = services.document_upload(
                draft=form.draft(), file=form.cleaned_data["file"], by=_user(request)
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(kind)s %(number)s is uploaded and waits for the office's review.")
                % {"kind": document.get_kind_display(), "number": document.number},
            )
            return redirect("qualification:documents")
    return render(
        request,
        "qualification/documents.html",
        {
            "form": form,
            "documents": selectors.documents_of(organization=organization),
            "organization": organization,
        },
        status=400 if form.errors else 200,
    )


@signed_in_required
def document(request: HttpRequest, pk: int) -> HttpResponse:
    """One document with its history; the office's review form or the owner's resubmit."""
    doc = _document(request, pk)
    is_office = _user(request).role == Organization.Kind.OFFICE
    waiting = doc.status == QualificationDocument.Status.SUBMITTED
    resubmittable = doc.status in (
        QualificationDocument.Status.REJECTED,
        QualificationDocument.Status.MORE_REQUESTED,
    )
    return render(
        request,
        "qualification/document.html",
        {
            "document": doc,
            "history": doc.reviews.select_related("by").order_by("at", "pk"),
            "is_office": is_office,
            "review_form": ReviewForm() if is_office and waiting else None,
            "resubmit_form": ResubmitForm(
                max_mb=_max_mb(),
                initial={
                    "number": doc.number,
                    "issuer": doc.issuer,
                    "valid_from": doc.valid_from,
                    "valid_until": doc.valid_until,
                },
            )
            if not is_office and resubmittable
            else None,
        },
    )


@signed_in_required
def document_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The uploaded file, to its organization and the office only (never public)."""
    doc = _document(request, pk)
    try:
        handle = doc.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("The file of this document is missing from the storage.")) from exc
    # FileResponse streams; the role decorator is typed for HttpResponse.
    response = cast(HttpResponse, FileResponse(handle, content_type=doc.content_type))
    extension = doc.file.name.rsplit(".", 1)[-1]
    response["Content-Disposition"] = f'inline; filename="document-{doc.pk}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Content-SHA256"] = doc.sha256
    return response


@office_required
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    doc = _document(request, pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.document_review(
                document=doc,
                action=form.cleaned_data["action"],
                note=form.cleaned_data["note"],
                by=_user(request),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            doc.refresh_from_db()
            messages.success(
                request,
                _("%(kind)s %(number)s: %(status)s.")
                % {
                    "kind": doc.get_kind_display(),
                    "number": doc.number,
                    "status": doc.get_status_display(),
                },
            )
            return redirect("qualification:document", pk=doc.pk)
    return _document_refused(request, doc, review_form=form)


@party_required
@require_POST
def resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    doc = _document(request, pk)
    form = ResubmitForm(request.POST, request.FILES, max_mb=_max_mb())
    if form.is_valid():
        try:
            services.document_resubmit(
                document=doc,
                draft=form.draft(doc.kind),
                file=form.cleaned_data["file"],
                by=_user(request),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The document is resubmitted for review."))
            return redirect("qualification:document", pk=doc.pk)
    return _document_refused(request, doc, resubmit_form=form)


def _document_refused(
    request: HttpRequest,
    doc: QualificationDocument,
    *,
    review_form: ReviewForm | None = None,
    resubmit_form: ResubmitForm | None = None,
) -> HttpResponse:
    """The document page again, with the refused form and its errors (400)."""
    return render(
        request,
        "qualification/document.html",
        {
            "document": doc,
            "history": doc.reviews.select_related("by").order_by("at", "pk"),
            "is_office": review_form is not None,
            "review_form": review_form,
            "resubmit_form": resubmit_form,
        },
        status=400,
    )


@office_required
def office(request: HttpRequest) -> HttpResponse:
    """The office's page: registrations and documents to review, documents expiring
    within 30 days, and each of its rounds' qualification requirement."""
    organization = _user(request).organization
    assert organization is not None
    return render(
        request,
        "qualification/office.html",
        {
            "registrations": selectors.registrations_pending(),
            "to_review": selectors.documents_to_review(),
            "expiring": selectors.documents_expiring(),
            "expiry_days": selectors.EXPIRY_WARNING_DAYS,
            "rounds": selectors.rounds_with_rule(office=organization),
            "requirements": selectors.rounds_with_requirements(office=organization),
        },
    )


@office_required
@require_POST
def registration_decide(request: HttpRequest, pk: int) -> HttpResponse:
    registration = selectors.registration_get(pk=pk)
    if registration is None:
        raise Http404(_("No such registration."))
    form = RegistrationDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect("qualification:office")
    try:
        if form.cleaned_data["decision"] == "approve":
            organization = services.registration_approve(request=registration, by=_user(request))
            messages.success(
                request,
                _("%(name)s is registered; its user %(username)s may sign in.")
                % {"name": organization.display_name, "username": registration.username},
            )
        else:
            services.registration_reject(
                request=registration, by=_user(request), reason=form.cleaned_data["reason"]
            )
            messages.success(
                request,
                _("The registration of %(name)s is rejected.") % {"name": registration.name},
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("qualification:office")


@office_required
@require_POST
def round_rule(request: HttpRequest, code: str) -> HttpResponse:
    organization = _user(request).organization
    assert organization is not None
    round_ = selectors.office_round_get(office=organization, code=code)
    if round_ is None:
        raise Http404(_("No such round."))
    form = RoundRuleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose required or not required."))
        return redirect("qualification:office")
    try:
        services.round_qualification_set(
            round_=round_, required=form.cleaned_data["required"], by=_user(request)
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("Round %(code)s: qualification %(state)s.")
            % {
                "code": round_.code,
                "state": _("required") if form.cleaned_data["required"] else _("not required"),
            },
        )
    return redirect("qualification:office")


@office_required
@require_POST
def round_requirements(request: HttpRequest, code: str) -> HttpResponse:
    """Switch a round's authorisation-letter or signature requirement (one per request:
    ``authorisation`` or ``signatures``, "1" or "0")."""
    organization = _user(request).organization
    assert organization is not None
    round_ = selectors.office_round_get(office=organization, code=code)
    if round_ is None:
        raise Http404(_("No such round."))
    values: dict[str, bool | None] = {}
    for name in ("authorisation", "signatures"):
        raw = request.POST.get(name)
        values[name] = None if raw not in ("0", "1") else raw == "1"
    if values["authorisation"] is None and values["signatures"] is None:
        messages.error(request, _("Choose required or not required."))
        return redirect("qualification:office")
    try:
        services.round_requirements_set(round_=round_, by=_user(request), **values)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("Round %(code)s: requirements changed.") % {"code": round_.code}
        )
    return redirect("qualification:office")

"""Pages of the tender app, under /tender/: the public round page (document, notices,
answered questions), the PDFs, a notice; the bidders' questions, the office's answers and
amendments."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.access import office_required, role_required
from accounts.models import Organization, User
from procurement import selectors as procurement_selectors
from procurement.models import Round
from procurement.periods import period_days
from tender import selectors, services
from tender.forms import AmendmentForm, AnswerForm, QuestionForm
from tender.models import Amendment, Clarification, DocumentPdf, ProcurementDocumentVersion
from tender.presentation import amendment_notice, document_number, document_view


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _published(code: str) -> Round:
    try:
        return selectors.round_get_published(code=code)
    except Round.DoesNotExist as exc:
        raise Http404(_("No published procurement document for this round.")) from exc


def _office_round(request: HttpRequest, code: str) -> Round:
    """A round of the user's office, or 404."""
    organization = _user(request).organization
    round_ = Round.objects.select_related("rule_set").filter(code=code).first()
    if round_ is None or organization is None or round_.office_id != organization.pk:
        raise Http404(_("No such round."))
    return round_


def _language() -> str:
    return "en" if translation.get_language() == "en" else "zh-hans"


def _versions(round_: Round) -> list[dict[str, Any]]:
    rows = []
    for version in selectors.document_versions(round_=round_):
        languages = {pdf.language for pdf in version.pdfs.all()}
        rows.append(
            {
                "version": version,
                "document_number": document_number(round_.code, version.number),
                "pdfs": [(code, label) for code, label in DocumentPdf.Language.choices],
                "ready": languages >= set(DocumentPdf.Language.values),
            }
        )
    return rows


def round_page(request: HttpRequest, code: str) -> HttpResponse:
    """The public round page: the current procurement document, its versions and PDFs,
    the amendment notices and the answered questions (never who asked)."""
    round_ = _published(code)
    current = selectors.document_current(round_=round_)
    assert current is not None
    organization = getattr(request.user, "organization", None)
    is_office = organization is not None and organization.pk == round_.office_id
    is_manufacturer = (
        organization is not None and organization.kind == Organization.Kind.MANUFACTURER
    )
    cutoff = selectors.question_deadline(round_=round_)
    return render(
        request,
        "tender/round.html",
        {
            "round": round_,
            "document": document_view(current, language=_language()),
            "versions": _versions(round_),
            "notices": [amendment_notice(a) for a in selectors.amendments_public(round_=round_)],
            "clarifications": selectors.clarifications_published(round_=round_),
            "question_deadline": cutoff,
            "questions_open": round_.status == Round.Status.BIDDING_OPEN
            and timezone.now() < cutoff,
            "is_office": is_office,
            "is_manufacturer": is_manufacturer,
        },
    )


def document_pdf(request: HttpRequest, code: str, number: int, language: str) -> HttpResponse:
    round_ = _published(code)
    if language not in DocumentPdf.Language.values:
        raise Http404
    try:
        version = selectors.document_version_get(round_=round_, number=number)
    except ProcurementDocumentVersion.DoesNotExist as exc:
        raise Http404 from exc
    pdf = selectors.document_pdf_get(version=version, language=language)
    if pdf is None:
        raise Http404(_("This PDF is being prepared; try again in a minute."))
    response = HttpResponse(bytes(pdf.content), content_type="application/pdf")
    filename = f"{document_number(round_.code, number)}-{language}.pdf"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-SHA256"] = pdf.sha256
    return response


def notice(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """One amendment notice (补遗公告): each change, old value -> new value."""
    round_ = _published(code)
    try:
        amendment = selectors.amendment_get_public(round_=round_, number=number)
    except Amendment.DoesNotExist as exc:
        raise Http404 from exc
    return render(
        request,
        "tender/notice.html",
        {
            "round": round_,
            "notice": amendment_notice(amendment),
            "version_number": amendment.number + 1,
            "document_number": document_number(round_.code, amendment.number + 1),
        },
    )


@role_required(Organization.Kind.OFFICE, Organization.Kind.MANUFACTURER)
def questions(request: HttpRequest, code: str) -> HttpResponse:
    """The round's office: every question, with who asked, to answer. A manufacturer: its
    own questions, and the form to ask one."""
    user = _user(request)
    organization = user.organization
    assert organization is not None
    if organization.kind == Organization.Kind.OFFICE:
        round_ = _office_round(request, code)
        if request.method == "POST":
            raise PermissionDenied(_("Only manufacturers ask questions; answer them below."))
        form = None
    else:
        round_ = _published(code)
        form = QuestionForm(request.POST or None, round_=round_)
        if request.method == "POST" and form.is_valid():
            try:
                services.clarification_ask(
                    round_=round_,
                    by=user,
                    question=form.cleaned_data["question"],
                    round_item=form.cleaned_data["round_item"],
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(
                    request,
                    _(
                        "Your question is sent to the procurement office. Its answer will be "
                        "published to every bidder without your organization's name."
                    ),
                )
                return redirect("tender:questions", code=round_.code)
    cutoff = selectors.question_deadline(round_=round_)
    return render(
        request,
        "tender/questions.html",
        {
            "round": round_,
            "form": form,
            "questions": selectors.clarification_list_for_user(user=user, round_=round_),
            "is_office": organization.kind == Organization.Kind.OFFICE,
            "question_deadline": cutoff,
            "questions_open": round_.status == Round.Status.BIDDING_OPEN
            and timezone.now() < cutoff,
        },
        status=400 if form is not None and form.errors else 200,
    )


@office_required
def answer(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    round_ = _office_round(request, code)
    try:
        clarification = selectors.clarification_get_for_office(
            user=_user(request), round_=round_, pk=pk
        )
    except Clarification.DoesNotExist as exc:
        raise Http404 from exc
    form = AnswerForm(request.POST or None, initial={"published_question": clarification.question})
    if (
        request.method == "POST"
        and clarification.status == Clarification.Status.PENDING
        and form.is_valid()
    ):
        try:
            services.clarification_answer(
                clarification=clarification,
                by=_user(request),
                answer=form.cleaned_data["answer"],
                published_question=form.cleaned_data["published_question"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            clarification.refresh_from_db()
            messages.success(
                request,
                _("Clarification No. %(number)s is published to every bidder.")
                % {"number": clarification.number},
            )
            return redirect("tender:questions", code=round_.code)
    return render(
        request,
        "tender/answer.html",
        {"round": round_, "clarification": clarification, "form": form},
        status=400 if form.errors else 200,
    )


@office_required
def amend(request: HttpRequest, code: str) -> HttpResponse:
    """Publish an amendment: the form, a preview of every change (old -> new, and whether
    the bid deadline moves), then the publication."""
    round_ = _office_round(request, code)
    round_items = procurement_selectors.round_items_with_prices(round_=round_)
    now = timezone.now()
    prices_open = round_.status == Round.Status.BIDDING_OPEN and now < round_.bid_deadline
    form = AmendmentForm(
        request.POST or None, round_=round_, round_items=round_items, prices=prices_open
    )
    preview = None
    published = selectors.round_published_at(round_=round_) is not None
    if request.method == "POST" and published and form.is_valid():
        draft = form.draft()
        try:
            if request.POST.get("action") == "publish":
                amendment = services.amendment_publish(
                    round_=round_, by=_user(request), draft=draft
                )
                messages.success(
                    request,
                    _(
                        "Amendment No. %(number)s is published; version %(version)s of the "
                        "procurement document replaces the previous one."
                    )
                    % {"number": amendment.number, "version": amendment.number + 1},
                )
                return redirect("tender:notice", code=round_.code, number=amendment.number)
            preview = services.amendment_preview(round_=round_, by=_user(request), draft=draft)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
    return render(
        request,
        "tender/amend.html",
        {
            "round": round_,
            "form": form,
            "published": published,
            "prices_open": prices_open,
            "preview": preview,
            "notice_days": period_days(round_.rule_set, "amendment_notice_days"),
        },
        status=400 if form.errors else 200,
    )

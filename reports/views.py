"""Report pages and downloads (thin: access through selectors, one service call).

Public (anonymous) pages exist only for rounds whose award is final; the office sees its
own rounds' analysis from the evaluation on; hospitals and manufacturers see their own
reports only.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import office_required, role_required
from accounts.models import Organization, User
from awards.models import EvaluationRun
from awards.selectors import provisional_rounds
from common.pagination import paginate
from procurement.models import Round
from reports import history, open_data, selectors, services
from reports.api import ocds_response
from reports.models import GenerationJob, OpenDataFile, ReportDocument

logger = logging.getLogger(__name__)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _stored_context(
    round_: Round, run: EvaluationRun, *, with_hospitals: bool, **extra: Any
) -> dict[str, Any]:
    """``_context`` from the stored analysis file (``reports.open_data``): tables and
    charts are built by a task, not per request; before the first build the page says
    the analysis is being prepared."""
    page, row = open_data.analysis_page(round_, run, with_hospitals=with_hospitals)
    if page is None:
        page = {"items": [], "provinces": [], "manufacturers": [], "hospitals": None}
        extra["analysis_pending"] = True
    return {
        "round": round_,
        "run": run,
        "totals": page.get("totals", {}),
        "items": page["items"],
        "provinces": page["provinces"],
        "manufacturers": page["manufacturers"],
        "hospitals": page["hospitals"],
        "price_chart": page.get("price_chart", ""),
        "province_chart": page.get("province_chart", ""),
        "winner_chart": page.get("winner_chart", ""),
        "analysis_built_at": row.built_at if row is not None and row.file else None,
        "analysis_stale": page.get("stale", False),
        "documents": selectors.documents_public(round_=round_),
        "provisional": provisional_rounds(round_ids=[round_.pk]).get(round_.pk, ""),
        **extra,
    }


def public_index(request: HttpRequest) -> HttpResponse:
    page_obj = paginate(request, selectors.round_list_public())
    provisional = provisional_rounds(round_ids=[r.pk for r in page_obj])
    return render(
        request,
        "reports/public_index.html",
        {"page_obj": page_obj, "provisional": provisional},
    )


def _public_downloads(round_: Round) -> list[tuple[str, str]]:
    return [
        (_("Spreadsheet of every table (.xlsx)"), reverse("reports:public-xlsx", args=[round_.pk])),
        (_("Open data: OCDS release package (JSON)"), reverse("reports:ocds", args=[round_.pk])),
        (
            _("Open data: index of the OCDS release files (JSON)"),
            reverse("reports:ocds-index", args=[round_.pk]),
        ),
    ]


def public_round(request: HttpRequest, round_id: int) -> HttpResponse:
    round_, run = selectors.round_get_public(round_id=round_id)
    return render(
        request,
        "reports/public_round.html",
        _stored_context(
            round_,
            run,
            with_hospitals=False,
            downloads=_public_downloads(round_),
            ocds_split=open_data.split_status(round_, run),
        ),
    )


def public_xlsx(request: HttpRequest, round_id: int) -> HttpResponseBase:
    """The public workbook: a stored file built by a task (``reports.open_data``)."""
    round_, run = selectors.round_get_public(round_id=round_id)
    return open_data.serve_workbook(round_, run, with_hospitals=False, suffix="price-cuts")


@office_required
def office_xlsx(request: HttpRequest, round_id: int) -> HttpResponse:
    round_, run = selectors.round_get_for_office(user=_user(request), round_id=round_id)
    # A streamed file (FileResponse), which office_required's typing does not name.
    return open_data.serve_workbook(  # type: ignore[return-value]
        round_, run, with_hospitals=True, suffix="price-cuts-office"
    )


def _pdf_response(document: ReportDocument) -> HttpResponse:
    """The document's PDF streamed from storage, shown in the browser, with its SHA-256."""
    try:
        stream = document.pdf.open("rb")
    except FileNotFoundError:
        logger.error("report document %s: its file %s is missing", document.pk, document.pdf.name)
        raise Http404 from None
    response = FileResponse(
        stream, content_type="application/pdf", as_attachment=False, filename=document.filename
    )
    response["X-Content-SHA256"] = document.sha256
    # FileResponse streams; the views are typed (and decorated) for HttpResponse.
    return cast(HttpResponse, response)


def award_pdf(request: HttpRequest, round_id: int, language: str) -> HttpResponse:
    """The published award-result PDF; its SHA-256 is in a header and on the page."""
    round_, _run = selectors.round_get_public(round_id=round_id)
    if language not in ReportDocument.Language.values:
        raise Http404
    document = selectors.document_get(
        round_=round_, kind=ReportDocument.Kind.AWARD_RESULT, language=language
    )
    if document is None:
        raise Http404
    return _pdf_response(document)


def _award_job_context(round_: Round) -> dict[str, Any]:
    award_job = services.job_latest(round_=round_, kind=GenerationJob.Kind.AWARD_RESULT)
    return {
        "award_job": award_job,
        "award_job_stalled": award_job is not None and services.job_is_stalled(award_job),
    }


def _party_job_context(round_: Round) -> dict[str, Any]:
    party_job = services.job_latest(round_=round_, kind=GenerationJob.Kind.PARTY_REPORTS)
    return {
        "party_job": party_job,
        "party_job_stalled": party_job is not None and services.job_is_stalled(party_job),
        "party_documents": ReportDocument.objects.filter(
            round=round_, organization__isnull=False
        ).count(),
    }


@office_required
def office_analysis(request: HttpRequest, round_id: int) -> HttpResponse:
    round_, run = selectors.round_get_for_office(user=_user(request), round_id=round_id)
    context = _stored_context(
        round_,
        run,
        with_hospitals=True,
        final=round_.status in selectors.FINAL,
        downloads=[
            (
                _("Spreadsheet of every table, hospitals included (.xlsx)"),
                reverse("reports:office-xlsx", args=[round_.pk]),
            ),
            *(
                _public_downloads(round_)
                if round_.status in selectors.FINAL
                else [
                    (
                        _("Open data: OCDS release package (JSON)"),
                        reverse("reports:ocds", args=[round_.pk]),
                    )
                ]
            ),
        ],
        **_award_job_context(round_),
        **_party_job_context(round_),
        ocds_file=open_data.status(round_),
        ocds_split=open_data.split_status(round_, run),
    )
    # A national round has thousands of hospitals: one page of them at a time.
    context["hospital_page"] = paginate(request, context.pop("hospitals") or [])
    return render(request, "reports/office_analysis.html", context)


@office_required
def award_job_progress(request: HttpRequest, round_id: int) -> HttpResponse:
    """The htmx-polled documents card: pending, then the links with their SHA-256."""
    round_, _run = selectors.round_get_for_office(user=_user(request), round_id=round_id)
    context = _award_job_context(round_)
    response = render(
        request,
        "reports/_documents.html",
        {
            "round": round_,
            "documents": selectors.documents_public(round_=round_),
            "office_view": True,
            **context,
        },
    )
    job = context["award_job"]
    if getattr(request, "htmx", False) and (job is None or not job.is_pending):
        # Done: reload once so the rest of the page (the button's label) follows.
        response["HX-Refresh"] = "true"
    return response


@office_required
def party_job_progress(request: HttpRequest, round_id: int) -> HttpResponse:
    """The htmx-polled progress of the hospital and manufacturer report batches."""
    round_, _run = selectors.round_get_for_office(user=_user(request), round_id=round_id)
    return render(
        request,
        "reports/_party_job.html",
        {"round": round_, "final": round_.status in selectors.FINAL, **_party_job_context(round_)},
    )


def ocds_json(request: HttpRequest, round_id: int) -> HttpResponseBase:
    """The OCDS release package (public once final; the office's own rounds before)."""
    user = _user(request) if request.user.is_authenticated else None
    round_, run = selectors.round_get_for_open_data(user=user, round_id=round_id)
    return ocds_response(request, round_, run)


def ocds_index(request: HttpRequest, round_id: int) -> HttpResponseBase:
    """The index of the round's OCDS release files (JSON: each file's address, SHA-256,
    size, releases, contracts and build time); who may read it as ``ocds_json``."""
    user = _user(request) if request.user.is_authenticated else None
    round_, run = selectors.round_get_for_open_data(user=user, round_id=round_id)
    return open_data.serve_ocds_index(round_, run)


def ocds_part(request: HttpRequest, round_id: int, number: int) -> HttpResponseBase:
    """One release file of the index (a release package of its own)."""
    user = _user(request) if request.user.is_authenticated else None
    round_, run = selectors.round_get_for_open_data(user=user, round_id=round_id)
    return open_data.serve_ocds_part(round_, run, number)


@office_required
@require_POST
def ocds_rebuild(request: HttpRequest, round_id: int) -> HttpResponse:
    """Queue a rebuild of the round's OCDS release package (built in the background)."""
    round_, run = selectors.round_get_for_office(user=_user(request), round_id=round_id)
    key = open_data.inputs_key(round_, run)
    open_data.request_build(round_, key=key, force=True)
    open_data.request_build(round_, key=key, kind=OpenDataFile.Kind.OCDS_SPLIT, force=True)
    messages.success(
        request,
        _(
            "The release package is being rebuilt in the background; its time of build "
            "below changes when it is ready."
        ),
    )
    return redirect(reverse("reports:office-analysis", args=[round_.pk]) + "#open-data")


def _job_message(request: HttpRequest, job: GenerationJob, *, pending: str, finished: str) -> None:
    """Without a broker the job has already run when the service returns: say so. A job
    with failures says nothing here: the page lists them where the documents are."""
    job.refresh_from_db()
    if job.is_pending:
        messages.success(request, pending)
    elif not job.failed:
        messages.success(request, finished)


@office_required
@require_POST
def publish(request: HttpRequest, round_id: int) -> HttpResponse:
    round_, _run = selectors.round_get_for_office(user=_user(request), round_id=round_id)
    try:
        job = services.award_result_publish(round_=round_, by=_user(request))
        _job_message(
            request,
            job,
            pending=_(
                "The award-result PDF is being generated in Chinese and English. "
                "This page shows when it is ready; you can leave it and come back."
            ),
            finished=_("The award-result PDF is published in Chinese and English."),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("reports:office-analysis", round_id=round_.pk)


@office_required
@require_POST
def publish_party_reports(request: HttpRequest, round_id: int) -> HttpResponse:
    round_, _run = selectors.round_get_for_office(user=_user(request), round_id=round_id)
    try:
        job = services.party_reports_publish(round_=round_, by=_user(request))
        _job_message(
            request,
            job,
            pending=_(
                "Every hospital's and manufacturer's report is being generated. "
                "This page shows the progress; you can leave it and come back."
            ),
            finished=_("Every hospital's and manufacturer's report is generated."),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("reports:office-analysis", round_id=round_.pk)


@role_required(Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def party_report_pdf(request: HttpRequest, round_id: int, language: str) -> HttpResponse:
    """A hospital's or manufacturer's own report of a round; nobody else's."""
    round_, _run, organization = selectors.round_get_for_party(
        user=_user(request), round_id=round_id
    )
    if language not in ReportDocument.Language.values:
        raise Http404
    document = selectors.document_get(
        round_=round_, kind=organization.kind, language=language, organization=organization
    )
    if document is None:
        raise Http404
    return _pdf_response(document)


@office_required
def round_history(request: HttpRequest, code: str) -> HttpResponse:
    """Every event of one of the office's rounds, oldest first, a page at a time
    (``reports.history``): sealed terms stay sealed."""
    round_ = Round.objects.filter(code=code, office=_user(request).organization).first()
    if round_ is None:
        raise Http404("no such round")
    cursor = history.Cursor.decode(request.GET.get("after", ""))
    page = history.round_history(round_=round_, cursor=cursor)
    return render(
        request,
        "reports/round_history.html",
        {"round": round_, "page": page, "first_page": cursor is None},
    )

"""Contract pages: drawing them up (the office's buttons on the award page), the list, a
contract with its PDF, confirmation and amendment; and the notifications page.

Thin: check the role, fetch through a selector, validate a form, call one service.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import office_required
from accounts.models import Organization
from accounts.notifications import notification_list_for_user, notifications_mark_read
from awards import selectors as award_selectors
from awards.views.base import (
    any_role_required,
    error_messages,
    office_round_action,
    party_required,
    row_id,
    search_text,
)
from common.pagination import COUNT_LIMIT, paginate
from contracts import selectors, services
from contracts.forms import AmendmentForm
from contracts.models import Contract
from contracts.signatures import confirm_signing, posted_signature
from contracts.tasks import CONTRACT_PDF_WAIT


@office_required
@require_POST
def contracts_generate(request: HttpRequest, round_id: int) -> HttpResponse:
    return office_round_action(
        request,
        round_id,
        services.contracts_generate_request,
        _("The contracts are being drawn up; the hospitals are then asked to confirm."),
    )


@office_required
def contracts_status(request: HttpRequest, round_id: int) -> HttpResponse:
    """The htmx-polled state of a request to draw up the contracts; when the task has
    drawn them up (or the request is no longer waited for), the page reloads itself."""
    round_ = award_selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    if not getattr(request, "htmx", False):
        return redirect("awards:round", round_id=round_.pk)
    pending = services.contracts_generate_pending(round_=round_)
    if pending is None:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(
        request,
        "contracts/_contracts_pending.html",
        {"round": round_, "contracts_pending": pending},
    )


@office_required
@require_POST
def execution_start(request: HttpRequest, round_id: int) -> HttpResponse:
    return office_round_action(
        request,
        round_id,
        services.execution_start,
        _("Execution has started: hospitals record their purchases."),
    )


@any_role_required
def contract_list(request: HttpRequest) -> HttpResponse:
    """The party's contracts, a page at a time, filtered by status, round and text."""
    contracts = selectors.contract_list_for_user(user=request.user)  # type: ignore[arg-type]
    rounds = selectors.rounds_with(user=request.user)  # type: ignore[arg-type]
    status = request.GET.get("status", "")
    if status in Contract.Status.values:
        contracts = contracts.filter(status=status)
    round_id = request.GET.get("round", "")
    if (round_pk := row_id(round_id)) is not None:
        contracts = contracts.filter(round_id=round_pk)
    query = search_text(request)
    contracts = selectors.contracts_matching(contracts, query)
    # The office may render the PDFs of its round's contracts in the background.
    org = getattr(request.user, "organization", None)
    pdf_round = (
        rounds.filter(pk=round_pk, office=org).first()
        if round_pk is not None and org is not None and org.kind == Organization.Kind.OFFICE
        else None
    )
    return render(
        request,
        "contracts/contract_list.html",
        {
            # Newest round first (ids follow creation), by number: the order of the
            # ``contract_newest_round_number`` index, no join to sort on.
            # The count stops at ``COUNT_LIMIT`` (a national round: ~900,000 contracts).
            "page_obj": paginate(
                request, contracts.order_by("-round_id", "number"), count_limit=COUNT_LIMIT
            ),
            "status": status,
            "statuses": Contract.Status.choices,
            "rounds": rounds,
            "round_id": round_id,
            "q": query,
            "pdf_round": pdf_round,
        },
    )


@any_role_required
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)  # type: ignore[arg-type]
    org: Organization = request.user.organization  # type: ignore[union-attr,assignment]
    # The page's poll carries when the PDF was asked for, so its wait ends on time.
    pdf_since = None if contract.pdf_ready else _pdf_wait_token(contract, _pdf_request(contract))
    can_confirm = (
        org.pk == contract.hospital_id and contract.status == Contract.Status.AWAITING_HOSPITAL
    ) or (
        org.pk == contract.manufacturer_id
        and contract.status == Contract.Status.AWAITING_MANUFACTURER
    )
    versions = [
        (a, services.contract_lines(contract, a.version - 1))
        for a in contract.amendments.order_by("version")
    ]
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "lines": services.contract_lines(contract),
            "can_confirm": can_confirm,
            "signing": confirm_signing(contract=contract, user=request.user)  # type: ignore[arg-type]
            if can_confirm
            else None,
            "versions": versions,
            "pdf_since": pdf_since,
            "amend_form": AmendmentForm(lines=services.contract_lines(contract))
            if org.kind == Organization.Kind.OFFICE and contract.status == Contract.Status.CONFIRMED
            else None,
        },
    )


PDF_WAIT_SALT = "contracts.contract-pdf-wait"


def _pdf_request_key(contract: Contract) -> str:
    # Per revision: a confirmation or an amendment makes a new PDF to ask for. The creation
    # time is there because an id (and a number) can come back after a rollback (SQLite
    # reuses ids), and a key left by a contract that no longer exists must not hold it.
    created = contract.created_at.timestamp()
    return f"contracts:pdf-requested:{contract.pk}:{contract.revision}:{created}"


def _pdf_request(contract: Contract, *, again: bool = False) -> float:
    """Queue the contract's PDF at most once per wait (``CONTRACT_PDF_WAIT``) and return
    when it was queued (a POSIX time): the start of the wait the page shows.

    Every visit of a contract page whose PDF is not ready used to queue a task: a user
    reloading the page, or the hospital, the manufacturer and the office opening it, queued
    one each. The first request of a wait claims a cache key (``cache.add`` is atomic)
    that expires with the wait; later ones reuse its time. Past the wait the page says the
    PDF is late, the key is gone and the next request queues again. ``again`` (the "request
    it again" button, offered only once a wait is over) always queues and restarts the wait.
    With a per-process cache (the default local-memory one) the bound is once per web
    process; a shared cache (Redis, Memcached) makes it once in all.
    """
    now = timezone.now().timestamp()
    key = _pdf_request_key(contract)
    timeout = CONTRACT_PDF_WAIT.total_seconds()
    if again:
        cache.set(key, now, timeout=timeout)
    elif not cache.add(key, now, timeout=timeout):
        since = cache.get(key)
        return float(since) if since is not None else now  # (expired in between)
    services.contract_pdf_request(contract=contract)
    return now


def _pdf_wait_token(contract: Contract, since: float) -> str:
    return signing.dumps([contract.pk, since], salt=PDF_WAIT_SALT)


def _pdf_wait_since(token: str, contract: Contract) -> float | None:
    """When the polling page asked for the contract's PDF (a POSIX time), from the signed
    token its poll URL carries; None for a missing, altered or another contract's token.

    The contract stores no request time (the confirmation and amendment times are when
    its content changed, not when somebody asked for its PDF), so the page carries it."""
    try:
        contract_id, since = signing.loads(token, salt=PDF_WAIT_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    return float(since) if contract_id == contract.pk else None


@any_role_required
@require_http_methods(["GET", "POST"])
def contract_pdf_status(request: HttpRequest, contract_id: int) -> HttpResponse:
    """The htmx-polled PDF links of a contract: "being prepared" until the task has
    rendered the current revision, then the download links (and the polling stops).

    The poll carries the time of the request (signed); past ``CONTRACT_PDF_WAIT`` (the
    task's time limit and a margin) the polling stops and says the PDF is late, with a
    button that POSTs here to request it again. Requesting again is safe at any time: the
    task does nothing for a current PDF and never renders one contract twice at once."""
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)  # type: ignore[arg-type]
    posted = request.method == "POST"
    now = timezone.now().timestamp()
    if posted and not contract.pdf_ready:
        since = _pdf_request(contract, again=True)
    else:
        # A poll without a token (a page rendered before the token existed) starts the
        # clock: the page requested the PDF when it was rendered, two seconds before.
        since = _pdf_wait_since(request.GET.get("since", ""), contract) or now
    if not getattr(request, "htmx", False):
        if posted and not contract.pdf_ready:
            messages.info(request, _("The PDF is requested again; it appears here when ready."))
        return redirect("contracts:contract", contract_id=contract.pk)
    late = not contract.pdf_ready and now - since > CONTRACT_PDF_WAIT.total_seconds()
    return render(
        request,
        "contracts/_contract_pdf.html",
        {
            "contract": contract,
            "pdf_since": _pdf_wait_token(contract, since),
            "pdf_late": late,
            "pdf_wait_minutes": round(CONTRACT_PDF_WAIT.total_seconds() / 60),
            "pdf_requested_again": posted,
        },
    )


@party_required
@require_POST
def contract_confirm(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)  # type: ignore[arg-type]
    try:
        services.contract_confirm(
            contract=contract,
            by=request.user,  # type: ignore[arg-type]
            signature=posted_signature(request.POST),
        )
        messages.success(request, _("Contract %(number)s confirmed.") % {"number": contract.number})
    except ValidationError as exc:
        error_messages(request, exc)
    return redirect("contracts:contract", contract_id=contract.pk)


@office_required
@require_POST
def contract_amend(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)  # type: ignore[arg-type]
    form = AmendmentForm(request.POST, lines=services.contract_lines(contract))
    if form.is_valid():
        try:
            services.contract_amend(
                contract=contract,
                by=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
                effective_from=form.cleaned_data["effective_from"],
                quantities=form.quantities(),
            )
            messages.success(request, _("The amendment is recorded; the original is kept."))
        except ValidationError as exc:
            error_messages(request, exc)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("contracts:contract", contract_id=contract.pk)


@any_role_required
def contract_pdf(request: HttpRequest, contract_id: int, language: str) -> HttpResponse:
    contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)  # type: ignore[arg-type]
    if language not in {"zh", "en"}:
        raise Http404
    if not contract.pdf_ready:
        _pdf_request(contract)
        messages.info(request, _("The PDF is being prepared; try again in a moment."))
        return redirect("contracts:contract", contract_id=contract.pk)
    field = contract.pdf_zh if language == "zh" else contract.pdf_en
    # FileResponse streams; the role decorator is typed for HttpResponse.
    return cast(
        HttpResponse,
        FileResponse(
            field.open("rb"),
            as_attachment=True,
            filename=f"{contract.number}-{language}.pdf",
            content_type="application/pdf",
        ),
    )


@any_role_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The organization's notifications, newest first; the unread ones on the page shown
    are marked "new", then read (those on later pages stay unread until shown)."""
    page = paginate(
        request,
        notification_list_for_user(user=request.user).order_by("-created_at", "-pk"),  # type: ignore[arg-type]
    )
    response = render(request, "contracts/notifications.html", {"page_obj": page})
    notifications_mark_read(
        organization=request.user.organization,  # type: ignore[union-attr,arg-type]
        ids=[n.pk for n in page],
    )
    return response

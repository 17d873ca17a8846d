"""Execution pages: purchases (form and spreadsheet upload), progress against the
agreed volumes, supply failures and the switch to a backup supplier.

Thin: check the role, fetch through a selector, validate a form, call one service.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import hospital_required, office_required
from accounts.models import Organization
from awards import selectors as award_selectors
from awards.models import BidResult, ItemAward, ProvinceAllocation
from awards.views.base import any_role_required, search_text
from catalog.models import StoredUpload
from common.pagination import COUNT_LIMIT, paginate
from common.uploads import upload_discard, upload_get_for_user, upload_store
from contracts import selectors, services, summaries
from contracts.forms import PurchaseForm, PurchaseUploadForm, SupplyFailureForm, SwitchForm
from contracts.models import Contract, ContractLine, ProgressSnapshot, Purchase, SupplyFailure
from procurement.models import Round


def _hospital_lines(request: HttpRequest) -> list[Any]:
    """The current lines of the hospital's confirmed contracts in execution (the form)."""
    contracts = selectors.contract_list_for_user(user=request.user).filter(  # type: ignore[arg-type]
        status=Contract.Status.CONFIRMED, round__status=Round.Status.IN_EXECUTION
    )
    # A hospital's own contracts are few: their ids first, then their lines by id (a
    # subquery of its contracts lets the planner join every line of a national round
    # before filtering, as the hospital's progress did).
    own = list(contracts.values_list("pk", flat=True))
    return list(
        ContractLine.objects.filter(contract_id__in=own, version=F("contract__current_version"))
        .select_related("contract__manufacturer", "round_item__item")
        .order_by("contract__number", "round_item__item__code")
    )


@hospital_required
def purchases(request: HttpRequest) -> HttpResponse:
    """Record a month of purchases (form), or upload a spreadsheet of them."""
    lines = _hospital_lines(request)
    form = PurchaseForm(request.POST or None, lines=lines)
    if request.method == "POST" and form.is_valid():
        number, item_code = form.cleaned_data["line"].split("|", 1)
        try:
            services.purchases_record(
                hospital=request.user.organization,  # type: ignore[union-attr,arg-type]
                by=request.user,  # type: ignore[arg-type]
                lines=[
                    services.PurchaseLine(
                        contract_number=number,
                        item_code=item_code,
                        month=form.cleaned_data["month"],
                        quantity=form.cleaned_data["quantity"],
                    )
                ],
                channel=Purchase.Channel.WEB,
            )
            messages.success(request, _("The purchase is recorded."))
            return redirect("contracts:purchases")
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
    query = search_text(request)
    recorded = selectors.purchases_matching(
        selectors.purchase_list_for_user(user=request.user),  # type: ignore[arg-type]
        query,
    ).order_by("-month", "contract__number", "round_item__item__code", "pk")
    return render(
        request,
        "contracts/purchases.html",
        {
            "form": form,
            "upload_form": PurchaseUploadForm(),
            "page_obj": paginate(request, recorded),
            "q": query,
            "has_lines": bool(lines),
        },
        status=400 if request.method == "POST" else 200,
    )


@hospital_required
def purchases_upload(request: HttpRequest) -> HttpResponse:
    """Upload: a preview first (nothing written), then the commit of the same file."""
    user = request.user
    scope = str(user.organization_id)  # type: ignore[union-attr]
    if request.method == "POST" and "token" in request.POST:
        try:
            upload = upload_get_for_user(
                user=user,  # type: ignore[arg-type]
                token=request.POST["token"],
                purpose=services.PURCHASE_UPLOAD,
                scope=scope,
            )
        except StoredUpload.DoesNotExist:  # unknown, used, or another user's token
            messages.error(request, _("That upload is no longer available; upload the file again."))
            return redirect("contracts:purchases")
        outcome = services.purchases_import(
            hospital=user.organization,  # type: ignore[union-attr,arg-type]
            by=user,  # type: ignore[arg-type]
            data=bytes(upload.data),
            filename=upload.filename,
            max_bytes=settings.JICAI_MAX_UPLOAD_BYTES,
            commit=True,
        )
        if outcome.committed:
            upload_discard(upload=upload)
            messages.success(
                request,
                _("%(created)s purchases recorded, %(changed)s changed, %(unchanged)s unchanged.")
                % {
                    "created": outcome.created,
                    "changed": outcome.changed,
                    "unchanged": outcome.unchanged,
                },
            )
            return redirect("contracts:purchases")
        return render(
            request,
            "contracts/purchases_preview.html",
            {"outcome": outcome, "token": upload.token},
            status=400,
        )
    form = PurchaseUploadForm(request.POST or None, request.FILES or None)
    if request.method != "POST" or not form.is_valid():
        return redirect("contracts:purchases")
    uploaded = form.cleaned_data["file"]
    data = uploaded.read(settings.JICAI_MAX_UPLOAD_BYTES + 1)
    outcome = services.purchases_import(
        hospital=user.organization,  # type: ignore[union-attr,arg-type]
        by=user,  # type: ignore[arg-type]
        data=data,
        filename=uploaded.name,
        max_bytes=settings.JICAI_MAX_UPLOAD_BYTES,
        commit=False,
    )
    token = None
    if outcome.ok:
        token = upload_store(
            user=user,  # type: ignore[arg-type]
            purpose=services.PURCHASE_UPLOAD,
            scope=scope,
            filename=uploaded.name,
            data=data,
        ).token
    return render(
        request,
        "contracts/purchases_preview.html",
        {"outcome": outcome, "token": token},
        status=200 if outcome.ok else 400,
    )


PROGRESS_DETAILS = ("hospitals", "lines", "behind")
BEHIND_PREVIEW = 10


@any_role_required
def progress(request: HttpRequest) -> HttpResponse:
    """Bought against agreed and pro-rata: totals per item, province and winner; then, a
    page at a time and searchable, per hospital, per contract line, or (the office) the
    hospitals behind schedule. Every table is one aggregate query over the round's
    current lines (``selectors.progress_grouped``)."""
    user = request.user
    is_office = user.organization.kind == Organization.Kind.OFFICE  # type: ignore[union-attr]
    contracts = selectors.contract_list_for_user(user=user).filter(  # type: ignore[arg-type]
        status=Contract.Status.CONFIRMED
    )
    rounds = selectors.rounds_with(user=user, status=Contract.Status.CONFIRMED)  # type: ignore[arg-type]
    round_id = request.GET.get("round", "")
    chosen = next((r for r in rounds if str(r.pk) == round_id), rounds.first())
    # A hospital's own lines are few: it sees them, not a table of one hospital.
    org_kind = user.organization.kind  # type: ignore[union-attr]
    details = (
        PROGRESS_DETAILS
        if is_office
        else ("lines",)
        if org_kind == "hospital"
        else PROGRESS_DETAILS[:2]
    )
    detail = request.GET.get("detail", "")
    if detail not in details:
        detail = details[0]
    query = search_text(request)
    context: dict[str, Any] = {
        "rounds": rounds,
        "round": chosen,
        "today": timezone.localdate(),
        "detail": detail,
        "details": details,
        "q": query,
    }
    if chosen is None:
        return render(request, "contracts/progress.html", context)
    # The office and the winners read the round's maintained snapshot (totalled once per
    # change by a task, ``contracts.summaries``); a hospital's own lines are few, and a
    # search reads the lines that match: both are totalled here.
    snapshot = (
        summaries.snapshot_for(chosen.pk, today=context["today"])
        if org_kind != Organization.Kind.HOSPITAL and not query
        else None
    )
    if snapshot is not None:
        _progress_from_snapshot(request, context, snapshot, detail=detail, is_office=is_office)
        return render(request, "contracts/progress.html", context)
    if org_kind == Organization.Kind.HOSPITAL:
        # A hospital's own contracts are few: their ids first, then their lines by id (a
        # subquery let the planner join every line of the round before filtering).
        own = list(contracts.filter(round=chosen).values_list("pk", flat=True))
        lines = ContractLine.objects.filter(
            contract_id__in=own, version=F("contract__current_version")
        )
    else:
        lines = selectors.current_lines(contracts=contracts.filter(round=chosen))
    schedule = selectors.progress_schedule(lines=lines, today=context["today"])
    found = selectors.progress_lines_matching(lines, query)
    behind = selectors.progress_behind(lines=lines, schedule=schedule) if is_office else []
    if detail == "lines":
        page = paginate(request, selectors.progress_line_rows(lines=found, schedule=schedule))
        page.object_list = selectors.line_progress_rows(page.object_list)
    elif detail == "behind":
        page = paginate(
            request,
            behind if not query else selectors.progress_behind(lines=found, schedule=schedule),
        )
    else:
        page = paginate(
            request, selectors.progress_grouped(lines=found, schedule=schedule, key="hospital")
        )
        page.object_list = selectors.progress_rows(page.object_list, "hospital", lines=found)

    summary = selectors.progress_summary(lines=lines, schedule=schedule)
    context.update(
        total=summary.total,
        by_item=summary.by_item,
        by_province=summary.by_region,
        by_winner=summary.by_manufacturer,
        page_obj=page,
        behind=behind[:BEHIND_PREVIEW],
        behind_count=len(behind),
    )
    return render(request, "contracts/progress.html", context)


def _progress_from_snapshot(
    request: HttpRequest,
    context: dict[str, Any],
    snapshot: ProgressSnapshot,
    *,
    detail: str,
    is_office: bool,
) -> None:
    """The progress page's tables from the snapshot: the office's over every winner, a
    winner's over its own lines; the time the figures were computed is shown."""
    maker = None if is_office else request.user.organization_id  # type: ignore[union-attr]
    chosen = context["round"]
    contracts = selectors.contract_list_for_user(user=request.user).filter(  # type: ignore[arg-type]
        status=Contract.Status.CONFIRMED, round=chosen
    )
    if detail == "lines":
        # A page of contracts (by number, from the contracts' index; the count stops at
        # ``COUNT_LIMIT``), then the current lines of those contracts: bounded whatever
        # the round's size, where sorting and counting its ~900,000 lines was not.
        page = paginate(
            request,
            contracts.order_by("-round_id", "number").values_list("pk", flat=True),
            count_limit=COUNT_LIMIT,
        )
        page.object_list = selectors.contract_line_progress(
            contract_ids=list(page.object_list), today=context["today"]
        )
        context["paged_by_contract"] = True
    elif detail == "behind":
        page = paginate(request, selectors.snapshot_behind(snapshot=snapshot))
        page.object_list = selectors.snapshot_hospital_rows(page.object_list)
    else:
        page = paginate(
            request, selectors.snapshot_hospitals(snapshot=snapshot, manufacturer_id=maker)
        )
        page.object_list = selectors.snapshot_hospital_rows(page.object_list)
    summary = selectors.snapshot_summary(snapshot=snapshot, manufacturer_id=maker)
    behind: list[Any] = []
    behind_count = 0
    if is_office:
        behind_rows = selectors.snapshot_behind(snapshot=snapshot)
        behind = selectors.snapshot_hospital_rows(behind_rows[:BEHIND_PREVIEW])
        behind_count = behind_rows.count()  # always: a count independent of the size
    context.update(
        total=summary.total,
        by_item=summary.by_item,
        by_province=summary.by_region,
        by_winner=summary.by_manufacturer,
        page_obj=page,
        behind=behind,
        behind_count=behind_count,
        computed_at=snapshot.computed_at,
        summary_current=summaries.is_current(snapshot, context["today"]),
    )


@any_role_required
def supply_failures(request: HttpRequest) -> HttpResponse:
    """Reported supply failures, newest first, by status."""
    failures = selectors.supply_failure_list_for_user(user=request.user)  # type: ignore[arg-type]
    status = request.GET.get("status", "")
    if status in SupplyFailure.Status.values:
        failures = failures.filter(status=status)
    return render(
        request,
        "contracts/supply_failures.html",
        {
            "page_obj": paginate(request, failures.order_by("-reported_at", "-pk")),
            "status": status,
            "statuses": SupplyFailure.Status.choices,
        },
    )


@any_role_required
def supply_failure_new(request: HttpRequest, round_id: int) -> HttpResponse:
    contracts = selectors.contract_list_for_user(user=request.user)  # type: ignore[arg-type]
    round_ = Round.objects.filter(pk=round_id, pk__in=contracts.values("round_id")).first()
    if round_ is None:
        raise Http404
    official = award_selectors.official_run(round_=round_)
    awards = (
        list(ItemAward.objects.filter(run=official.source_run).select_related("round_item__item"))
        if official
        else []
    )
    form = SupplyFailureForm(request.POST or None, awards=awards)
    if request.method == "POST" and form.is_valid():
        try:
            services.supply_failure_report(
                round_=round_,
                round_item_id=form.cleaned_data["round_item"],
                region=form.cleaned_data["region"],
                by=request.user,  # type: ignore[arg-type]
                description=form.cleaned_data["description"],
            )
            messages.success(request, _("The supply failure is reported to the office."))
            return redirect("contracts:supply-failures")
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
    return render(
        request,
        "contracts/supply_failure_new.html",
        {"round": round_, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@office_required
def supplier_switch(request: HttpRequest, failure_id: int) -> HttpResponse:
    failure = (
        selectors.supply_failure_list_for_user(user=request.user)  # type: ignore[arg-type]
        .filter(pk=failure_id)
        .first()
    )
    if failure is None:
        raise Http404
    official = award_selectors.official_run(round_=failure.round)
    run = official.source_run if official else None
    winners = [
        w
        for w in BidResult.objects.filter(
            run=run, round_item=failure.round_item, outcome=BidResult.Outcome.WON
        ).select_related("manufacturer")
        if w.manufacturer_id != failure.manufacturer_id
    ]
    allocation = ProvinceAllocation.objects.filter(
        run=run, round_item=failure.round_item, region=failure.region
    ).first()
    form = SwitchForm(
        request.POST or None,
        winners=winners,
        default=allocation.backup_bid_id if allocation else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.supplier_switch(
                failure=failure,
                by=request.user,  # type: ignore[arg-type]
                switch_from=form.cleaned_data["switch_from"],
                backup_bid_id=form.cleaned_data["backup_bid"],
            )
            messages.success(
                request,
                _("Switched; %(count)s contracts amended or drawn up.") % {"count": len(changed)},
            )
            return redirect("contracts:supply-failures")
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
    return render(
        request,
        "contracts/supplier_switch.html",
        {"failure": failure, "form": form},
        status=400 if request.method == "POST" else 200,
    )

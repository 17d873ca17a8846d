"""Award pages: evaluation and scenarios, objections, finalization, published results.

Thin: check the role, fetch through a selector, validate a form, call one service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import office_required, role_required
from accounts.models import Organization
from bidding.models import OpenedBid
from contracts import selectors, services
from contracts.forms import ObjectionAnswerForm, ObjectionForm, ScenarioForm
from contracts.models import EvaluationRun, ItemAward, Objection

party_required = role_required(Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)


def _error(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- office: evaluation and scenarios -----------------------------------------------------


@office_required
def round_award(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    return render(request, "contracts/round_award.html", _round_context(round_))


def _round_context(round_: Any, **extra: Any) -> dict[str, Any]:
    runs = list(selectors.run_list_for_round(round_=round_)[:30])
    official = selectors.official_run(round_=round_)
    return {
        "round": round_,
        "runs": runs,
        "official": official,
        "pending": [r for r in runs if r.is_pending],
        "comparison": services.evaluation_comparison(round_=round_),
        "scenario_form": extra.pop("scenario_form", None) or ScenarioForm(round_=round_),
        "objections": round_.objections.select_related("round_item__item", "organization"),
        "open_objections": round_.objections.filter(status=Objection.Status.OPEN).count(),
        "can_evaluate": round_.status in services.EVALUABLE,
        **extra,
    }


@office_required
@require_POST
def evaluate(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    try:
        run = services.evaluation_request(round_=round_, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        _error(request, exc)
        return redirect("contracts:round", round_id=round_.pk)
    return redirect("contracts:run", run_id=run.pk)


@office_required
@require_POST
def scenario(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    form = ScenarioForm(request.POST, round_=round_)
    if not form.is_valid():
        return render(
            request,
            "contracts/round_award.html",
            _round_context(round_, scenario_form=form),
            status=400,
        )
    try:
        run = services.evaluation_request(
            round_=round_,
            by=request.user,  # type: ignore[arg-type]
            rule_set=form.cleaned_data["rule_set"],
        )
    except ValidationError as exc:
        _error(request, exc)
        return redirect("contracts:round", round_id=round_.pk)
    return redirect("contracts:run", run_id=run.pk)


@office_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get_for_office(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    context: dict[str, Any] = {"run": run, "round": run.round}
    if run.status == EvaluationRun.Status.DONE:
        context["items"] = selectors.results_tables(run=run.source_run)
    return render(request, "contracts/run_detail.html", context)


@office_required
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The htmx-polled progress partial; when the run ends, the page reloads itself."""
    run = selectors.run_get_for_office(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    response = render(request, "contracts/_run_progress.html", {"run": run})
    if not run.is_pending and getattr(request, "htmx", False):
        response["HX-Refresh"] = "true"
    return response


@office_required
@require_POST
def run_retry(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get_for_office(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    try:
        services.evaluation_retry(run=run, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        _error(request, exc)
    return redirect("contracts:run", run_id=run.pk)


# --- office: objection period, answers, finalization ---------------------------------------


@office_required
@require_POST
def objection_period(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    try:
        services.objection_period_open(round_=round_, by=request.user)  # type: ignore[arg-type]
        messages.success(request, _("The proposed winners are published for objections."))
    except ValidationError as exc:
        _error(request, exc)
    return redirect("contracts:round", round_id=round_.pk)


@office_required
@require_POST
def finalize(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    try:
        services.award_finalize(round_=round_, by=request.user)  # type: ignore[arg-type]
        messages.success(request, _("The award is final and the results are published."))
    except ValidationError as exc:
        _error(request, exc)
    return redirect("contracts:round", round_id=round_.pk)


@office_required
def objection_answer(request: HttpRequest, objection_id: int) -> HttpResponse:
    objection = selectors.objection_get_for_user(user=request.user, objection_id=objection_id)  # type: ignore[arg-type]
    bids = list(
        OpenedBid.objects.filter(round_item=objection.round_item)
        .select_related("manufacturer", "specification")
        .order_by("unit_comparable_price", "pk")
    )
    form = ObjectionAnswerForm(request.POST or None, bids=bids)
    if request.method == "POST" and objection.status == Objection.Status.OPEN and form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == ObjectionAnswerForm.UPHOLD:
                run = services.objection_uphold(
                    objection=objection,
                    by=request.user,  # type: ignore[arg-type]
                    answer=data["answer"],
                    excluded_bid_id=data["excluded_bid"],
                )
                messages.success(
                    request, _("Objection upheld; the evaluation runs again without the bid.")
                )
                return redirect("contracts:run", run_id=run.pk)
            services.objection_dismiss(
                objection=objection,
                by=request.user,  # type: ignore[arg-type]
                answer=data["answer"],
            )
            messages.success(request, _("Objection dismissed."))
            return redirect("contracts:round", round_id=objection.round_id)
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(
        request,
        "contracts/objection_answer.html",
        {"objection": objection, "form": form, "round": objection.round},
        status=400 if request.method == "POST" else 200,
    )


# --- hospitals and manufacturers -----------------------------------------------------------


@party_required
def objection_new(request: HttpRequest, round_id: int) -> HttpResponse:
    round_, run = selectors.published_round_get(round_id=round_id)
    awards = list(ItemAward.objects.filter(run=run).select_related("round_item__item"))
    form = ObjectionForm(request.POST or None, request.FILES or None, awards=awards)
    if request.method == "POST" and form.is_valid():
        try:
            services.objection_file(
                round_=round_,
                round_item_id=form.cleaned_data["round_item"],
                by=request.user,  # type: ignore[arg-type]
                text=form.cleaned_data["text"],
                attachment=form.cleaned_data.get("attachment"),
            )
            messages.success(request, _("Your objection is filed; the office will answer it."))
            return redirect("contracts:objections")
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(
        request,
        "contracts/objection_new.html",
        {
            "round": round_,
            "form": form,
            "open": round_.status == round_.Status.OBJECTION
            and timezone.now() < round_.objection_ends_at,
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def objections(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "contracts/objections.html",
        {"objections": selectors.objection_list_for_user(user=request.user)[:200]},  # type: ignore[arg-type]
    )


@party_required
def my_awards(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "contracts/my_awards.html",
        {
            "bid_results": selectors.bid_results_list_for_manufacturer(user=user),  # type: ignore[arg-type]
            "provinces": selectors.province_allocations_list_for_user(user=user),  # type: ignore[arg-type]
            "allocations": selectors.hospital_allocations_list_for_user(user=user)[:500],  # type: ignore[arg-type]
        },
    )


@role_required(Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def notifications(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "contracts/notifications.html",
        {"notifications": selectors.notification_list_for_user(user=request.user)[:100]},  # type: ignore[arg-type]
    )


# --- public --------------------------------------------------------------------------------


def results(request: HttpRequest, round_id: int) -> HttpResponse:
    """The published results: proposed winners during the objection period, then final."""
    round_, run = selectors.published_round_get(round_id=round_id)
    return render(
        request,
        "contracts/results.html",
        {
            "round": round_,
            "run": run,
            "final": round_.status in selectors.FINAL,
            "items": selectors.results_tables(run=run),
            "objection_url": reverse("contracts:objection-new", args=[round_.pk]),
        },
    )

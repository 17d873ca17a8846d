"""Objections: the office publishes the proposed winners, answers objections and
finalizes the award; hospitals and manufacturers file objections; everyone lists theirs.

Thin: check the role, fetch through a selector, validate a form, call one service.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import office_required
from awards import selectors, services
from awards.forms import ObjectionAnswerForm, ObjectionExtendForm, ObjectionForm
from awards.models import ItemAward, Objection
from awards.views.base import any_role_required, office_round_action, party_required, row_id
from bidding.models import OpenedBid
from common.pagination import paginate


@office_required
@require_POST
def objection_period(request: HttpRequest, round_id: int) -> HttpResponse:
    return office_round_action(
        request,
        round_id,
        services.objection_period_open,
        _("The proposed winners are published for objections."),
    )


@office_required
@require_POST
def finalize(request: HttpRequest, round_id: int) -> HttpResponse:
    return office_round_action(
        request,
        round_id,
        services.award_finalize,
        _("The award is final and the results are published."),
    )


@office_required
@require_POST
def objection_extend(request: HttpRequest, round_id: int) -> HttpResponse:
    """Extend the running objection period (never shorten it); audited."""
    from awards.views.evaluation import _round_context

    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    form = ObjectionExtendForm(request.POST)
    if form.is_valid():
        try:
            services.objection_period_extend(
                round_=round_,
                by=request.user,  # type: ignore[arg-type]
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("The objection period is extended."))
            return redirect("awards:round", round_id=round_.pk)
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(
        request,
        "awards/round_award.html",
        _round_context(request, round_, extend_form=form),
        status=400,
    )


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
                return redirect("awards:run", run_id=run.pk)
            services.objection_dismiss(
                objection=objection,
                by=request.user,  # type: ignore[arg-type]
                answer=data["answer"],
            )
            messages.success(request, _("Objection dismissed."))
            return redirect("awards:round", round_id=objection.round_id)
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(
        request,
        "awards/objection_answer.html",
        {"objection": objection, "form": form, "round": objection.round},
        status=400 if request.method == "POST" else 200,
    )


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
            return redirect("awards:objections")
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(
        request,
        "awards/objection_new.html",
        {
            "round": round_,
            "form": form,
            "open": round_.status == round_.Status.OBJECTION
            and timezone.now() < round_.objection_ends_at,
        },
        status=400 if request.method == "POST" else 200,
    )


@any_role_required
def objections(request: HttpRequest) -> HttpResponse:
    """Objections (the office: of its rounds; a party: its own), newest first, by status."""
    listed = selectors.objection_list_for_user(user=request.user)  # type: ignore[arg-type]
    status = request.GET.get("status", "")
    if status in Objection.Status.values:
        listed = listed.filter(status=status)
    round_id = request.GET.get("round", "")
    if (round_pk := row_id(round_id)) is not None:
        listed = listed.filter(round_id=round_pk)
    return render(
        request,
        "awards/objections.html",
        {
            "page_obj": paginate(request, listed.order_by("-filed_at", "-pk")),
            "status": status,
            "statuses": Objection.Status.choices,
        },
    )

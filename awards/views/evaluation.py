"""The office's award page of a round: evaluation, scenarios, runs and their progress.

Thin: check the role, fetch through a selector, validate a form, call one service.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Case, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import office_required
from awards import selectors, services
from awards.forms import ObjectionExtendForm, ScenarioForm, SelectionOpenForm
from awards.models import EvaluationRun, Objection, ProvinceSelection
from awards.views.base import error_messages
from common.pagination import paginate


@office_required
def round_award(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    return render(request, "awards/round_award.html", _round_context(request, round_))


ROUND_PAGE_OBJECTIONS = 20


def _round_context(request: HttpRequest, round_: Any, **extra: Any) -> dict[str, Any]:
    all_runs = selectors.run_list_for_round(round_=round_).order_by("-requested_at", "-pk")
    runs = list(all_runs[:30])  # the latest, for the runs still pending
    official = selectors.official_run(round_=round_)
    return {
        "round": round_,
        "page_obj": paginate(request, all_runs),
        "official": official,
        "pending": [r for r in runs if r.is_pending],
        "comparison": services.evaluation_comparison(round_=round_),
        "scenario_form": extra.pop("scenario_form", None) or ScenarioForm(round_=round_),
        # The open ones first; the full list is the objections page of the round.
        "objections": round_.objections.select_related("round_item__item", "organization")
        .annotate(answered=Case(When(status=Objection.Status.OPEN, then=0), default=1))
        .order_by("answered", "-filed_at", "-pk")[:ROUND_PAGE_OBJECTIONS],
        "objection_count": round_.objections.count(),
        "open_objections": round_.objections.filter(status=Objection.Status.OPEN).count(),
        "can_evaluate": round_.status in services.EVALUABLE,
        "selection": ProvinceSelection.objects.filter(round=round_).first(),
        "selection_form": SelectionOpenForm(),
        "objection_days": services.objection_days(round_),
        "finalize_refusal": services.finalize_refusal(round_, timezone.now())
        if round_.status == round_.Status.OBJECTION
        else None,
        "extend_form": extra.pop("extend_form", None)
        or ObjectionExtendForm(initial={"until": round_.objection_ends_at}),
        # Panels of the apps above (the contracts'), by template name: this app does not
        # import them (docs/architecture.md).
        "award_panels": settings.JICAI_AWARD_PANELS,
        "provisional": selectors.provisional_rounds(round_ids=[round_.pk]).get(round_.pk, ""),
        **extra,
    }


@office_required
@require_POST
def evaluate(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    try:
        run = services.evaluation_request(round_=round_, by=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        error_messages(request, exc)
        return redirect("awards:round", round_id=round_.pk)
    return redirect("awards:run", run_id=run.pk)


@office_required
@require_POST
def scenario(request: HttpRequest, round_id: int) -> HttpResponse:
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    form = ScenarioForm(request.POST, round_=round_)
    if not form.is_valid():
        return render(
            request,
            "awards/round_award.html",
            _round_context(request, round_, scenario_form=form),
            status=400,
        )
    try:
        run = services.evaluation_request(
            round_=round_,
            by=request.user,  # type: ignore[arg-type]
            rule_set=form.cleaned_data["rule_set"],
        )
    except ValidationError as exc:
        error_messages(request, exc)
        return redirect("awards:round", round_id=round_.pk)
    return redirect("awards:run", run_id=run.pk)


@office_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get_for_office(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    context: dict[str, Any] = {"run": run, "round": run.round}
    if run.status == EvaluationRun.Status.DONE:
        context["items"] = selectors.results_tables(run=run.source_run)
        context["min_bidders"], context["few_bidders"] = selectors.items_below_min_bidders(run=run)
    return render(request, "awards/run_detail.html", context)


@office_required
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The htmx-polled progress partial; when the run ends, the page reloads itself."""
    run = selectors.run_get_for_office(user=request.user, run_id=run_id)  # type: ignore[arg-type]
    response = render(request, "awards/_run_progress.html", {"run": run})
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
        error_messages(request, exc)
    return redirect("awards:run", run_id=run.pk)

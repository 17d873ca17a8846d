"""Round pages: the list, creation, the round page and the office's actions on it."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import office_required
from common.pagination import paginate
from common.uploads import upload_unfinished_for_user
from procurement import selectors, services
from procurement.forms import (
    TIMETABLE_FIELDS,
    CancelForm,
    RoundCreateForm,
    RuleSetChoiceForm,
    TimetableForm,
    UnitRuleSetForm,
)
from procurement.models import Round
from procurement.views.shared import COLLATED, round_of, user_of


@login_required
def round_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    rounds = selectors.round_search(
        selectors.round_list_for_user(user=user_of(request)), query=query, status=status
    )
    page = paginate(request, rounds)
    return render(
        request,
        "procurement/round_list.html",
        {
            "rounds": page,
            "page_obj": page,
            "q": query,
            "status": status,
            "statuses": Round.Status.choices,
        },
    )


@office_required
def round_create(request: HttpRequest) -> HttpResponse:
    form = RoundCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            round_ = services.round_create(
                office=user_of(request).organization,  # type: ignore[arg-type]
                code=data["code"],
                name=data["name"],
                name_en=data["name_en"],
                kind=data["kind"],
                rule_set=data["rule_set"],
                regions=data["regions"],
                demand_opens_at=data["demand_opens_at"],
                demand_closes_at=data["demand_closes_at"],
                bid_deadline=data["bid_deadline"],
                opening_at=data["opening_at"],
                objection_ends_at=data["objection_ends_at"],
                contract_starts_on=data["contract_starts_on"],
                items=list(data["items"]),
                by=user_of(request),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("Round %(code)s created. Set its ceilings, then open demand declaration.")
                % {"code": round_.code},
            )
            return redirect("procurement:round", code=round_.code)
    return render(request, "procurement/round_create.html", {"form": form})


# Office actions on the round page (the lifecycle services decide what is legal).
TRANSITIONS: dict[str, Callable[..., Round]] = {
    "open_demand": services.round_open_demand,
    "close_demand": services.round_close_demand,
    "open_bidding": services.round_open_bidding,
    "close_bidding": services.round_close_bidding,
}
# The confirmation of an early close lists this many undeclared hospitals by name (a
# national round has thousands; the rest are on the totals page).
CONFIRM_LIST_LIMIT = 50
# Which actions to offer in which state (the services still decide); the first is the
# step the "What happens next" card names (a primary button), any other a secondary one.
ACTIONS_BY_STATUS: dict[str, list[str]] = {
    Round.Status.DRAFT: ["open_demand"],
    Round.Status.DEMAND_OPEN: ["close_demand"],
    Round.Status.DEMAND_CLOSED: ["open_bidding", "open_demand"],
    Round.Status.BIDDING_OPEN: ["close_bidding"],
}


def _unit_rule_sets(round_: Round) -> list[tuple[Any, Any, UnitRuleSetForm]]:
    """A consumables round's bidding units, each with its rule set (its own or the
    round's) and the form to change it."""
    if round_.kind != Round.Kind.CONSUMABLES:
        return []
    return [
        (ri, ri.rule_set or round_.rule_set, UnitRuleSetForm(round_item=ri))
        for ri in round_.items.select_related("item", "rule_set").order_by("item__code")
    ]


def _action_labels() -> dict[str, str]:
    return {
        "open_demand": _("Open demand declaration"),
        "close_demand": _("Close demand declaration"),
        "open_bidding": _("Open bidding"),
        "close_bidding": _("Close bidding"),
    }


def _success_message(action: str) -> str:
    return {
        "open_demand": _("Demand declaration is open."),
        "close_demand": _("Demand declaration is closed."),
        "open_bidding": _("Bidding is open; the rule set is frozen."),
        "close_bidding": _("Bidding is closed."),
    }[action]


def _timetable_form(round_: Round, data: Any = None) -> TimetableForm | None:
    """The timetable form, with the fields the round's state no longer allows disabled
    (after publication all but the objection period: the others move by amendment)."""
    editable = services.TIMETABLE_EDITABLE.get(round_.status, frozenset())
    if services.round_is_published(round_):
        editable = editable & services.DIRECT_AFTER_PUBLICATION
    if not editable:
        return None
    initial = {
        field: timezone.localtime(value) if isinstance(value, datetime.datetime) else value
        for field in TIMETABLE_FIELDS
        for value in [getattr(round_, field)]
    }
    form = TimetableForm(data, initial=initial, prefix="timetable")
    for field in TIMETABLE_FIELDS:
        form.fields[field].disabled = field not in editable
    return form


@login_required
def round_detail(request: HttpRequest, code: str) -> HttpResponse:
    return _round_page(request, round_of(request, code))


def _round_page(
    request: HttpRequest, round_: Round, *, timetable_form: TimetableForm | None = None
) -> HttpResponse:
    user = user_of(request)
    organization = user.organization
    is_office = organization is not None and organization.pk == round_.office_id
    labels = _action_labels()
    context: dict[str, Any] = {
        "round": round_,
        "price_rows": selectors.round_price_rows(round_=round_),
        "volumes": selectors.round_item_volumes(round_=round_),
        "regions": list(round_.regions.order_by("code")),
        "is_office": is_office,
        "round_panels": settings.JICAI_ROUND_PANELS,
        "guidance_panels": settings.JICAI_ROUND_GUIDANCE,
        "unit_rule_sets": _unit_rule_sets(round_),
        "can_declare": selectors.round_can_declare(round_=round_, organization=organization),
    }
    if is_office:
        context.update(
            actions=[
                (
                    a,
                    _("Reopen demand declaration")
                    if a == "open_demand" and round_.status == Round.Status.DEMAND_CLOSED
                    else labels[a],
                    n == 0,
                )
                for n, a in enumerate(
                    # Closing bidding is refused before the deadline: not offered until then.
                    a
                    for a in ACTIONS_BY_STATUS.get(round_.status, [])
                    if a != "close_bidding" or timezone.now() >= round_.bid_deadline
                )
            ],
            transitions=selectors.round_transitions(round_=round_),
            cancel_form=CancelForm(),
            can_cancel=Round.Status.CANCELLED
            in services.ALLOWED_TRANSITIONS[Round.Status(round_.status)],
            editable=round_.status
            in {Round.Status.DRAFT, Round.Status.DEMAND_OPEN, Round.Status.DEMAND_CLOSED},
            rule_set_form=RuleSetChoiceForm(round_=round_),
            demand=selectors.demand_summary(round_=round_),
            timetable_form=timetable_form or _timetable_form(round_),
            collated_upload=upload_unfinished_for_user(
                user=user, purpose=COLLATED, scope=round_.code
            ),
        )
    status = 400 if timetable_form is not None and timetable_form.errors else 200
    return render(request, "procurement/round_detail.html", context, status=status)


@office_required
@require_POST
def round_timetable(request: HttpRequest, code: str) -> HttpResponse:
    round_ = round_of(request, code)
    if round_.office_id != user_of(request).organization_id:
        raise Http404
    form = _timetable_form(round_, request.POST)
    if form is None:
        messages.error(
            request,
            _("Round %(code)s is %(status)s: its timetable can no longer change.")
            % {"code": round_.code, "status": round_.get_status_display()},
        )
        return redirect("procurement:round", code=code)
    if form.is_valid():
        try:
            services.round_update_timetable(
                round_=round_, by=user_of(request), timetable=form.cleaned_data
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("The timetable is updated."))
            return redirect("procurement:round", code=code)
    return _round_page(request, round_, timetable_form=form)


@office_required
@require_POST
def round_transition(request: HttpRequest, code: str) -> HttpResponse:
    round_ = round_of(request, code)
    action = request.POST.get("action", "")
    if action not in TRANSITIONS:
        messages.error(request, _("Unknown action."))
        return redirect("procurement:round", code=code)
    service = TRANSITIONS[action]
    extra: dict[str, Any] = {}
    if action == "close_demand" and timezone.now() < round_.demand_closes_at:
        undeclared = selectors.hospitals_not_declared(round_=round_)
        count = undeclared.count()
        seen = request.POST.get("undeclared_seen", "")
        if count and not seen.isdigit():
            # Early, with hospitals still to declare: name them and ask again.
            return render(
                request,
                "procurement/close_demand_confirm.html",
                {
                    "round": round_,
                    "undeclared": undeclared[:CONFIRM_LIST_LIMIT],
                    "undeclared_count": count,
                    "in_scope": selectors.hospitals_in_scope(round_=round_).count(),
                    "limit": CONFIRM_LIST_LIMIT,
                },
            )
        if seen.isdigit():
            extra["undeclared_seen"] = int(seen)
    try:
        service(round_=round_, by=user_of(request), **extra)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _success_message(action))
    return redirect("procurement:round", code=code)


@office_required
@require_POST
def round_cancel(request: HttpRequest, code: str) -> HttpResponse:
    round_ = round_of(request, code)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for cancelling the round."))
        return redirect("procurement:round", code=code)
    try:
        services.round_cancel(
            round_=round_, by=user_of(request), reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Round %(code)s is cancelled.") % {"code": round_.code})
    return redirect("procurement:round", code=code)


@office_required
@require_POST
def round_item_rule_set(request: HttpRequest, code: str, round_item_id: int) -> HttpResponse:
    """A consumables round's bidding unit gets its own rule set (or the round's again)."""
    round_ = round_of(request, code)
    round_item = round_.items.select_related("item").filter(pk=round_item_id).first()
    if round_item is None:
        raise Http404
    form = UnitRuleSetForm(request.POST, round_item=round_item)
    if not form.is_valid():
        messages.error(request, _("Choose a rule set that applies to this round."))
        return redirect("procurement:round", code=code)
    rule_set = form.cleaned_data["rule_set"]
    try:
        services.round_item_set_rule_set(
            round_item=round_item, rule_set=rule_set, by=user_of(request)
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(item)s is now awarded under rule set %(rule_set)s.")
            % {
                "item": round_item.item.code,
                "rule_set": str(round_item.rule_set or round_.rule_set),
            },
        )
    return redirect("procurement:round", code=code)


@office_required
@require_POST
def round_rule_set(request: HttpRequest, code: str) -> HttpResponse:
    round_ = round_of(request, code)
    form = RuleSetChoiceForm(request.POST, round_=round_)
    if not form.is_valid():
        messages.error(request, _("Choose a rule set that applies to this round."))
        return redirect("procurement:round", code=code)
    try:
        services.round_set_rule_set(round_=round_, rule_set=form.cleaned_data["rule_set"])
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("The round now uses rule set %(rule_set)s.")
            % {"rule_set": str(form.cleaned_data["rule_set"])},
        )
    return redirect("procurement:round", code=code)

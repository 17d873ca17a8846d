"""Rule sets: the list, and one rule set with its versions (the office revises it)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.models import Organization
from common.pagination import paginate
from procurement import selectors, services
from procurement.forms import RuleSetReviseForm
from procurement.models import RuleSet
from procurement.periods import rule_set_period_values
from procurement.views.shared import user_of


@login_required
def rule_set_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.rule_set_list())
    return render(request, "procurement/rule_set_list.html", {"rule_sets": page, "page_obj": page})


@login_required
def rule_set_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rule_set = get_object_or_404(RuleSet, pk=pk)
    organization = user_of(request).organization
    is_office = organization is not None and organization.kind == Organization.Kind.OFFICE
    form = None
    if is_office:
        form = RuleSetReviseForm(
            request.POST or None,
            initial={
                "parameters": json.dumps(rule_set.parameters, indent=2, ensure_ascii=False),
                "periods": json.dumps(rule_set.periods or {}, indent=2),
            },
        )
        if request.method == "POST" and form.is_valid():
            try:
                revised = services.rule_set_revise(
                    rule_set=rule_set,
                    parameters=form.cleaned_data["parameters"],
                    description=form.cleaned_data["description"],
                    periods=form.cleaned_data["periods"],
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("parameters", message)
            else:
                if revised.pk == rule_set.pk:
                    messages.success(
                        request, _("Rule set %(name)s saved.") % {"name": str(revised)}
                    )
                else:
                    messages.success(
                        request,
                        _(
                            "%(old)s is frozen (a round using it has opened bidding); your "
                            "changes were saved as %(new)s."
                        )
                        % {"old": str(rule_set), "new": str(revised)},
                    )
                return redirect("procurement:rule-set", pk=revised.pk)
    elif request.method == "POST":
        raise Http404
    rounds = rule_set.rounds.all()
    if organization is None or organization.kind != Organization.Kind.OFFICE:
        rounds = rounds.none()
    else:
        rounds = rounds.filter(office=organization)
    return render(
        request,
        "procurement/rule_set_detail.html",
        {
            "rule_set": rule_set,
            "parameters_json": json.dumps(rule_set.parameters, indent=2, ensure_ascii=False),
            "periods": rule_set_period_values(rule_set),
            "versions": RuleSet.objects.filter(name=rule_set.name).order_by("-version"),
            "rounds": rounds,
            "form": form,
        },
        status=400 if form is not None and form.errors else 200,
    )

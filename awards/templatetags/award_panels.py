"""Data for the home-page panels that show the award (read through the selectors)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from awards import selectors
from awards.models import EvaluationRun, Objection, ProvinceSelection
from procurement.models import Round

register = template.Library()

AWARD_STATES = [
    Round.Status.BIDS_OPENED,
    Round.Status.EVALUATED,
    Round.Status.OBJECTION,
    Round.Status.AWARDED,
    Round.Status.CONTRACTED,
    Round.Status.IN_EXECUTION,
]


@register.simple_tag
def award_rounds_for(user: User) -> QuerySet[Round]:
    return selectors.round_list_for_office(user=user).filter(status__in=AWARD_STATES)[:20]


@register.inclusion_tag("awards/_round_guidance_body.html", takes_context=True)
def award_round_guidance(context: dict[str, Any], round_: Round) -> dict[str, Any]:
    """What happens next on the round page once the bids are opened: who acts, by when,
    and the office's button (evaluate, publish the proposed winners, finalize)."""
    from awards import services

    now = timezone.now()
    is_office = bool(context.get("is_office"))
    official = selectors.official_run(round_=round_)
    pending = EvaluationRun.objects.filter(
        round=round_,
        is_scenario=False,
        status__in=[EvaluationRun.Status.QUEUED, EvaluationRun.Status.RUNNING],
    ).exists()
    open_objections = Objection.objects.filter(round=round_, status=Objection.Status.OPEN).count()
    period_over = now >= round_.objection_ends_at
    return {
        "round": round_,
        "is_office": is_office,
        "official": official,
        "pending": pending,
        "open_objections": open_objections,
        "period_over": period_over,
        "objection_days": services.objection_days(round_),
        "selection": ProvinceSelection.objects.filter(round=round_).first(),
        "csrf_token": context.get("csrf_token"),
    }

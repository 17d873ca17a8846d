"""Data for the home-page panels that show the award (read through the selectors)."""

from __future__ import annotations

from django import template
from django.db.models import QuerySet

from accounts.models import User
from awards import selectors
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

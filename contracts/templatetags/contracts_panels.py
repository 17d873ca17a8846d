"""Data for the panels this app contributes to other pages (read through the selectors
and the read-only services): the home pages, and the award page's contracts panel."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count

from accounts.models import User
from accounts.notifications import notification_list_for_user
from contracts import services
from contracts.models import Contract
from procurement.models import Round

register = template.Library()


@register.simple_tag
def unread_notifications(user: User) -> int:
    return notification_list_for_user(user=user).filter(read_at__isnull=True).count()


@register.simple_tag
def round_contracts(round_: Round) -> dict[str, Any]:
    """The award page's contracts panel: the round's contracts counted by status and,
    while it has none, what has to happen before they can be drawn up ("" once they can)
    and the office's request to draw them up (pending, or unfinished)."""
    counts = [
        (Contract.Status(status).label, count)
        for status, count in round_.contracts.values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
        .order_by("status")
    ]
    return {
        "counts": counts,
        "blocker": ""
        if counts or round_.status != Round.Status.AWARDED
        else services.contracts_generate_blocker(round_=round_),
        "pending": None if counts else services.contracts_generate_pending(round_=round_),
        "unfinished": None if counts else services.contracts_generate_unfinished(round_=round_),
    }

"""Panels that the bidding app contributes to pages of lower apps (home, round detail)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from bidding import selectors
from bidding.models import Bid
from procurement.models import Round

register = template.Library()


@register.inclusion_tag("bidding/_manufacturer_panel_body.html", takes_context=True)
def bidding_manufacturer_panel(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    bids = list(selectors.bid_list_for_user(user=user)[:50]) if user is not None else []
    return {
        "open_rounds": list(selectors.rounds_open_for_bidding()[:20]),
        "bids": bids,
        "active_count": sum(1 for b in bids if b.status == Bid.Status.ACTIVE),
    }


@register.inclusion_tag("bidding/_round_panel_body.html", takes_context=True)
def bidding_round_panel(context: dict[str, Any], round_: Round) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    organization = getattr(user, "organization", None) if user is not None else None
    now = timezone.now()
    return {
        "round": round_,
        "status": selectors.submission_status_for_user(user=user, round_=round_),
        "opened": selectors.round_is_opened(round_),
        "opening_due": round_.status in {Round.Status.BIDDING_OPEN, Round.Status.BIDDING_CLOSED}
        and round_.opening_at <= now,
        "is_office": organization is not None and organization.pk == round_.office_id,
        "is_manufacturer": organization is not None and organization.kind == "manufacturer",
        "bidding_open": round_.status == Round.Status.BIDDING_OPEN and round_.bid_deadline > now,
        "csrf_token": context.get("csrf_token"),
    }

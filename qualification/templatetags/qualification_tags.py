"""The qualification panels of the home pages (JICAI_HOME_PANELS) and of the round page
(JICAI_ROUND_PANELS)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count
from django.utils import timezone

from accounts.models import Organization, User
from procurement.models import Round
from qualification import selectors
from qualification.models import QualificationDocument

register = template.Library()


@register.simple_tag
def qualification_counts(user: User) -> dict[str, int]:
    """The user's organization's documents by status (parties), or the office's queues."""
    organization = getattr(user, "organization", None)
    if organization is None:
        return {}
    if organization.kind == "office":
        return {
            "registrations": selectors.registrations_pending().count(),
            "to_review": selectors.documents_to_review().count(),
            "expiring": selectors.documents_expiring().count(),
        }
    counts = dict(
        QualificationDocument.objects.filter(organization=organization)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in QualificationDocument.Status.values}


@register.inclusion_tag("qualification/_round_panel_body.html", takes_context=True)
def qualification_round_panel(context: dict[str, Any], round_: Round) -> dict[str, Any]:
    """Whether the round admits only qualified bidders; for a manufacturer, whether its
    organization's documents qualify it today (its products are checked as it bids)."""
    request = context.get("request")
    organization = getattr(getattr(request, "user", None), "organization", None)
    required = selectors.qualification_required(round_=round_)
    is_manufacturer = False
    refusal = None
    if isinstance(organization, Organization) and organization.kind == "manufacturer":
        is_manufacturer = True
        if required:
            refusal = selectors.organization_disqualified(
                manufacturer=organization, at=timezone.now()
            )
    return {
        "round": round_,
        "required": required,
        "is_manufacturer": is_manufacturer,
        "refusal": refusal,
    }

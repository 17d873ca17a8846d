"""The qualification panels of the home pages (JICAI_HOME_PANELS)."""

from __future__ import annotations

from django import template
from django.db.models import Count

from accounts.models import User
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

"""Template data for the hospitals' choice of winners for lost volume (consumables)."""

from __future__ import annotations

from django import template

from accounts.models import Organization, User
from awards.services import reassignment
from procurement.models import Round

register = template.Library()


@register.simple_tag
def lost_volume_rounds_for(user: User) -> list[tuple[Round, int]]:
    """A hospital's consumable rounds open for choices where it has lost volume, with the
    number of such items (empty for everyone else)."""
    organization = getattr(user, "organization", None)
    if organization is None or organization.kind != Organization.Kind.HOSPITAL:
        return []
    out = []
    for round_ in reassignment.choice_rounds_for_hospital(hospital=organization):
        items = reassignment.lost_volume_items(round_=round_, hospital=organization)
        if items:
            out.append((round_, len(items)))
    return out


@register.simple_tag
def lost_volume_summary(round_: Round) -> reassignment.ChoiceSummary | None:
    return reassignment.lost_volume_choice_summary(round_=round_)

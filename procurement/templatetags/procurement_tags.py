"""Template tags for the procurement home-page panels and tables."""

from __future__ import annotations

from typing import Any

from django import template

from procurement.selectors import round_list_for_user, rounds_open_for_hospital

register = template.Library()


@register.filter
def lookup(mapping: dict[str, Any], key: str) -> Any:
    """``{{ row|lookup:region.code }}``: a dict value by a computed key."""
    return mapping.get(key, "")


@register.inclusion_tag("procurement/_office_rounds.html", takes_context=True)
def office_rounds(context: dict[str, Any]) -> dict[str, Any]:
    rounds = round_list_for_user(user=context["request"].user)
    return {"rounds": rounds[:10], "count": rounds.count()}


@register.inclusion_tag("procurement/_hospital_rounds.html", takes_context=True)
def hospital_rounds(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    return {"rounds": list(rounds_open_for_hospital(hospital=user.organization))}

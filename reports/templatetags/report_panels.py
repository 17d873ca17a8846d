"""Template tags for the panels reports contributes to other apps' pages."""

from __future__ import annotations

from typing import Any

from django import template

from reports import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def my_report_documents(context: dict[str, Any]) -> list[Any]:
    """The signed-in hospital's or manufacturer's own report PDFs."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return selectors.party_documents_for_user(user=user)


@register.simple_tag(takes_context=True)
def office_report_rounds(context: dict[str, Any]) -> list[Any]:
    """The signed-in office's rounds with proposed or final awards, and their PDFs."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return selectors.rounds_for_office_panel(user=user)

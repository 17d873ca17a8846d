"""Template tags for the panels reports contributes to other apps' pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.paginator import Page

from common.pagination import paginate
from reports import selectors

register = template.Library()


# The home page holds several panels: this one pages by its own parameter.
REPORTS_PAGE_PARAM = "reports_page"
REPORTS_PER_PAGE = 10


@register.simple_tag(takes_context=True)
def my_report_documents(context: dict[str, Any]) -> Page | list[Any]:
    """The signed-in hospital's or manufacturer's own report PDFs, a page at a time
    (``?reports_page=``)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return []
    return paginate(
        request,
        selectors.party_documents_for_user(user=user),
        per_page=REPORTS_PER_PAGE,
        param=REPORTS_PAGE_PARAM,
    )


@register.simple_tag(takes_context=True)
def office_report_rounds(context: dict[str, Any]) -> list[Any]:
    """The signed-in office's rounds with proposed or final awards, and their PDFs."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return selectors.rounds_for_office_panel(user=user)

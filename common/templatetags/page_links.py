"""``{% page_query page_obj number %}``: the query string of a link to another page.

A list paginated with a parameter other than ``page`` (two lists on one page, e.g. a
manufacturer's bid results as ``?results_page=``) keeps its own number in the links and
every other parameter as it is, the other list's page included.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.context import RequestContext

register = template.Library()


@register.simple_tag(takes_context=True)
def page_query(context: RequestContext, page_obj: Any, number: int) -> str:
    params = context.request.GET.copy()
    params[getattr(page_obj, "param", "page")] = str(number)
    return f"?{params.urlencode()}"

"""Server-side pagination shared by every list page (the helper, its tag and its partial).

Lists in a national round run to tens of thousands of rows (contracts, purchases, opening
records), so no page renders them all. ``paginate`` wraps Django's ``Paginator.get_page``,
which turns a missing, non-numeric or out-of-range ``?page=`` into the nearest real page
instead of an error; the partial ``partials/pagination.html`` renders the links (with the
``page_links`` tag) and keeps every other query parameter (filters, sort, another list's
page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PER_PAGE = 50
PER_PAGE_CHOICES = (25, 50, 100, 200)


def paginate(
    request: HttpRequest,
    object_list: QuerySet[Any] | Sequence[Any],
    *,
    per_page: int = PER_PAGE,
    param: str = "page",
) -> Page:
    """The requested page of ``object_list``; ``?per_page=`` may pick 25, 50, 100 or 200.

    A queryset must be ordered, or rows could repeat or vanish between pages. ``param``
    names the page number's query parameter: a second list on the same page needs its
    own (the page's ``param`` attribute tells the partial's links which to change).
    """
    requested = request.GET.get("per_page", "")
    # Compared as text: "²".isdigit() is true, but int("²") raises.
    if requested in {str(choice) for choice in PER_PAGE_CHOICES}:
        per_page = int(requested)
    paginator = Paginator(object_list, per_page)
    page = paginator.get_page(request.GET.get(param))
    page.param = param  # type: ignore[attr-defined]
    return page

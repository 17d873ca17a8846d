"""Server-side pagination shared by every list page (the helper, its tag and its partial).

Lists in a national round run to tens of thousands of rows (contracts, purchases, opening
records), so no page renders them all. ``paginate`` wraps Django's ``Paginator.get_page``,
which turns a missing, non-numeric or out-of-range ``?page=`` into the nearest real page
instead of an error; the partial ``partials/pagination.html`` renders the links (with the
``page_links`` tag) and keeps every other query parameter (filters, sort, another list's
page).

A list that runs to hundreds of thousands of rows (a national round's ~900,000
contracts) is paged with ``count_limit``: its count stops at that many rows (a count
of ``LIMIT count_limit + 1`` rows, bounded time whatever the size) and the partial shows
"more than N" with the pages up to there; a search or a filter narrows the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

PER_PAGE = 50
PER_PAGE_CHOICES = (25, 50, 100, 200)
# The rows a long list counts before it says "more than": a count of this many rows
# takes milliseconds; a national round's lists hold ~900,000.
COUNT_LIMIT = 10_000


class CappedPaginator(Paginator):
    """A paginator whose count stops at ``limit`` rows (``capped`` tells it did): one
    count query over at most ``limit + 1`` rows, however long the list."""

    def __init__(self, object_list: Any, per_page: int, *, limit: int) -> None:
        super().__init__(object_list, per_page)
        self.limit = limit
        self.capped = False

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            counted = rows.order_by()[: self.limit + 1].count()
        else:
            counted = len(rows[: self.limit + 1])
        self.capped = counted > self.limit
        return min(counted, self.limit)


def paginate(
    request: HttpRequest,
    object_list: QuerySet[Any] | Sequence[Any],
    *,
    per_page: int = PER_PAGE,
    param: str = "page",
    count_limit: int | None = None,
) -> Page:
    """The requested page of ``object_list``; ``?per_page=`` may pick 25, 50, 100 or 200.

    A queryset must be ordered, or rows could repeat or vanish between pages. ``param``
    names the page number's query parameter: a second list on the same page needs its
    own (the page's ``param`` attribute tells the partial's links which to change).
    ``count_limit`` bounds the count (``CappedPaginator``) for lists that can be huge.
    """
    requested = request.GET.get("per_page", "")
    # Compared as text: "²".isdigit() is true, but int("²") raises.
    if requested in {str(choice) for choice in PER_PAGE_CHOICES}:
        per_page = int(requested)
    paginator = (
        Paginator(object_list, per_page)
        if count_limit is None
        else CappedPaginator(object_list, per_page, limit=count_limit)
    )
    page = paginator.get_page(request.GET.get(param))
    page.param = param  # type: ignore[attr-defined]
    return page

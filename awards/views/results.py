"""The published results of a round, and a party's own awards and allocations.

Thin: fetch through a selector and render.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from awards import selectors
from awards.views.base import party_required, search_text
from common.pagination import paginate


def results(request: HttpRequest, round_id: int) -> HttpResponse:
    """The published results: proposed winners during the objection period, then final."""
    round_, run = selectors.published_round_get(round_id=round_id)
    return render(
        request,
        "awards/results.html",
        {
            "round": round_,
            "run": run,
            "final": round_.status in selectors.FINAL,
            "items": selectors.results_tables(run=run),
            "objection_url": reverse("awards:objection-new", args=[round_.pk]),
            "provisional": selectors.provisional_rounds(round_ids=[round_.pk]).get(round_.pk, ""),
        },
    )


@party_required
def my_awards(request: HttpRequest) -> HttpResponse:
    """Results, provinces and hospital allocations; the hospital allocations a page at a
    time (a national winner supplies tens of thousands of hospitals), searchable, and each
    figure that may still change marked provisional."""
    user = request.user
    query = search_text(request)
    provinces = list(selectors.province_allocations_list_for_user(user=user))  # type: ignore[arg-type]
    page = paginate(
        request,
        selectors.hospital_allocations_matching(
            selectors.hospital_allocations_list_for_user(user=user),  # type: ignore[arg-type]
            query,
        ),
    )
    rounds = {p.run.round for p in provinces} | {a.run.round for a in page}
    provisional = selectors.provisional_rounds(round_ids={r.pk for r in rounds})
    return render(
        request,
        "awards/my_awards.html",
        {
            # Its own page parameter: the hospital allocations below read ?page=.
            "bid_results": paginate(
                request,
                selectors.bid_results_list_for_manufacturer(user=user).order_by(  # type: ignore[arg-type]
                    "-run__round__created_at", "round_item__item__code", "pk"
                ),
                param="results_page",
            ),
            "provinces": provinces,
            "page_obj": page,
            "q": query,
            "provisional": provisional,
            "provisional_notes": sorted(
                (r.code, provisional[r.pk]) for r in rounds if r.pk in provisional
            ),
            "selections": selectors.selection_list_for_manufacturer(user=user),  # type: ignore[arg-type]
        },
    )

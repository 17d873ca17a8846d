"""Hospitals: the winners, in order, for the volume of their declared products that
lost (consumable rounds, while the proposed winners are published).

Thin: check the role, fetch through a selector, validate a form, call one service.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.access import hospital_required
from accounts.models import Organization
from awards import selectors, services
from awards.forms import LostVolumeChoiceForm
from procurement.models import Round


@hospital_required
def lost_volume(request: HttpRequest, round_id: int) -> HttpResponse:
    """A hospital orders the winners that receive its volume of declared products that
    lost (consumable rounds, while the proposed winners are published)."""
    round_, _run = selectors.published_round_get(round_id=round_id)
    if round_.kind != Round.Kind.CONSUMABLES:
        raise Http404
    hospital = cast(Organization, request.user.organization)  # type: ignore[union-attr]
    items = services.lost_volume_items(round_=round_, hospital=hospital)
    blocker = services.choice_window_blocker(round_=round_)
    forms = {
        i.round_item.pk: LostVolumeChoiceForm(
            winners=i.winners, chosen=i.chosen, prefix=f"item-{i.round_item.pk}"
        )
        for i in items
    }
    page_errors: list[str] = []
    if request.method == "POST":
        posted = request.POST.get("round_item", "")
        item = next((i for i in items if str(i.round_item.pk) == posted), None)
        if item is None:
            page_errors.append(
                blocker or _("Your hospital has no volume of a losing product on this item.")
            )
        else:
            form = LostVolumeChoiceForm(
                request.POST,
                winners=item.winners,
                chosen=item.chosen,
                prefix=f"item-{item.round_item.pk}",
            )
            forms[item.round_item.pk] = form
            clear = "clear" in request.POST
            if clear or form.is_valid():
                try:
                    services.lost_volume_choice_set(
                        round_=round_,
                        round_item_id=item.round_item.pk,
                        by=request.user,  # type: ignore[arg-type]
                        opened_bid_ids=[] if clear else form.opened_bid_ids(),
                    )
                    code = item.round_item.item.code
                    messages.success(
                        request,
                        _("%(code)s: your choice is removed; the minimum-cost default applies.")
                        % {"code": code}
                        if clear or not form.opened_bid_ids()
                        else _("%(code)s: your choice of winners is saved.") % {"code": code},
                    )
                    url = reverse("awards:lost-volume", args=[round_.pk])
                    return redirect(f"{url}#item-{item.round_item.pk}")
                except ValidationError as exc:
                    for message in exc.messages:
                        form.add_error(None, message)
    return render(
        request,
        "awards/reassign.html",
        {
            "round": round_,
            "items": [(i, forms[i.round_item.pk]) for i in items],
            "blocker": blocker,
            "page_errors": page_errors,
        },
        status=400 if request.method == "POST" else 200,
    )

"""The panel the tender app contributes to the round page (``JICAI_ROUND_PANELS``)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from procurement.models import Round
from procurement.services import TIMETABLE_EDITABLE
from tender import selectors
from tender.models import Clarification

register = template.Library()


@register.inclusion_tag("tender/_round_panel_body.html", takes_context=True)
def tender_round_panel(context: dict[str, Any], round_: Round) -> dict[str, Any]:
    request = context.get("request")
    organization = getattr(getattr(request, "user", None), "organization", None)
    is_office = organization is not None and organization.pk == round_.office_id
    document = selectors.document_current(round_=round_)
    return {
        "round": round_,
        "document": document,
        "amendment_count": round_.amendments.count() if document else 0,
        "pending_count": round_.clarifications.filter(status=Clarification.Status.PENDING).count()
        if is_office
        else 0,
        "is_office": is_office,
        "is_manufacturer": organization is not None and organization.kind == "manufacturer",
        "can_amend": bool(TIMETABLE_EDITABLE.get(round_.status)),
        "questions_open": round_.status == Round.Status.BIDDING_OPEN
        and timezone.now() < selectors.question_deadline(round_=round_),
    }

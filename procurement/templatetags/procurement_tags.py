"""Template tags for the procurement home-page panels and tables."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from procurement.selectors import round_list_for_user, rounds_open_for_hospital
from procurement.transition_notes import note_text

register = template.Library()


@register.filter
def lookup(mapping: dict[str, Any], key: str) -> Any:
    """``{{ row|lookup:region.code }}``: a dict value by a computed key."""
    return mapping.get(key, "")


@register.filter
def transition_note(note: str) -> str:
    """A round history note in the reader's language (``procurement.transition_notes``)."""
    return note_text(note)


@register.inclusion_tag("procurement/_office_rounds.html", takes_context=True)
def office_rounds(context: dict[str, Any]) -> dict[str, Any]:
    rounds = round_list_for_user(user=context["request"].user)
    return {"rounds": rounds[:10], "count": rounds.count()}


@register.inclusion_tag("procurement/_hospital_rounds.html", takes_context=True)
def hospital_rounds(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    return {"rounds": list(rounds_open_for_hospital(hospital=user.organization))}


def countdown_parts(seconds: int) -> tuple[int, str]:
    """Whole days left and the rest as HH:MM:SS (what ``static/js/countdown.js`` shows)."""
    seconds = max(seconds, 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    return days, f"{hours:02d}:{minutes:02d}:{secs:02d}"


@register.inclusion_tag("procurement/_countdown.html")
def bid_countdown(round_: Any) -> dict[str, Any]:
    """The time left until the bid deadline, from the server's clock: rendered here, then
    kept running in the browser by ``static/js/countdown.js``, which measures its own
    clock's offset from the server time the page carries (a bidder's wrong clock does not
    move the deadline it sees)."""
    now = timezone.now()
    left = int((round_.bid_deadline - now).total_seconds())
    days, clock = countdown_parts(left)
    return {
        "round": round_,
        "server_now": now,
        "closed": left <= 0,
        "days": days,
        "clock": clock,
    }

"""What the award's pages share (and the contracts' pages use too): the roles, the list
search text, a row id from a query parameter, errors as messages, the office's buttons."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.access import role_required
from accounts.models import Organization
from awards import selectors

party_required = role_required(Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
any_role_required = role_required(
    Organization.Kind.OFFICE, Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER
)


def search_text(request: HttpRequest) -> str:
    """The list's search text (``?q=``), trimmed and bounded."""
    return request.GET.get("q", "").strip()[:100]


def row_id(text: str) -> int | None:
    """A row id from a query parameter; None for anything else ("²" passes ``isdigit`` but
    not ``int``; a number too large for the database column would be a 500)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def error_messages(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def office_round_action(
    request: HttpRequest, round_id: int, action: Callable[..., object], success: str
) -> HttpResponse:
    """One office button on the award page: call the service, report, back to the page."""
    round_ = selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    try:
        action(round_=round_, by=request.user)
        messages.success(request, success)
    except ValidationError as exc:
        error_messages(request, exc)
    return redirect("awards:round", round_id=round_.pk)

"""What every procurement page needs: the signed-in user, the round it names."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from accounts.models import User
from procurement import selectors
from procurement.models import Round

COLLATED = "demand-collated"  # the stored-upload purpose of the office's collated demand


def user_of(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def round_of(request: HttpRequest, code: str) -> Round:
    """The round the user may see, or 404 (``selectors.round_get_for_user``)."""
    try:
        return selectors.round_get_for_user(user=user_of(request), code=code)
    except Round.DoesNotExist as exc:
        raise Http404(_("No such round.")) from exc

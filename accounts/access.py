"""Role checks for views. A refusal is a 403 page, never a 500 or a silent redirect."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from accounts.models import Organization

View = TypeVar("View", bound=Callable[..., HttpResponse])


def role_required(*kinds: str) -> Callable[[View], View]:
    """Allow only signed-in users whose organization is one of ``kinds``.

    Anonymous users are sent to the login page; signed-in users of another role get 403.
    """

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            organization = getattr(request.user, "organization", None)
            if organization is None or organization.kind not in kinds:
                raise PermissionDenied(_("This page is not available to your organization."))
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


office_required = role_required(Organization.Kind.OFFICE)
hospital_required = role_required(Organization.Kind.HOSPITAL)
manufacturer_required = role_required(Organization.Kind.MANUFACTURER)

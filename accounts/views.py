"""Sign-in, language choice, and one home page per role."""

from __future__ import annotations

import datetime
import math
from typing import Any

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.access import hospital_required, manufacturer_required, office_required
from accounts.models import Organization
from accounts.services import api_tokens_revoke_all, user_set_language

HOME_BY_ROLE = {
    Organization.Kind.OFFICE: "accounts:office-home",
    Organization.Kind.HOSPITAL: "accounts:hospital-home",
    Organization.Kind.MANUFACTURER: "accounts:manufacturer-home",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send a signed-in user to its role's home page."""
    organization = getattr(request.user, "organization", None)
    if organization is None:
        if request.user.is_superuser:
            return redirect("admin:index")
        raise PermissionDenied(_("Your account is not attached to an organization."))
    return redirect(HOME_BY_ROLE[organization.kind])


@office_required
def office_home(request: HttpRequest) -> HttpResponse:
    counts = {
        kind.label: Organization.objects.filter(kind=kind).count() for kind in Organization.Kind
    }
    return render(
        request,
        "accounts/office_home.html",
        {"organization_counts": counts, "panels": settings.JICAI_HOME_PANELS["office"]},
    )


@hospital_required
def hospital_home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "accounts/hospital_home.html", {"panels": settings.JICAI_HOME_PANELS["hospital"]}
    )


@manufacturer_required
def manufacturer_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/manufacturer_home.html",
        {"panels": settings.JICAI_HOME_PANELS["manufacturer"]},
    )


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The sign-in page of a locked-out account (django-axes' ``AXES_LOCKOUT_CALLABLE``):
    429, with when the user may try again (in Asia/Shanghai time and in minutes) and
    ``Retry-After``. The right password does not work until then."""
    until = _lockout_ends(request, credentials)
    now = timezone.now()
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    message = _(
        "Too many failed sign-in attempts: this account is locked. You may try again at "
        "%(time)s (in %(minutes)s minutes). Signing in with the right password does not "
        "work before then."
    ) % {
        "time": date_format(timezone.localtime(until), "DATETIME_FORMAT"),
        "minutes": minutes,
    }
    form = AuthenticationForm(request)
    response = render(
        request,
        "accounts/login.html",
        {"form": form, "locked_out": message, "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(max(1, int((until - now).total_seconds())))
    return response


def _lockout_ends(request: HttpRequest, credentials: dict[str, Any] | None) -> datetime.datetime:
    """When the lockout ends: the newest failed attempt counted against this sign-in,
    plus the cool-off (each failure during the lockout starts it again)."""
    cool_off = get_cool_off(request) or datetime.timedelta(0)
    username = get_client_username(request, credentials)
    attempts = AccessAttempt.objects.all()
    attempts = attempts.filter(username=username) if username else attempts.none()
    latest = attempts.order_by("-attempt_time").values_list("attempt_time", flat=True).first()
    if latest is None:  # locked by client address only (JICAI_LOGIN_LOCKOUT_BY)
        address = getattr(request, "axes_ip_address", None)
        latest = (
            AccessAttempt.objects.filter(ip_address=address)
            .order_by("-attempt_time")
            .values_list("attempt_time", flat=True)
            .first()
        )
    return (latest or timezone.now()) + cool_off


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; remembered on the user when signed in."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or reverse("accounts:home")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("accounts:home")
    response = HttpResponseRedirect(next_url)
    if language not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        user_set_language(user=request.user, language=language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
    )
    return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change; the user's API tokens are revoked with the old password
    (someone who learnt the password may have created one), and its other sessions end
    (Django's session hash)."""

    template_name = "accounts/password_change.html"

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        if revoked := api_tokens_revoke_all(user=form.user):
            messages.info(
                self.request,
                ngettext(
                    "Your API token was revoked with the old password; create a new one "
                    "on the API token page.",
                    "Your %(count)s API tokens were revoked with the old password; create "
                    "new ones on the API token page.",
                    revoked,
                )
                % {"count": revoked},
            )
        return response

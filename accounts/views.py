"""Sign-in, language choice, and one home page per role."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import hospital_required, manufacturer_required, office_required
from accounts.models import Organization
from accounts.services import user_set_language

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

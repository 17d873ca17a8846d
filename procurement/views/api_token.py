"""A hospital's or manufacturer's API tokens: create (shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import role_required
from accounts.forms import ApiTokenForm
from accounts.models import ApiToken, Organization
from accounts.services import IssuedToken, api_token_create, api_token_revoke
from procurement.views.shared import user_of


def _page(
    request: HttpRequest, form: ApiTokenForm, issued: IssuedToken | None = None
) -> HttpResponse:
    response = render(
        request,
        "procurement/api_token.html",
        {
            "form": form,
            "issued": issued,
            "tokens": ApiToken.objects.filter(user=user_of(request)).order_by("-created"),
            "schema_url": reverse("api-schema"),
            "docs_url": reverse("api-docs"),
        },
    )
    # The page that shows a new token once is never stored by a browser or a proxy.
    add_never_cache_headers(response)
    return response


@role_required(Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def api_token(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; a POST creates one and shows it, this once only.

    The new token is rendered in the answer to the POST itself (no redirect): keeping it
    for a later page would mean storing it, in the session or elsewhere.
    """
    if request.method != "POST":
        return _page(request, ApiTokenForm())
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            issued = api_token_create(
                user=user_of(request),
                name=form.cleaned_data["name"],
                valid_days=form.cleaned_data["valid_days"],
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            return _page(request, ApiTokenForm(), issued)
    return _page(request, form)


@role_required(Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
@require_POST
def api_token_revoke_view(request: HttpRequest) -> HttpResponse:
    if api_token_revoke(user=user_of(request), digest=request.POST.get("token", "")):
        messages.success(request, _("The token was revoked; it no longer works."))
    else:
        messages.error(request, _("No such token: it was already revoked or has expired."))
    return redirect("procurement:api-token")

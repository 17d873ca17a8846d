"""A hospital's or manufacturer's API token: create or rotate it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.access import role_required
from accounts.models import Organization
from procurement.views.shared import user_of


@role_required(Organization.Kind.HOSPITAL, Organization.Kind.MANUFACTURER)
def api_token(request: HttpRequest) -> HttpResponse:
    """Create or rotate the user's API token (the old one stops working at once)."""
    user = user_of(request)
    if request.method == "POST":
        Token.objects.filter(user=user).delete()
        Token.objects.create(user=user)
        messages.success(
            request, _("A new API token was created; the previous one no longer works.")
        )
        return redirect("procurement:api-token")
    token = Token.objects.filter(user=user).first()
    return render(
        request,
        "procurement/api_token.html",
        {"token": token, "schema_url": reverse("api-schema"), "docs_url": reverse("api-docs")},
    )

"""The Django admin, for staff only: its sign-in form is never shown to anybody else.

Anonymous visitors are sent to the site's own sign-in (with its lockout, django-axes) and
come back to the admin once signed in; a signed-in user who is not staff is refused (403)
instead of being shown a second sign-in form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


class JicaiAdminSite(admin.AdminSite):
    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff:
            return super().login(request, extra_context)
        if user.is_authenticated:
            raise PermissionDenied
        target = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = ""
        return redirect_to_login(
            target or reverse("admin:index", current_app=self.name),
            login_url=reverse("accounts:login"),
        )

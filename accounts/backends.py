"""Sign-in throttling: django-axes checks the lockout before any password is compared."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' backend, for sign-ins made through a request (the sign-in page, and
    the admin's, which sends to it).

    ``authenticate()`` called without a request (Django's test client, a management
    command) has no client to count failures for; axes would refuse it outright, so it is
    left to the next backend instead. Every HTTP sign-in passes its request.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

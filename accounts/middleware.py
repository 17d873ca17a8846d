"""Apply a signed-in user's remembered language before Django's LocaleMiddleware runs;
refuse a query string holding a NUL character."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        if language and user is not None and user.is_authenticated:
            # LocaleMiddleware reads the cookie next; the user's choice wins over the browser.
            request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = language
        return self.get_response(request)


class NulQueryRefusedMiddleware:
    """A query string holding a NUL character is a 400 (Bad Request), never a 500.

    PostgreSQL text cannot hold NUL: a search box sent ``?q=%00`` failed in the database
    (DataError). Forms and the API refuse NUL in what they validate; the list views read
    their query parameters raw, so the one check is made here for all of them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in unquote_plus(request.META.get("QUERY_STRING", "")):
            raise BadRequest("NUL character in the query string")
        return self.get_response(request)

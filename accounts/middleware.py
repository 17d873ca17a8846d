"""Apply a signed-in user's remembered language before Django's LocaleMiddleware runs;
refuse a URL (path or query string) holding a NUL character."""

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


class NulRefusedMiddleware:
    """A URL holding a NUL character, in its path or its query string, is a 400 (Bad
    Request), never a 500.

    PostgreSQL text cannot hold NUL: a search box sent ``?q=%00`` failed in the database
    (DataError), and so did a round code in the path (``/bidding/rounds/X%00/opening/``,
    the API's ``/api/v1/rounds/X%00/...``), for anonymous visitors too. Forms and the API
    refuse NUL in what they validate; URL arguments and list views' query parameters are
    read raw, so the one check is made here for all of them. The 400 is the translated
    page, or JSON on the API (``config.errors.bad_request``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info or "\x00" in request.path:
            raise BadRequest("NUL character in the URL path")
        if "\x00" in unquote_plus(request.META.get("QUERY_STRING", "")):
            raise BadRequest("NUL character in the query string")
        return self.get_response(request)

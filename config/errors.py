"""Error answers: a database that times out or is gone is a 503 with ``Retry-After`` (JSON
on the API, a bilingual page elsewhere), never a 500; every API error has a JSON body.

* ``api_exception_handler`` (DRF's ``EXCEPTION_HANDLER``): DRF's own handler, plus the
  database errors and the oversized-body error that DRF would let through as a 500/HTML.
* ``server_error`` (``handler500``): the last resort for whatever a view or a middleware
  did not handle; a database error becomes the 503, anything else the usual 500 page.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found as django_page_not_found
from django.views.defaults import server_error as django_server_error
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
API_PREFIX = "/api/"
UNAVAILABLE_DETAIL = (
    "The database is busy or unreachable; nothing was changed by this request. "
    "Try again in a moment."
)


def is_database_unavailable(exc: BaseException | None) -> bool:
    """A statement timeout, a lost or refused connection: the request may succeed later.

    Django raises ``OperationalError`` for both (psycopg's ``QueryCanceled`` for
    ``statement_timeout``, ``OperationalError`` for a dropped server) and
    ``InterfaceError`` for a connection already closed under it.
    """
    return isinstance(exc, OperationalError | InterfaceError)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with ``Retry-After``: JSON on the API, the bilingual page elsewhere (it needs
    nothing from the database: no user, no organization, no translation catalogue)."""
    if is_api(request):
        response: HttpResponse = JsonResponse(
            {"detail": UNAVAILABLE_DETAIL, "code": "database_unavailable"}, status=503
        )
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: a database error -> 503 (JSON, ``Retry-After``); a body over
    Django's size limit -> 400 (JSON)."""
    response = exception_handler(exc, context)
    if response is not None:
        return response
    if is_database_unavailable(exc):
        logger.warning("database unavailable during an API request: %s", exc)
        response = Response({"detail": UNAVAILABLE_DETAIL, "code": "database_unavailable"}, 503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": str(exc), "code": "too_large"}, status=400)
    return None


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """``handler500``: called inside the ``except`` block of Django's handler, so the
    exception is ``sys.exc_info()``. A database outage is a 503; the rest a 500 (JSON on
    the API)."""
    exc = sys.exc_info()[1]
    if is_database_unavailable(exc):
        return unavailable_response(request)
    if is_api(request):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    return django_server_error(request, template_name=template_name)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: JSON on the API, the translated page elsewhere."""
    if is_api(request):
        return JsonResponse(
            {"detail": str(exception) or "Bad request.", "code": "bad_request"}, status=400
        )
    return django_bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: JSON on the API (an address no route matches, such as
    ``/api/v1/bids/-1/``, is answered by Django, not DRF), the page elsewhere."""
    if is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return django_page_not_found(request, exception)

"""The OpenAPI schema says every error an operation can answer (``DEFAULT_SCHEMA_CLASS``).

The throttles, the JSON limits, the NUL check and the database-outage handler
(``common.api``, ``accounts.middleware``, ``config.errors``) answer 400, 401, 403, 404,
429 and 503 on operations whose views never mention them; this schema class adds them
to what each view declares.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, for people."},
        "code": {"type": "string", "description": "A stable code, for programs."},
    },
    "required": ["detail"],
}
FIELD_ERRORS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Invalid fields: each field's name maps to its messages (a list of "
    "strings, or per line of a list the same structure).",
    "additionalProperties": {},
    "minProperties": 1,
}
RETRY_AFTER_HEADER: dict[str, Any] = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds to wait before trying again.",
    }
}
ERROR_DESCRIPTIONS = {
    "400": "The request was not understood: malformed JSON, a body or nesting over the "
    "limits, a NUL character in the URL, or invalid fields.",
    "401": "No valid credentials (a missing, unknown or expired token).",
    "403": "Signed in, but this operation is not for your organization (or, with a "
    "session, the CSRF token is missing).",
    "404": "No such object that you may see, or no such page of the list.",
    "429": "Too many requests: wait for Retry-After seconds.",
    "503": "The database is busy or unreachable; nothing was changed. Retry after "
    "Retry-After seconds.",
}


def _also_malformed(response: dict[str, Any]) -> None:
    """A view's own 400 may also be the malformed-request answer (a NUL in the URL is
    refused before the view runs): its schema becomes "the view's, or an Error"."""
    for media in response.get("content", {}).values():
        schema = media.get("schema")
        if schema is not None and schema is not ERROR_SCHEMA:
            media["schema"] = {"anyOf": [schema, ERROR_SCHEMA]}


class ErrorsDeclaredAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the errors every operation can answer added to
    what its view declares (a view's own declaration of a code wins):

    * 400 (any operation: the URL, the query or the body can be malformed),
    * 401 and 403 where the view authenticates or restricts,
    * 404 where the path or the body names an object, or the list is paged,
    * 429 where a throttle applies and 503 always, both with ``Retry-After``.

    Each body is ``{"detail": ..., "code": ...}``; a 400 may also be DRF's field errors.
    """

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code in responses:
                if code == "400":
                    _also_malformed(responses[code])
                continue
            schema: dict[str, Any] = (
                {"anyOf": [ERROR_SCHEMA, FIELD_ERRORS_SCHEMA]} if code == "400" else ERROR_SCHEMA
            )
            responses[code] = {
                "content": {"application/json": {"schema": schema}},
                "description": ERROR_DESCRIPTIONS[code],
            }
        for code in ("429", "503"):
            if code in responses:
                responses[code].setdefault("headers", {}).update(RETRY_AFTER_HEADER)
        return responses

    def _error_codes(self) -> list[str]:
        view = self.view
        authenticates = bool(view.get_authenticators())
        restricted = any(not isinstance(p, AllowAny) for p in view.get_permissions())
        codes = ["400"]
        if authenticates:
            codes.append("401")
        if restricted or (authenticates and self.method not in ("GET", "HEAD", "OPTIONS")):
            codes.append("403")
        paged = self._is_list_view() and self._get_paginator() is not None
        # A change names objects in its body too (a round code, a contract number).
        changes = self.method not in ("GET", "HEAD", "OPTIONS")
        if "{" in self.path or paged or changes:
            codes.append("404")
        if view.get_throttles():
            codes.append("429")
        codes.append("503")
        return codes

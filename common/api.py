"""What every REST endpoint shares: a JSON parser with size and depth limits, and the
throttles (per user or token, per client address for anonymous callers). The schema
class that declares the errors they answer is ``common.api_schema`` (apart, because
drf-spectacular imports DRF's views, which import these parsers).

Domain-free: the limits come from settings (``JICAI_API_MAX_BODY_BYTES``,
``JICAI_API_MAX_JSON_DEPTH``, DRF's ``DEFAULT_THROTTLE_RATES``), read when a request is
parsed, never at import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, renderers, serializers, throttling
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.settings import api_settings

from common.numbers import NumberRefused, parse_decimal, parse_whole_number

_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)


def bracket_depth(data: bytes) -> int:
    """An upper bound of a JSON text's nesting, counted on its bytes without parsing
    (vectorised: a 5 MB body takes milliseconds). Brackets inside strings count too, so
    the true depth (``value_depth``) is never larger."""
    codes = np.frombuffer(data, dtype=np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int32) - np.isin(codes, _CLOSE).astype(np.int32)
    return int(np.cumsum(steps).max()) if len(steps) else 0


def value_depth(value: object) -> int:
    """The nesting of a parsed JSON value (0 for a scalar), walked without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return deepest


class LimitedJSONParser(BaseParser):
    """A JSON parser refusing (400, with a JSON body) a body over
    ``JICAI_API_MAX_BODY_BYTES`` or nested deeper than ``JICAI_API_MAX_JSON_DEPTH``
    before it is parsed.

    Not a subclass of DRF's ``JSONParser`` on purpose: DRF reads a ``JSONParser``'s body
    through ``request.body``, which Django caps at ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (5 MB,
    meant for form posts) with an HTML 400, so the documented 50,000-line demand request
    could not be sent. This parser reads the stream itself, up to its own limit.
    """

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = int(settings.JICAI_API_MAX_BODY_BYTES)
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise exceptions.ParseError(
                f"The request body is larger than {limit:,} bytes; send fewer lines per request."
            )
        depth_limit = int(settings.JICAI_API_MAX_JSON_DEPTH)
        too_deep = exceptions.ParseError(
            f"The JSON is nested deeper than {depth_limit} levels; it is not a valid request."
        )
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            value = json.loads(data.decode(encoding), parse_constant=_refuse_constant)
        except RecursionError as exc:  # Python's parser recurses once per level
            raise too_deep from exc
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        # Brackets are counted first (cheap); only a body that may be too deep is walked.
        if bracket_depth(data) > depth_limit and value_depth(value) > depth_limit:
            raise too_deep
        return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# --- numbers: the one policy of common.numbers, as serializer fields -----------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1},
            {"type": "string", "pattern": "^\\s*[0-9０-９][0-9０-９,，]*(\\.0+)?\\s*$"},
        ],
        "description": "A whole number: a JSON integer, or text of digits (full-width "
        "digits and thousands separators in groups of three accepted; no sign, no "
        "exponent).",
        "example": 1200,
    }
)
class WholeNumberField(serializers.Field):
    """A quantity or capacity read by ``common.numbers.parse_whole_number``."""

    def __init__(self, *, minimum: int = 1, **kwargs: Any) -> None:
        self.minimum = minimum
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        try:
            return parse_whole_number(data, minimum=self.minimum)
        except NumberRefused as refused:
            raise serializers.ValidationError(refused.message) from refused

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^\\s*[0-9０-９][0-9０-９,，]*([.．][0-9０-９]+)?\\s*$",
        "description": "A decimal above zero as text (full-width digits and thousands "
        "separators accepted; no sign, no exponent).",
        "example": "12.50",
    }
)
class PriceField(serializers.Field):
    """A price read by ``common.numbers.parse_decimal`` (a JSON number is read from its
    text; it is documented as a string, the exact form)."""

    def __init__(self, *, places: int = 4, **kwargs: Any) -> None:
        self.places = places
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            return parse_decimal(data, places=self.places)
        except NumberRefused as refused:
            raise serializers.ValidationError(refused.message) from refused

    def to_representation(self, value: Any) -> Any:
        return str(value)


# --- throttles ------------------------------------------------------------------------------


def _auth_key(request: Request) -> str | None:
    """What identifies the caller: the API token if one authenticated the request (two
    tokens of one user are throttled apart), else the signed-in user, else None.

    Generic on purpose: any authentication class works (DRF's tokens, hashed tokens):
    a token object is keyed by its primary key, a string credential by itself.
    """
    auth = getattr(request, "auth", None)
    if auth is not None:
        key = getattr(auth, "pk", None)
        if key is None and isinstance(auth, str | bytes):
            key = auth
        if key is not None:
            return f"token-{type(auth).__name__}-{key}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user-{user.pk}"
    return None


class _SettingsRate(throttling.SimpleRateThrottle):
    """The rate is read from the settings when a request is checked (DRF reads it once,
    at import), so a changed setting takes effect. A scope set to None is not throttled."""

    def get_rate(self) -> str | None:
        rate = (api_settings.DEFAULT_THROTTLE_RATES or {}).get(str(self.scope))
        return str(rate) if rate else None


class TokenRateThrottle(_SettingsRate):
    """Requests per API token (or per signed-in session when no token was used)."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        ident = _auth_key(request)
        if ident is None:
            return None  # anonymous: AnonRateThrottle
        return self.cache_format % {"scope": self.scope, "ident": ident}


class UserRateThrottle(_SettingsRate):
    """Requests per signed-in user across all of its tokens and sessions (so minting
    more tokens buys no more requests)."""

    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class AnonRateThrottle(_SettingsRate):
    """Requests per client address from callers that are not signed in."""

    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if _auth_key(request) is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class WriteRateThrottle(_SettingsRate):
    """Changes (POST, PUT, PATCH, DELETE) per token, session or client address: a
    tighter rate than reads."""

    scope = "write"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        ident = _auth_key(request) or f"anon-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

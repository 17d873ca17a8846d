"""API authentication with hashed, expiring tokens (django-rest-knox).

Clients send ``Authorization: Token <token>`` as before. The token is hashed (SHA-512,
knox's ``hash_token``) and looked up by its digest, the primary key, in one query; the
database never holds the token itself. An expired token is refused with a message saying
so; a revoked one no longer exists.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from rest_framework import exceptions

from accounts.models import ApiToken


class ApiTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token: bytes) -> tuple[Any, ApiToken]:
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        found = (
            ApiToken.objects.select_related("user", "user__organization")
            .filter(digest=hash_token(text))
            .first()
        )
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if found.expiry is not None and found.expiry <= timezone.now():
            raise exceptions.AuthenticationFailed(
                _("This API token expired on %(date)s. Create a new one on the API token page.")
                % {"date": date_format(timezone.localtime(found.expiry), "Y-m-d H:i")}
            )
        return self.validate_user(found)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme: ``Authorization: Token <token>`` (as DRF's token
    scheme was declared, so clients see no change)."""

    target_class = "accounts.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        definition: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Token",  # noqa: S106 - the header scheme, not a secret
        )
        definition["description"] = (
            "An API token created on the API token page, sent as `Authorization: Token "
            "<token>`. Tokens expire (their validity is chosen at creation) and can be revoked."
        )
        return definition

"""State changes for accounts: organizations, users, language choice, API tokens."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiToken, Organization, Region, User
from accounts.regions import PROVINCES
from accounts.uscc import validate_uscc


@transaction.atomic
def organization_upsert(
    *,
    kind: str,
    name: str,
    social_credit_code: str,
    region: Region,
    name_en: str = "",
    hospital_grade: int | None = None,
) -> tuple[Organization, bool]:
    """Create or update an organization keyed by its social credit code.

    Returns ``(organization, created)``. Validates the code and the grade rule first.
    """
    code = validate_uscc(social_credit_code)
    organization, created = Organization.objects.get_or_create(
        social_credit_code=code,
        defaults={
            "kind": kind,
            "name": name,
            "name_en": name_en,
            "region": region,
            "hospital_grade": hospital_grade,
        },
    )
    if not created:
        changed = False
        for field, value in {
            "kind": kind,
            "name": name,
            "name_en": name_en,
            "region": region,
            "hospital_grade": hospital_grade,
        }.items():
            if getattr(organization, field) != value:
                setattr(organization, field, value)
                changed = True
        if changed:
            organization.full_clean()
            organization.save()
    else:
        organization.full_clean()
    return organization, created


def user_set_language(*, user: User, language: str) -> None:
    """Remember a user's language choice (one of settings.LANGUAGES)."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"unsupported language {language!r}")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


def regions_ensure() -> int:
    """Make sure the 31 provincial units exist (idempotent); returns how many were created."""
    existing = set(Region.objects.values_list("code", flat=True))
    missing = [
        Region(code=c, name_zh=zh, name_en=en) for c, zh, en in PROVINCES if c not in existing
    ]
    Region.objects.bulk_create(missing)
    return len(missing)


# --- API tokens (django-rest-knox, stored as digests; docs/security.md) ----------------------


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: ``key`` is the only copy of the token and is shown once."""

    token: ApiToken
    key: str


def api_token_validity_days() -> list[int]:
    """The validity periods a user may choose, in days (up to JICAI_API_TOKEN_MAX_DAYS)."""
    longest = settings.JICAI_API_TOKEN_MAX_DAYS
    return sorted({d for d in (30, 90, 180, 365) if d <= longest} | {longest})


@transaction.atomic
def api_token_create(*, user: User, name: str, valid_days: int | None = None) -> IssuedToken:
    """Create a named API token valid for ``valid_days`` (default JICAI_API_TOKEN_DAYS).

    Refused (ValidationError, nothing written) for an empty or duplicate name, a validity
    outside 1..JICAI_API_TOKEN_MAX_DAYS days, or when the user already holds
    JICAI_API_TOKENS_PER_USER unexpired tokens. Expired tokens of the user are deleted first.
    """
    name = name.strip()
    days = settings.JICAI_API_TOKEN_DAYS if valid_days is None else valid_days
    longest = settings.JICAI_API_TOKEN_MAX_DAYS
    if not name:
        raise ValidationError(_("Give the token a name, e.g. the system that will use it."))
    if len(name) > 100:
        raise ValidationError(_("A token name has at most 100 characters."))
    if not 1 <= days <= longest:
        raise ValidationError(_("A token is valid for 1 to %(days)s days.") % {"days": longest})
    User.objects.select_for_update().get(pk=user.pk)  # one creation per user at a time
    now = timezone.now()
    ApiToken.objects.filter(user=user, expiry__lte=now).delete()
    if ApiToken.objects.filter(user=user, name=name).exists():
        raise ValidationError(
            _("You already have a token named “%(name)s”. Choose another name or revoke it.")
            % {"name": name}
        )
    limit = settings.JICAI_API_TOKENS_PER_USER
    if ApiToken.objects.filter(user=user).count() >= limit:
        raise ValidationError(
            _("You already have %(limit)s tokens. Revoke one you no longer use first.")
            % {"limit": limit}
        )
    token, key = ApiToken.objects.create(user=user, name=name, expiry=datetime.timedelta(days=days))
    return IssuedToken(token=token, key=key)


def api_token_revoke(*, user: User, digest: str) -> bool:
    """Revoke (delete) one of the user's tokens; False if it has none by that digest."""
    deleted, _rows = ApiToken.objects.filter(user=user, digest=digest).delete()
    return bool(deleted)


def api_tokens_revoke_all(*, user: User) -> int:
    """Revoke every token of the user (after a password change); returns how many."""
    deleted, _rows = ApiToken.objects.filter(user=user).delete()
    return deleted


def api_tokens_expired_delete(*, now: datetime.datetime) -> int:
    """Delete expired tokens (a deadline check, every minute; they are refused anyway)."""
    deleted, _rows = ApiToken.objects.filter(expiry__lte=now).delete()
    return deleted

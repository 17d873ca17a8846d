"""State changes for accounts: organizations, users, language choice."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import Organization, Region, User
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

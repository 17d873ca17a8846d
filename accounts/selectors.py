"""Reads of organizations and users, with the access checks."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Organization, Region, User


def organization_get_for_user(*, user: User, organization_id: int) -> Organization:
    """Return the organization only if the user acts for it (superusers: any)."""
    queryset = Organization.objects.select_related("region")
    if user.is_superuser:
        return queryset.get(pk=organization_id)
    return queryset.get(pk=organization_id, users=user)


def organization_list(*, kind: str | None = None) -> QuerySet[Organization]:
    queryset = Organization.objects.select_related("region")
    return queryset.filter(kind=kind) if kind else queryset


def region_list() -> QuerySet[Region]:
    return Region.objects.all()

"""Reads of the catalog, with the access checks."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Organization, User
from catalog.models import ProcurementItem, Product, Specification


def product_list_for_user(*, user: User) -> QuerySet[Product]:
    """A manufacturer's own products; the office sees every product."""
    organization = user.organization
    queryset = Product.objects.select_related("item", "specification", "manufacturer")
    if organization is None:
        return queryset.none()
    if organization.kind == Organization.Kind.MANUFACTURER:
        return queryset.filter(manufacturer=organization)
    if organization.kind == Organization.Kind.OFFICE:
        return queryset
    return queryset.none()


def item_list() -> QuerySet[ProcurementItem]:
    return ProcurementItem.objects.prefetch_related("specifications").order_by("kind", "code")


def specification_choices() -> QuerySet[Specification]:
    return Specification.objects.select_related("item").order_by("item__code", "code")

"""Reads of the catalog, with the access checks."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Organization, User
from catalog.models import ProcurementItem, Product, Specification


def product_list_for_user(*, user: User, query: str = "") -> QuerySet[Product]:
    """A manufacturer's own products; the office sees every product. Ordered for paging.

    ``query`` keeps the products whose item code or name, product name, approval or
    registration number, model or manufacturer contains it.
    """
    organization = user.organization
    queryset = Product.objects.select_related("item", "specification", "manufacturer").order_by(
        "item__code", "specification__code", "name", "pk"
    )
    if organization is None:
        return queryset.none()
    if organization.kind == Organization.Kind.MANUFACTURER:
        queryset = queryset.filter(manufacturer=organization)
    elif organization.kind != Organization.Kind.OFFICE:
        return queryset.none()
    query = query.strip()
    if query:
        queryset = queryset.filter(
            Q(item__code__icontains=query)
            | Q(item__name__icontains=query)
            | Q(item__name_en__icontains=query)
            | Q(name__icontains=query)
            | Q(name_en__icontains=query)
            | Q(approval_number__icontains=query)
            | Q(registration_number__icontains=query)
            | Q(model_number__icontains=query)
            | Q(manufacturer__name__icontains=query)
            | Q(manufacturer__name_en__icontains=query)
        )
    return queryset


def item_list(*, query: str = "") -> QuerySet[ProcurementItem]:
    """Catalog items, ordered for paging; ``query`` matches the code or a name."""
    queryset = ProcurementItem.objects.prefetch_related("specifications").order_by("kind", "code")
    query = query.strip()
    if query:
        queryset = queryset.filter(
            Q(code__icontains=query)
            | Q(name__icontains=query)
            | Q(name_en__icontains=query)
            | Q(generic_name__icontains=query)
        )
    return queryset


def specification_choices() -> QuerySet[Specification]:
    return Specification.objects.select_related("item").order_by("item__code", "code")

"""Template tags for the catalog's home-page panel."""

from __future__ import annotations

from typing import Any

from django import template

from catalog.selectors import product_list_for_user

register = template.Library()


@register.inclusion_tag("catalog/_manufacturer_products.html", takes_context=True)
def manufacturer_products(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    products = product_list_for_user(user=request.user)
    return {"products": products[:10], "count": products.count()}

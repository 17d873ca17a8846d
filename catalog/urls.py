"""Pages of the catalog app (see docs/architecture.md)."""

from django.urls import path  # noqa: F401

app_name = "catalog"

urlpatterns: list = []

"""Pages of the procurement app (see docs/architecture.md)."""

from django.urls import path  # noqa: F401

app_name = "procurement"

urlpatterns: list = []

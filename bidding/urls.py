"""Pages of the bidding app (see docs/architecture.md)."""

from django.urls import path  # noqa: F401

app_name = "bidding"

urlpatterns: list = []

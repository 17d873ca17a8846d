"""REST API v1 routes of the procurement app, included under /api/v1/."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

"""REST API v1 routes of the reports app, included under /api/v1/."""

from django.urls import path

from reports import api

urlpatterns = [
    path("rounds/<str:code>/ocds/", api.RoundOcdsView.as_view(), name="api-round-ocds"),
]

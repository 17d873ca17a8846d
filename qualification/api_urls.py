"""REST API v1 routes of the qualification app, included under /api/v1/."""

from django.urls import path

from qualification import api

urlpatterns = [
    path(
        "qualification/documents/",
        api.MyDocumentsView.as_view(),
        name="api-qualification-documents",
    ),
]

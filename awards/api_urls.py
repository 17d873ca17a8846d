"""REST API v1 routes of the award, included under /api/v1/."""

from django.urls import path

from awards import api

urlpatterns = [
    path("allocations/", api.AllocationListView.as_view(), name="api-allocations"),
    path(
        "rounds/<int:round_id>/evaluations/",
        api.EvaluationView.as_view(),
        name="api-evaluations",
    ),
    path("evaluation-runs/<int:run_id>/", api.RunDetailView.as_view(), name="api-run"),
]

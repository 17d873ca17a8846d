"""REST API v1 routes of awards and contracts, included under /api/v1/."""

from django.urls import path

from contracts import api

urlpatterns = [
    path("allocations/", api.AllocationListView.as_view(), name="api-allocations"),
    path("contracts/", api.ContractListView.as_view(), name="api-contracts"),
    path("contracts/<int:contract_id>/", api.ContractDetailView.as_view(), name="api-contract"),
    path("purchases/", api.PurchaseView.as_view(), name="api-purchases"),
    path("progress/", api.ProgressView.as_view(), name="api-progress"),
    path(
        "rounds/<int:round_id>/evaluations/",
        api.EvaluationView.as_view(),
        name="api-evaluations",
    ),
    path("evaluation-runs/<int:run_id>/", api.RunDetailView.as_view(), name="api-run"),
]

"""REST API v1 routes of contracts and their execution, included under /api/v1/."""

from django.urls import path

from contracts import api

urlpatterns = [
    path("contracts/", api.ContractListView.as_view(), name="api-contracts"),
    path("contracts/<int:contract_id>/", api.ContractDetailView.as_view(), name="api-contract"),
    path("purchases/", api.PurchaseView.as_view(), name="api-purchases"),
    path("progress/", api.ProgressView.as_view(), name="api-progress"),
]

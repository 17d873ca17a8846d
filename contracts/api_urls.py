"""REST API v1 routes of contracts and their execution, included under /api/v1/."""

from django.urls import path

from contracts import api

urlpatterns = [
    path("contracts/", api.ContractListView.as_view(), name="api-contracts"),
    path("contracts/<int:contract_id>/", api.ContractDetailView.as_view(), name="api-contract"),
    path(
        "contracts/<int:contract_id>/signing-content/",
        api.ContractSigningContentView.as_view(),
        name="api-contract-signing-content",
    ),
    path(
        "contracts/<int:contract_id>/confirm/",
        api.ContractConfirmView.as_view(),
        name="api-contract-confirm",
    ),
    path("purchases/", api.PurchaseView.as_view(), name="api-purchases"),
    path("progress/", api.ProgressView.as_view(), name="api-progress"),
]

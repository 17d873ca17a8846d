"""REST API v1 routes of the bidding app, included under /api/v1/."""

from django.urls import path

from bidding import api

urlpatterns = [
    path("bids/", api.BidListCreateView.as_view(), name="api-bids"),
    path("bids/<int:bid_id>/", api.BidDetailView.as_view(), name="api-bid"),
    path("bids/<int:bid_id>/revise/", api.BidReviseView.as_view(), name="api-bid-revise"),
    path("bids/<int:bid_id>/withdraw/", api.BidWithdrawView.as_view(), name="api-bid-withdraw"),
    path("receipts/<int:version_id>/", api.ReceiptView.as_view(), name="api-receipt"),
    path("rounds/<str:code>/opening/", api.OpeningView.as_view(), name="api-opening"),
]

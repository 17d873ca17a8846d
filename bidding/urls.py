"""Pages of the bidding app (see docs/architecture.md and docs/sealed-bidding.md)."""

from django.urls import path

from bidding import ceremony_views, views

app_name = "bidding"

urlpatterns = [
    path("", views.home, name="home"),
    path("openings/", views.openings, name="openings"),
    path("rounds/<str:code>/sheet/", views.bid_sheet, name="sheet"),
    path("rounds/<str:code>/sheet/template.xlsx", views.bid_sheet_template, name="sheet-template"),
    path("rounds/<str:code>/sheet/upload/", views.bid_sheet_upload, name="sheet-upload"),
    path("rounds/<str:code>/my-bids/", views.round_bids, name="round-bids"),
    path("rounds/<str:code>/status/", views.submission_status, name="round-status"),
    path("rounds/<str:code>/open/", views.open_bids, name="open"),
    path("rounds/<str:code>/ceremony/", ceremony_views.ceremony, name="ceremony"),
    path("rounds/<str:code>/opening/", views.opening, name="opening"),
    path("rounds/<str:code>/opening.csv", views.opening_csv, name="opening-csv"),
    path("rounds/<str:code>/log/", views.log_inclusion_page, name="log"),
    path(
        "rounds/<str:code>/opening/decide/<int:opened_id>/",
        views.tampered_bid_decide_view,
        name="tamper-decide",
    ),
    path("bids/<int:bid_id>/", views.bid_detail, name="bid-detail"),
    path("bids/<int:bid_id>/withdraw/", views.bid_withdraw_view, name="withdraw"),
    path("receipts/<int:version_id>/", views.receipt, name="receipt"),
    path("receipts/<int:version_id>/download/", views.receipt_download, name="receipt-download"),
]

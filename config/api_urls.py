"""REST API v1: each app contributes its routes here."""

from django.urls import include, path

from accounts.api import MeView
from accounts.signing_api import SigningKeysView

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("signing-keys/", SigningKeysView.as_view(), name="api-signing-keys"),
    path("", include("catalog.api_urls")),
    path("", include("procurement.api_urls")),
    path("", include("tender.api_urls")),
    path("", include("qualification.api_urls")),
    path("", include("bidding.api_urls")),
    path("", include("awards.api_urls")),
    path("", include("contracts.api_urls")),
    path("", include("reports.api_urls")),
]

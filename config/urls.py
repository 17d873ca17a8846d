"""Top-level URL configuration.

Pages live under a language-neutral path; the language comes from the user's choice
(stored on the user and in a cookie), switched by ``accounts:language``.
"""

from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever the page says; answer from the static files.

    The URL is looked up per request, not at import: in production the hashed name comes
    from the collectstatic manifest, which need not exist when the URLconf is loaded.
    """
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("", include("accounts.urls")),
    path("catalog/", include("catalog.urls")),
    path("rounds/", include("procurement.urls")),
    path("tender/", include("tender.urls")),
    path("qualification/", include("qualification.urls")),
    path("bidding/", include("bidding.urls")),
    # The award's pages and the contracts' pages share /awards/ (their paths do not overlap).
    path("awards/", include("awards.urls")),
    path("awards/", include("contracts.urls")),
    path("reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (no inline script: CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("config.api_urls")),
]

# A database outage is a 503 with Retry-After, never a 500; the API answers in JSON.
handler400 = "config.errors.bad_request"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"

"""Top-level URL configuration.

Pages live under a language-neutral path; the language comes from the user's choice
(stored on the user and in a cookie), switched by ``accounts:language``.
"""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page says; answer from the static files.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("", include("accounts.urls")),
    path("catalog/", include("catalog.urls")),
    path("rounds/", include("procurement.urls")),
    path("bidding/", include("bidding.urls")),
    path("awards/", include("contracts.urls")),
    path("reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("config.api_urls")),
]

"""REST API v1 routes of the procurement app, included under /api/v1/."""

from django.urls import path

from procurement import api

urlpatterns = [
    path("rounds/", api.RoundListView.as_view(), name="api-rounds"),
    path("rounds/<str:code>/", api.RoundDetailView.as_view(), name="api-round"),
    path("rounds/<str:code>/demand/", api.DemandView.as_view(), name="api-demand"),
    path(
        "rounds/<str:code>/demand/<int:pk>/", api.DemandLineView.as_view(), name="api-demand-line"
    ),
]

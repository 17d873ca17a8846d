"""REST API v1 routes of the tender app, included under /api/v1/."""

from django.urls import path

from tender import api

urlpatterns = [
    path("rounds/<str:code>/document/", api.DocumentView.as_view(), name="api-round-document"),
    path(
        "rounds/<str:code>/amendments/",
        api.AmendmentListView.as_view(),
        name="api-round-amendments",
    ),
    path(
        "rounds/<str:code>/clarifications/",
        api.ClarificationListView.as_view(),
        name="api-round-clarifications",
    ),
    path(
        "rounds/<str:code>/clarifications/mine/",
        api.MyClarificationsView.as_view(),
        name="api-my-clarifications",
    ),
    path(
        "rounds/<str:code>/clarifications/<int:pk>/answer/",
        api.ClarificationAnswerView.as_view(),
        name="api-clarification-answer",
    ),
]

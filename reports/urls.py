"""Report pages and downloads, under /reports/ (public pages need no sign-in)."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.public_index, name="public-index"),
    path("rounds/<int:round_id>/", views.public_round, name="public-round"),
    path(
        "rounds/<int:round_id>/award-result-<str:language>.pdf",
        views.award_pdf,
        name="award-pdf",
    ),
    path("rounds/<int:round_id>/price-cuts.xlsx", views.public_xlsx, name="public-xlsx"),
    path("rounds/<int:round_id>/ocds.json", views.ocds_json, name="ocds"),
    path("rounds/<int:round_id>/ocds/index.json", views.ocds_index, name="ocds-index"),
    path("rounds/<int:round_id>/ocds/<int:number>.json", views.ocds_part, name="ocds-part"),
    path("office/rounds/<int:round_id>/price-cuts.xlsx", views.office_xlsx, name="office-xlsx"),
    path("office/rounds/<str:code>/history/", views.round_history, name="round-history"),
    path("office/rounds/<int:round_id>/", views.office_analysis, name="office-analysis"),
    path("office/rounds/<int:round_id>/publish/", views.publish, name="publish"),
    path("office/rounds/<int:round_id>/ocds/rebuild/", views.ocds_rebuild, name="ocds-rebuild"),
    path(
        "office/rounds/<int:round_id>/publication/",
        views.award_job_progress,
        name="award-job-progress",
    ),
    path(
        "office/rounds/<int:round_id>/party-reports/",
        views.party_job_progress,
        name="party-job-progress",
    ),
    path(
        "office/rounds/<int:round_id>/publish-party-reports/",
        views.publish_party_reports,
        name="publish-party-reports",
    ),
    path(
        "mine/rounds/<int:round_id>/report-<str:language>.pdf",
        views.party_report_pdf,
        name="party-pdf",
    ),
]

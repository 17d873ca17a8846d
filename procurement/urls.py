"""Pages of the procurement app (see docs/architecture.md), under /rounds/."""

from django.urls import path

from procurement import views

app_name = "procurement"

urlpatterns = [
    path("", views.round_list, name="rounds"),
    path("new/", views.round_create, name="round-create"),
    path("rule-sets/", views.rule_set_list, name="rule-sets"),
    path("rule-sets/<int:pk>/", views.rule_set_detail, name="rule-set"),
    path("api-token/", views.api_token, name="api-token"),
    path("<str:code>/", views.round_detail, name="round"),
    path("<str:code>/transition/", views.round_transition, name="round-transition"),
    path("<str:code>/cancel/", views.round_cancel, name="round-cancel"),
    path("<str:code>/timetable/", views.round_timetable, name="round-timetable"),
    path("<str:code>/rule-set/", views.round_rule_set, name="round-rule-set"),
    path("<str:code>/prices/", views.round_prices, name="round-prices"),
    path("<str:code>/prices/import/", views.ceiling_import_view, name="ceiling-import"),
    path("<str:code>/prices/template.xlsx", views.ceiling_template, name="ceiling-template"),
    path("<str:code>/demand/", views.demand_table, name="demand"),
    path("<str:code>/demand/upload/", views.demand_upload, name="demand-upload"),
    path("<str:code>/demand/template.xlsx", views.demand_template, name="demand-template"),
    path("<str:code>/demand/<int:pk>/remove/", views.demand_remove, name="demand-remove"),
    path("<str:code>/demand/history/", views.demand_history, name="demand-history"),
    path("<str:code>/demand/totals/", views.demand_totals, name="demand-totals"),
    path("<str:code>/demand/totals.xlsx", views.demand_totals_xlsx, name="demand-totals-xlsx"),
    path("<str:code>/demand/missing.xlsx", views.demand_missing_xlsx, name="demand-missing-xlsx"),
    path("<str:code>/demand/import/", views.demand_office_import, name="demand-office-import"),
    path(
        "<str:code>/demand/import/<uuid:token>/",
        views.demand_office_import_status,
        name="demand-office-import-status",
    ),
]

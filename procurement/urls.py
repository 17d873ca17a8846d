"""Pages of the procurement app (see docs/architecture.md), under /rounds/."""

from django.urls import path

from procurement.views import api_token, demand, demand_office, prices, rounds, rule_sets

app_name = "procurement"

urlpatterns = [
    path("", rounds.round_list, name="rounds"),
    path("new/", rounds.round_create, name="round-create"),
    path("rule-sets/", rule_sets.rule_set_list, name="rule-sets"),
    path("rule-sets/<int:pk>/", rule_sets.rule_set_detail, name="rule-set"),
    path("api-token/", api_token.api_token, name="api-token"),
    path("api-token/revoke/", api_token.api_token_revoke_view, name="api-token-revoke"),
    path("<str:code>/", rounds.round_detail, name="round"),
    path("<str:code>/transition/", rounds.round_transition, name="round-transition"),
    path("<str:code>/cancel/", rounds.round_cancel, name="round-cancel"),
    path("<str:code>/timetable/", rounds.round_timetable, name="round-timetable"),
    path("<str:code>/rule-set/", rounds.round_rule_set, name="round-rule-set"),
    path(
        "<str:code>/items/<int:round_item_id>/rule-set/",
        rounds.round_item_rule_set,
        name="round-item-rule-set",
    ),
    path("<str:code>/prices/", prices.round_prices, name="round-prices"),
    path("<str:code>/prices/import/", prices.ceiling_import_view, name="ceiling-import"),
    path("<str:code>/prices/template.xlsx", prices.ceiling_template, name="ceiling-template"),
    path("<str:code>/demand/", demand.demand_table, name="demand"),
    path("<str:code>/demand/upload/", demand.demand_upload, name="demand-upload"),
    path("<str:code>/demand/template.xlsx", demand.demand_template, name="demand-template"),
    path("<str:code>/demand/<int:pk>/remove/", demand.demand_remove, name="demand-remove"),
    path("<str:code>/demand/history/", demand.demand_history, name="demand-history"),
    path("<str:code>/demand/totals/", demand_office.demand_totals, name="demand-totals"),
    path(
        "<str:code>/demand/totals.xlsx", demand_office.demand_totals_xlsx, name="demand-totals-xlsx"
    ),
    path(
        "<str:code>/demand/missing.xlsx",
        demand_office.demand_missing_xlsx,
        name="demand-missing-xlsx",
    ),
    path(
        "<str:code>/demand/import/", demand_office.demand_office_import, name="demand-office-import"
    ),
    path(
        "<str:code>/demand/import/<uuid:token>/",
        demand_office.demand_office_import_status,
        name="demand-office-import-status",
    ),
]

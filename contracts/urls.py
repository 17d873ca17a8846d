"""Award pages, under /awards/."""

from django.urls import path

from contracts import views

app_name = "contracts"

urlpatterns = [
    path("rounds/<int:round_id>/", views.round_award, name="round"),
    path("rounds/<int:round_id>/evaluate/", views.evaluate, name="evaluate"),
    path("rounds/<int:round_id>/scenarios/", views.scenario, name="scenario"),
    path(
        "rounds/<int:round_id>/objection-period/",
        views.objection_period,
        name="objection-period",
    ),
    path("rounds/<int:round_id>/finalize/", views.finalize, name="finalize"),
    path("rounds/<int:round_id>/results/", views.results, name="results"),
    path("rounds/<int:round_id>/objections/new/", views.objection_new, name="objection-new"),
    path("rounds/<int:round_id>/selection/", views.selection, name="selection"),
    path("rounds/<int:round_id>/selection/open/", views.selection_open, name="selection-open"),
    path("rounds/<int:round_id>/selection/close/", views.selection_close, name="selection-close"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/progress/", views.run_progress, name="run-progress"),
    path("runs/<int:run_id>/retry/", views.run_retry, name="run-retry"),
    path(
        "rounds/<int:round_id>/contracts/generate/",
        views.contracts_generate,
        name="contracts-generate",
    ),
    path(
        "rounds/<int:round_id>/contracts/status/",
        views.contracts_status,
        name="contracts-status",
    ),
    path("rounds/<int:round_id>/execution/start/", views.execution_start, name="execution-start"),
    path("contracts/", views.contract_list, name="contracts"),
    path("contracts/<int:contract_id>/", views.contract_detail, name="contract"),
    path("contracts/<int:contract_id>/confirm/", views.contract_confirm, name="contract-confirm"),
    path(
        "contracts/<int:contract_id>/pdf/status/",
        views.contract_pdf_status,
        name="contract-pdf-status",
    ),
    path("contracts/<int:contract_id>/amend/", views.contract_amend, name="contract-amend"),
    path(
        "contracts/<int:contract_id>/pdf/<str:language>/",
        views.contract_pdf,
        name="contract-pdf",
    ),
    path("purchases/", views.purchases, name="purchases"),
    path("purchases/upload/", views.purchases_upload, name="purchases-upload"),
    path("progress/", views.progress, name="progress"),
    path("supply-failures/", views.supply_failures, name="supply-failures"),
    path(
        "rounds/<int:round_id>/supply-failures/new/",
        views.supply_failure_new,
        name="supply-failure-new",
    ),
    path(
        "supply-failures/<int:failure_id>/switch/",
        views.supplier_switch,
        name="supplier-switch",
    ),
    path("objections/", views.objections, name="objections"),
    path("objections/<int:objection_id>/answer/", views.objection_answer, name="objection-answer"),
    path("mine/", views.my_awards, name="mine"),
    path("notifications/", views.notifications, name="notifications"),
    path("rounds/<int:round_id>/lost-volume/", views.lost_volume, name="lost-volume"),
]

"""Award pages, under /awards/ (beside the contracts' pages, ``contracts.urls``)."""

from django.urls import path

from awards.views import evaluation, objections, reassignment, results, selection

app_name = "awards"

urlpatterns = [
    path("rounds/<int:round_id>/", evaluation.round_award, name="round"),
    path("rounds/<int:round_id>/evaluate/", evaluation.evaluate, name="evaluate"),
    path("rounds/<int:round_id>/scenarios/", evaluation.scenario, name="scenario"),
    path(
        "rounds/<int:round_id>/objection-period/",
        objections.objection_period,
        name="objection-period",
    ),
    path(
        "rounds/<int:round_id>/objection-period/extend/",
        objections.objection_extend,
        name="objection-extend",
    ),
    path("rounds/<int:round_id>/finalize/", objections.finalize, name="finalize"),
    path("rounds/<int:round_id>/results/", results.results, name="results"),
    path("rounds/<int:round_id>/objections/new/", objections.objection_new, name="objection-new"),
    path("rounds/<int:round_id>/selection/", selection.selection, name="selection"),
    path("rounds/<int:round_id>/selection/open/", selection.selection_open, name="selection-open"),
    path(
        "rounds/<int:round_id>/selection/close/",
        selection.selection_close,
        name="selection-close",
    ),
    path("runs/<int:run_id>/", evaluation.run_detail, name="run"),
    path("runs/<int:run_id>/progress/", evaluation.run_progress, name="run-progress"),
    path("runs/<int:run_id>/retry/", evaluation.run_retry, name="run-retry"),
    path("objections/", objections.objections, name="objections"),
    path(
        "objections/<int:objection_id>/answer/",
        objections.objection_answer,
        name="objection-answer",
    ),
    path("mine/", results.my_awards, name="mine"),
    path("rounds/<int:round_id>/lost-volume/", reassignment.lost_volume, name="lost-volume"),
]

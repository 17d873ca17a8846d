"""Evaluation runs: stored results, exact money, idempotent re-runs, all-or-nothing writes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from awards import services
from awards.models import (
    BidResult,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    ProvinceAllocation,
)
from awards.problem import problem_build
from awards.services import storing
from procurement.models import Round, RuleSet
from procurement.optimiser import problem_from_dict, problem_to_dict
from tests.awards.factories import opened_round

pytestmark = pytest.mark.django_db


def _evaluate(built, django_capture_on_commit_callbacks, rule_set=None) -> EvaluationRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office, rule_set=rule_set)
    run.refresh_from_db()
    return run


def test_evaluation_stores_awards_bid_results_and_allocations(
    django_capture_on_commit_callbacks,
) -> None:
    built = opened_round()
    run = _evaluate(built, django_capture_on_commit_callbacks)

    assert run.status == EvaluationRun.Status.DONE, run.error
    assert run.is_official and not run.is_scenario
    assert run.progress == 100
    assert run.rule_set_version == 1
    assert len(run.input_hash) == 64
    assert run.solver_status in {"optimal", "rule_only"}
    assert run.total_cost == Decimal("1400.00")
    assert run.result_document()["totals"]["cost"] == "1400.00"
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.EVALUATED

    award = ItemAward.objects.get(run=run)
    assert (award.bidders, award.winner_cap, award.winners) == (5, 4, 3)
    assert award.agreed_volume == 14_000 and award.pooled_demand == 20_000
    assert award.term_years == 2

    outcomes = {
        str(r.unit_price.normalize()): (r.outcome, r.rank)
        for r in BidResult.objects.filter(run=run)
    }
    assert outcomes["0.1"] == ("won", 1)
    assert outcomes["0.15"] == ("won", 2)
    assert outcomes["0.19"] == ("won", 3)
    assert outcomes["0.3"] == ("lost", 4)
    assert outcomes["0.6"][0] == "invalid"
    lost = BidResult.objects.get(run=run, outcome="lost")
    assert "3.00 x the lowest 0.1000, limit 1.8" in lost.reason

    provinces = {
        (a.region.code, a.unit_price.normalize(), a.quantity)
        for a in ProvinceAllocation.objects.filter(run=run).select_related("region")
    }
    assert {(q) for _, _, q in provinces} == {7000}
    assert sum(a.cost for a in ProvinceAllocation.objects.filter(run=run)) == Decimal("1400")
    hospitals = {h.hospital_id: h.quantity for h in HospitalAllocation.objects.filter(run=run)}
    beijing_a, beijing_b, shanghai = (u.organization_id for u in built.hospitals)
    assert hospitals == {beijing_a: 4200, beijing_b: 2800, shanghai: 7000}


def test_rerun_on_the_same_input_adds_no_rows(django_capture_on_commit_callbacks) -> None:
    built = opened_round()
    first = _evaluate(built, django_capture_on_commit_callbacks)
    counts = (
        ItemAward.objects.count(),
        BidResult.objects.count(),
        ProvinceAllocation.objects.count(),
        HospitalAllocation.objects.count(),
    )
    second = _evaluate(built, django_capture_on_commit_callbacks)

    assert second.pk != first.pk
    assert second.status == EvaluationRun.Status.DONE
    assert second.same_as_id == first.pk
    assert second.input_hash == first.input_hash
    assert (
        ItemAward.objects.count(),
        BidResult.objects.count(),
        ProvinceAllocation.objects.count(),
        HospitalAllocation.objects.count(),
    ) == counts
    assert list(EvaluationRun.objects.filter(is_official=True)) == [first]


def test_a_double_request_queues_one_run(django_capture_on_commit_callbacks) -> None:
    built = opened_round()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        one = services.evaluation_request(round_=built.round, by=built.office)
        two = services.evaluation_request(round_=built.round, by=built.office)
    assert one.pk == two.pk
    assert len(callbacks) == 1
    assert one.status == EvaluationRun.Status.QUEUED


def test_a_run_killed_while_storing_leaves_nothing_and_can_run_again(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    built = opened_round()
    with django_capture_on_commit_callbacks(execute=False):
        run = services.evaluation_request(round_=built.round, by=built.office)
    real_store = storing._store_hospital_rows

    def dies_at_hospitals(*args):
        # The worker dies while the last rows (hospital allocations) are being written,
        # by COPY on PostgreSQL or bulk_create elsewhere: everything before is rolled back.
        raise SystemExit("worker killed")

    monkeypatch.setattr(storing, "_store_hospital_rows", dies_at_hospitals)
    with pytest.raises(SystemExit):
        services.evaluation_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.RUNNING  # as a dead worker leaves it
    assert ItemAward.objects.count() == BidResult.objects.count() == 0
    assert ProvinceAllocation.objects.count() == 0

    monkeypatch.setattr(storing, "_store_hospital_rows", real_store)
    services.evaluation_execute(run_id=run.pk)  # the redelivered task
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.DONE
    assert run.attempts == 2
    assert HospitalAllocation.objects.filter(run=run).count() == 3
    # A third delivery finds it done and changes nothing.
    assert services.evaluation_execute(run_id=run.pk) is None


def test_the_built_problem_is_canonical(django_capture_on_commit_callbacks) -> None:
    built = opened_round()
    problem = problem_build(round_=built.round, rule_set=built.round.rule_set).problem
    reparsed = problem_from_dict(problem_to_dict(problem))
    assert reparsed.input_hash == problem.input_hash
    assert reparsed.bids == problem.bids
    assert reparsed.items == problem.items


def test_an_excluded_bid_changes_the_input_and_loses_as_invalid() -> None:
    built = opened_round()
    cheapest = built.bids[0]
    base = problem_build(round_=built.round, rule_set=built.round.rule_set).problem
    excluded = problem_build(
        round_=built.round, rule_set=built.round.rule_set, excluded=[cheapest.pk]
    ).problem
    assert base.input_hash != excluded.input_hash
    bid = next(b for b in excluded.bids if b.id == f"B{cheapest.pk}")
    assert not bid.eligible
    assert bid.ineligible_reason == "excluded after an upheld objection"


def test_scenarios_are_not_official_and_are_compared(django_capture_on_commit_callbacks) -> None:
    built = opened_round()
    official = _evaluate(built, django_capture_on_commit_callbacks)
    batch2 = RuleSet.objects.get(name="national-drug-batch-2", version=1)
    scenario = _evaluate(built, django_capture_on_commit_callbacks, rule_set=batch2)
    assert scenario.status == EvaluationRun.Status.DONE, scenario.error
    assert scenario.is_scenario and not scenario.is_official
    official.refresh_from_db()
    assert official.is_official
    rows = services.evaluation_comparison(round_=built.round)
    assert [r.pk for r, _ in rows] == [official.pk, scenario.pk]
    assert rows[0][1]["total_cost"] == "1400.00"
    assert rows[0][1]["winners"] == 3


def test_a_round_not_opened_cannot_be_evaluated() -> None:
    from django.core.exceptions import ValidationError

    built = opened_round()
    Round.objects.filter(pk=built.round.pk).update(status=Round.Status.BIDDING_CLOSED)
    built.round.refresh_from_db()
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.evaluation_request(round_=built.round, by=built.office)
    assert exc.value.messages == ["Round T-2026-D1 is Bidding closed: it cannot be evaluated now."]


def test_an_unexpected_failure_is_shown_and_the_run_can_be_retried(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    built = opened_round()

    def broken_solver(problem):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(storing, "solve", broken_solver)
    run = _evaluate(built, django_capture_on_commit_callbacks)
    assert run.status == EvaluationRun.Status.FAILED
    assert run.error == "RuntimeError: solver crashed"
    assert ItemAward.objects.count() == 0
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_retry(run=run, by=built.office)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.DONE and run.is_official
    assert run.attempts == 2


@pytest.mark.parametrize("status", ["infeasible", "unknown"])
def test_an_official_run_without_an_award_cannot_be_published(
    django_capture_on_commit_callbacks, status: str
) -> None:
    # "unknown": the time limit passed before any solution was found; not proof of
    # infeasibility, but there is nothing to award either.
    built = opened_round()
    run = _evaluate(built, django_capture_on_commit_callbacks)
    EvaluationRun.objects.filter(pk=run.pk).update(solver_status=status)
    built.round.refresh_from_db()
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        services.objection_period_open(round_=built.round, by=built.office)
    assert excinfo.value.messages == [
        f"The official run found no award (solver status: {status}); there is nothing to publish."
    ]
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.EVALUATED

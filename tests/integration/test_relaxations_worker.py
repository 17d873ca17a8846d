"""The scenario comparison's relaxations as a Celery group on a real worker (two
processes): the run is stored first with its constraint costs pending, then every
relaxation is solved by the worker and written into the row, with the same figures as
the comparison solved in one process."""

from __future__ import annotations

import subprocess
import time

import pytest

from awards import services
from awards.models import EvaluationRun, RelaxationCost
from awards.services.comparison import run_problem
from procurement.models import RuleSet
from procurement.optimiser.scenarios import compare_scenarios, comparison_to_dict
from tests.awards.factories import opened_round

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_relaxations_run_on_the_worker_and_fill_the_comparison_row(
    celery_worker: subprocess.Popen[bytes],
) -> None:
    built = opened_round()
    rule_set = RuleSet.objects.get(name="optimised-award", version=1)
    run = services.evaluation_request(round_=built.round, by=built.office, rule_set=rule_set)
    deadline = time.monotonic() + 120
    while True:
        run.refresh_from_db()
        progress = (run.comparison or {}).get("relaxations")
        if (
            run.status == EvaluationRun.Status.DONE
            and progress
            and (progress["done"] == progress["total"])
        ):
            break
        assert run.status != EvaluationRun.Status.FAILED, run.error
        assert time.monotonic() < deadline, f"relaxations not done: {run.status} {progress}"
        time.sleep(0.3)
    assert run.comparison is not None and progress is not None
    costs = run.comparison["constraint_costs"]
    assert len(costs) == progress["total"] >= 2
    problem = run_problem(run).problem
    expected = comparison_to_dict(compare_scenarios(problem, [problem.rule_set]))[0]
    assert costs == expected["constraint_costs"]
    assert RelaxationCost.objects.count() == len(costs)
    assert celery_worker.poll() is None

"""The scenario comparison's constraint costs: the official problem is solved once (never
again for its comparison row); each relaxation once, as a task of a Celery group (run
eagerly here, on a real worker in ``tests/integration/test_relaxations_worker.py``); a
relaxation already solved is read back by its input hash; the page shows the progress."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from awards import services
from awards.models import EvaluationRun, RelaxationCost
from awards.services import comparison as comparison_service
from procurement.models import RuleSet
from procurement.optimiser import solve as plain_solve
from procurement.optimiser.model import Problem, Result
from procurement.optimiser.scenarios import compare_scenarios, comparison_to_dict
from tests.awards.factories import opened_round
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _optimised(built, capture, monkeypatch) -> tuple[EvaluationRun, Counter[str]]:
    """A scenario run under the optimised award; the input hashes of every solve."""
    solved: Counter[str] = Counter()
    from awards.services import storing
    from procurement.optimiser.canonical import problem_canonical

    def counting(problem: Problem) -> Result:
        solved[problem_canonical(problem).input_hash] += 1
        return plain_solve(problem)

    monkeypatch.setattr(storing, "solve", counting)
    monkeypatch.setattr(comparison_service, "solve", counting)
    rule_set = RuleSet.objects.get(name="optimised-award", version=1)
    with capture(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office, rule_set=rule_set)
    run.refresh_from_db()
    return run, solved


def test_the_official_problem_is_solved_once_and_each_relaxation_once(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    built = opened_round()
    run, solved = _optimised(built, django_capture_on_commit_callbacks, monkeypatch)
    assert run.status == EvaluationRun.Status.DONE, run.error
    row = run.comparison
    assert row is not None
    total = len(row["constraint_costs"])
    assert total >= 2
    assert row["relaxations"] == {"done": total, "total": total}
    assert all("pending" not in c for c in row["constraint_costs"])
    # one solve of the run's own problem, one of each relaxation, nothing twice
    assert sum(solved.values()) == 1 + total
    assert set(solved.values()) == {1}
    # the same figures as the comparison that solves everything in one process
    problem = comparison_service.run_problem(run).problem
    expected = comparison_to_dict(compare_scenarios(problem, [problem.rule_set]))[0]
    assert row["constraint_costs"] == expected["constraint_costs"]
    assert RelaxationCost.objects.count() == total


def test_a_relaxation_already_solved_is_read_back_not_solved_again(
    django_capture_on_commit_callbacks, monkeypatch, settings
) -> None:
    built = opened_round()
    first, _ = _optimised(built, django_capture_on_commit_callbacks, monkeypatch)
    stored: dict[str, Any] = first.comparison or {}
    costs = stored["constraint_costs"]
    # the same relaxations written anew: each read back from its input hash
    pending = [{**c, "pending": True} for c in costs]
    EvaluationRun.objects.filter(pk=first.pk).update(
        comparison={
            **stored,
            "constraint_costs": pending,
            "relaxations": {"done": 0, "total": len(costs)},
        }
    )
    calls: list[object] = []
    monkeypatch.setattr(comparison_service, "solve", calls.append)
    for index in range(len(costs)):
        comparison_service.relaxation_execute(run_id=first.pk, index=index)
    first.refresh_from_db()
    assert calls == []
    assert (first.comparison or {})["constraint_costs"] == costs
    # another time budget is another key: solved again
    settings.AWARDS_RELAXATION_SECONDS = 7
    EvaluationRun.objects.filter(pk=first.pk).update(
        comparison={**stored, "constraint_costs": pending}
    )

    def solving(problem: Problem) -> Result:
        calls.append(problem)
        return plain_solve(problem)

    monkeypatch.setattr(comparison_service, "solve", solving)
    comparison_service.relaxation_execute(run_id=first.pk, index=0)
    assert len(calls) == 1
    assert RelaxationCost.objects.filter(time_limit=7).count() == 1


def test_the_page_shows_the_relaxations_still_being_solved(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    built = opened_round()
    run, _ = _optimised(built, django_capture_on_commit_callbacks, monkeypatch)
    stored: dict[str, Any] = run.comparison or {}
    costs = stored["constraint_costs"]
    partial = [costs[0], *({**c, "pending": True} for c in costs[1:])]
    EvaluationRun.objects.filter(pk=run.pk).update(
        comparison={
            **stored,
            "constraint_costs": partial,
            "relaxations": {"done": 1, "total": len(costs)},
        }
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=built.office.username, password=TEST_PASSWORD)
    page = client.get(reverse("awards:round", args=[built.round.pk])).content.decode()
    assert f"Constraint costs: 1 of {len(costs)} relaxations solved" in page
    assert page.count("being solved") == len(costs) - 1
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.login(username=built.office.username, password=TEST_PASSWORD)
    page = zh.get(reverse("awards:round", args=[built.round.pk])).content.decode()
    assert "being solved" not in page
    assert Decimal(costs[0]["cost_of_constraint"]) >= 0

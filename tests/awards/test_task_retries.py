"""The evaluation tasks' policy on a database error: retried with backoff, and after the last
retry the run is marked failed with the error (awards/tasks.py)."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry
from django.db import DatabaseError

from awards import tasks


@pytest.mark.parametrize(
    ("task", "service", "name"),
    [
        (tasks.evaluation_run_task, tasks.storing, "evaluation_execute"),
        (tasks.evaluation_part_task, tasks.fanout, "part_execute"),
        (tasks.evaluation_merge_task, tasks.fanout, "merge_execute"),
    ],
)
def test_a_database_error_is_retried_then_fails_the_run(monkeypatch, task, service, name) -> None:
    failed: list[tuple[int, str]] = []

    def broken(**kwargs: object) -> None:
        raise DatabaseError("connection lost")

    monkeypatch.setattr(service, name, broken)
    monkeypatch.setattr(
        tasks.storing,
        "evaluation_fail",
        lambda *, run_id, message: failed.append((run_id, message)),
    )
    args = [7, 0] if task is tasks.evaluation_part_task else [7]
    with pytest.raises(Retry):
        task.apply(args=args, retries=tasks.EVALUATION_RETRIES - 1, throw=True)
    assert failed == []
    task.apply(args=args, retries=tasks.EVALUATION_RETRIES, throw=True)
    assert failed == [(7, "database error: connection lost")]


def test_a_relaxation_is_retried_and_never_fails_the_run(monkeypatch) -> None:
    def broken(**kwargs: object) -> None:
        raise DatabaseError("connection lost")

    monkeypatch.setattr(tasks.comparison, "relaxation_execute", broken)
    with pytest.raises(Retry):
        tasks.relaxation_cost_task.apply(args=[7, 0], retries=1, throw=True)

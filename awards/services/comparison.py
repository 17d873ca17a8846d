"""The scenario comparison's constraint costs, in parallel and without waste.

An optimised-award run stores its comparison row from the result it already has (the
official problem is never solved again), with one *pending* constraint cost per
relaxation (``scenarios.relaxations``). Then one task per relaxation is sent as a Celery
group, so the relaxations run in parallel on as many workers as there are; each solves
its relaxed problem within ``settings.AWARDS_RELAXATION_SECONDS`` (the rule set's own
limit when shorter), keeps the cost by the relaxed problem's input hash
(``RelaxationCost``: the same relaxation of the same bids is read back, in any run), and
writes its cost into the run's row with the count done, which the page shows.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from decimal import Decimal
from typing import Any

from celery import group, signature
from django.conf import settings
from django.db import IntegrityError, transaction

from awards.models import EvaluationRun, RelaxationCost
from awards.problem import (
    BuiltProblem,
    lost_volume_preferences,
    problem_build,
    selection_preferences,
)
from awards.services.base import R
from procurement.optimiser.canonical import problem_canonical
from procurement.optimiser.model import Problem, Result
from procurement.optimiser.scenarios import (
    comparison_to_dict,
    relaxations,
    scenario_row,
)
from procurement.optimiser.solve import solve

logger = logging.getLogger(__name__)

RELAXATION_TASK = "awards.relaxation_cost"


def run_problem(run: EvaluationRun) -> BuiltProblem:
    """The problem of a run, built as its evaluation built it (the same input)."""
    return problem_build(
        round_=run.round,
        rule_set=run.rule_set,
        excluded=run.exclusions,
        **(selection_preferences(round_=run.round) if run.is_selection else {}),
        reassign_to=(lost_volume_preferences(round_=run.round) if run.is_hospital_choice else None),
    )


def pending_row(problem: Problem, result: Result) -> dict[str, Any]:
    """The comparison row of a solved optimised-award problem, its constraint costs
    pending (filled by the relaxation tasks) and ``relaxations`` counting them."""
    count = len(relaxations(problem))
    row = comparison_to_dict([scenario_row(problem, result, [None] * count)])[0]
    # each entry names the constraint and what it is relaxed to; no cost yet
    costs = [{**c, "pending": True} for c in row["constraint_costs"]]
    row["constraint_costs"] = costs
    row["relaxations"] = {"done": 0, "total": len(costs)}
    return row


def relaxations_send(run_id: int, count: int) -> None:
    """One task per relaxation, as a Celery group (in parallel across the workers)."""
    if count:
        group(
            signature(RELAXATION_TASK, args=(run_id, index)) for index in range(count)
        ).apply_async()


def relaxation_budget() -> float:
    return float(getattr(settings, "AWARDS_RELAXATION_SECONDS", 60))


def relaxation_execute(*, run_id: int, index: int) -> Decimal | None:
    """Solve (or read back) relaxation ``index`` of a stored run and write its cost into
    the run's comparison row. Idempotent: a cost already written is not written again."""
    run = EvaluationRun.objects.select_related("round", "rule_set").get(pk=run_id)
    row = run.comparison or {}
    costs = row.get("constraint_costs") or []
    if run.status != R.DONE or index >= len(costs) or not costs[index].get("pending"):
        return None
    problem = run_problem(run).problem
    _, _, relaxed = relaxations(problem)[index]
    key = problem_canonical(relaxed).input_hash
    budget = relaxation_budget()
    cached = RelaxationCost.objects.filter(input_hash=key, time_limit=budget).first()
    if cached is not None:
        cost = Decimal(cached.cost) if cached.cost else None
    else:
        started = time.perf_counter()
        limited = _limited(relaxed, budget)
        result = solve(limited)
        cost = None if result.run.status == "infeasible" else result.totals.cost
        try:
            with transaction.atomic():
                RelaxationCost.objects.create(
                    input_hash=key,
                    time_limit=budget,
                    status=result.run.status,
                    cost="" if cost is None else str(cost),
                    seconds=time.perf_counter() - started,
                )
        except IntegrityError:  # another worker solved the same relaxation meanwhile
            pass
    _write_cost(run_id, index, cost)
    return cost


def _limited(problem: Problem, budget: float) -> Problem:
    parameters = problem.rule_set.parameters
    own = float(parameters.get("time_limit_seconds", budget))
    if own <= budget:
        return problem
    seconds = int(budget) if budget == int(budget) else budget
    rule_set = dataclasses.replace(
        problem.rule_set, parameters={**parameters, "time_limit_seconds": seconds}
    )
    return dataclasses.replace(problem, rule_set=rule_set)


def _write_cost(run_id: int, index: int, cost: Decimal | None) -> None:
    with transaction.atomic():
        run = EvaluationRun.objects.select_for_update().get(pk=run_id)
        row = dict(run.comparison or {})
        costs = list(row.get("constraint_costs") or [])
        if index >= len(costs) or not costs[index].get("pending"):
            return
        base = row.get("total_cost")
        entry = dict(costs[index])
        entry["cost_without"] = None if cost is None else str(cost)
        entry["cost_of_constraint"] = (
            None if cost is None or base is None else str(Decimal(base) - cost)
        )
        entry.pop("pending")
        costs[index] = entry
        row["constraint_costs"] = costs
        done = sum(1 for c in costs if not c.get("pending"))
        row["relaxations"] = {"done": done, "total": len(costs)}
        run.comparison = row
        run.save(update_fields=["comparison"])

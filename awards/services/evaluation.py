"""Evaluation runs: asking for one (the official evaluation or a scenario), retrying a
failed one, and the comparison of runs.

A run is queued here and executed by the evaluation task (``awards.services.storing``).
Locks the round row first (``awards.services.base``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from awards.models import EvaluationRun
from awards.services.base import EVALUABLE, STAGE_QUEUED, R, exclusions_of, lock_round
from procurement.models import Round, RuleSet
from procurement.optimiser.kinds import kinds_for_round_kind
from procurement.rule_labels import rule_kind_label


def evaluation_request(
    *, round_: Round, by: User | None, rule_set: RuleSet | None = None
) -> EvaluationRun:
    """Queue an evaluation of ``round_``: the official one, or a scenario under ``rule_set``.

    Idempotent: while a run of the same round, rule set and exclusions is queued or
    running, that run is returned instead of a second one (a database constraint holds
    this even for two simultaneous requests). The task is sent after commit.
    """
    from awards.tasks import evaluation_run_task  # the task imports the services

    is_scenario = rule_set is not None and rule_set.pk != round_.rule_set_id
    rule_set = rule_set or round_.rule_set
    with transaction.atomic():
        locked = lock_round(round_.pk)
        if locked.status not in EVALUABLE:
            raise ValidationError(
                _("Round %(code)s is %(status)s: it cannot be evaluated now.")
                % {"code": locked.code, "status": locked.get_status_display()}
            )
        if rule_set.kind not in kinds_for_round_kind(locked.kind):
            raise ValidationError(
                _("Rule set %(rule_set)s (%(kind)s) does not apply to a %(round_kind)s round.")
                % {
                    "rule_set": str(rule_set),
                    "kind": rule_kind_label(rule_set.kind),
                    "round_kind": Round.Kind(locked.kind).label,
                }
            )
        exclusions = exclusions_of(locked)
        key = ",".join(str(e) for e in exclusions)
        pending = EvaluationRun.objects.filter(
            round=locked, rule_set=rule_set, exclusions_key=key, status__in=[R.QUEUED, R.RUNNING]
        ).first()
        if pending is not None:
            return pending
        try:
            with transaction.atomic():
                run = EvaluationRun.objects.create(
                    round=locked,
                    rule_set=rule_set,
                    rule_set_version=rule_set.version,
                    is_scenario=is_scenario,
                    exclusions=exclusions,
                    exclusions_key=key,
                    requested_by=by,
                    stage=STAGE_QUEUED,
                )
        except IntegrityError:  # a simultaneous request created it first
            return EvaluationRun.objects.get(
                round=locked,
                rule_set=rule_set,
                exclusions_key=key,
                status__in=[R.QUEUED, R.RUNNING],
            )
        transaction.on_commit(lambda: evaluation_run_task.delay(run.pk))
    return run


def evaluation_retry(*, run: EvaluationRun, by: User | None) -> EvaluationRun:
    """Queue a failed run again (same round, rule set and exclusions)."""
    from awards.tasks import evaluation_run_task

    with transaction.atomic():
        lock_round(run.round_id)
        updated = EvaluationRun.objects.filter(pk=run.pk, status=R.FAILED).update(
            status=R.QUEUED, progress=0, stage=STAGE_QUEUED, error=""
        )
        if updated != 1:
            raise ValidationError(_("Only a failed run can be retried."))
        transaction.on_commit(lambda: evaluation_run_task.delay(run.pk))
    run.refresh_from_db()
    return run


def evaluation_comparison(*, round_: Round) -> list[tuple[EvaluationRun, dict[str, Any]]]:
    """The comparison table: the official run and the latest done run of every scenario."""
    rows: list[tuple[EvaluationRun, dict[str, Any]]] = []
    seen: set[tuple[int, str]] = set()
    runs = (
        EvaluationRun.objects.filter(round=round_, status=R.DONE)
        .select_related("rule_set", "same_as")
        .defer("result", "same_as__result")
        .order_by("-is_official", "-finished_at", "-pk")
    )
    for run in runs:
        source = run.source_run
        key = (run.rule_set_id, run.exclusions_key)
        if key in seen or source.comparison is None:
            continue
        if not run.is_official and not run.is_scenario and not source.is_official:
            continue  # a superseded official run
        seen.add(key)
        row = dict(source.comparison)
        # ``winners`` counts winning bids (a company may win several items); the companies
        # are the suppliers that receive volume.
        row["winning_companies"] = sum(
            1 for volume in (row.get("volume_by_supplier") or {}).values() if volume
        )
        rows.append((run, row))
    return rows

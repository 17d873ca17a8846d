"""What the award's services share: the round lock, the official run, the run stages.

Concurrency: every service that changes a round's award locks the round row first
(``lock_round``, ``select_for_update``) and then the run row, always in that order, so
evaluation storing, objection answers, finalization and selection serialize per round and
cannot deadlock. The contracts' services take the same round lock first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from awards.models import BidExclusion, EvaluationRun
from procurement.models import Round

S = Round.Status
R = EvaluationRun.Status

# Rounds in these states can be (re-)evaluated; an official run moves the round to EVALUATED.
EVALUABLE = {S.BIDS_OPENED, S.EVALUATED, S.OBJECTION}
# Rows per INSERT: ~5,000 narrow rows keep one statement well under PostgreSQL's
# 65,535-parameter limit (8 columns) and the worker's memory bounded.
BATCH_SIZE = 5_000

# Progress stages (message ids; translated where shown).
STAGE_QUEUED = gettext_noop("Waiting for a worker")
STAGE_LOADING = gettext_noop("Loading bids and demand")
STAGE_SOLVING = gettext_noop("Applying the rules and allocating provinces")
STAGE_STORING = gettext_noop("Storing awards and allocations")
STAGE_DONE = gettext_noop("Done")
STAGE_FAILED = gettext_noop("Failed")

# Solver outcomes with no award: proven infeasible, or the time limit passed before any
# solution was found ("unknown" is not proof of infeasibility, but it has nothing to award).
NO_AWARD_STATUSES = frozenset({"infeasible", "unknown"})

M = TypeVar("M", bound=models.Model)


def lock_round(round_id: int) -> Round:
    return Round.objects.select_for_update().get(pk=round_id)


def exclusions_of(round_: Round) -> list[int]:
    """The opened-bid ids excluded from the round's evaluation by upheld objections."""
    return sorted(BidExclusion.objects.filter(round=round_).values_list("opened_bid_id", flat=True))


def official_run_get(round_: Round) -> EvaluationRun:
    """The round's official run; refused (``ValidationError``) while it has none."""
    run = EvaluationRun.objects.filter(round=round_, is_official=True).first()
    if run is None:
        raise ValidationError(
            _("Round %(code)s has no official evaluation yet.") % {"code": round_.code}
        )
    return run


def insert_batched(model: type[M], rows: Iterable[M]) -> int:
    """Insert rows in bounded batches (never the whole list in one statement)."""
    count = 0
    batch: list[M] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            model.objects.bulk_create(batch)  # type: ignore[attr-defined]
            count += len(batch)
            batch = []
    if batch:
        model.objects.bulk_create(batch)  # type: ignore[attr-defined]
        count += len(batch)
    return count


def local_time_text(moment: Any) -> str:
    """A moment as the messages show it, in local time (China Standard Time)."""
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def rerun_create(*, round_: Round, final: EvaluationRun, by: Any, **kind: bool) -> EvaluationRun:
    """A queued re-run of the final award ``final`` (same rule set and exclusions), of the
    kind given (``is_selection=True`` or ``is_hospital_choice=True``); the caller queues
    its task after commit."""
    return EvaluationRun.objects.create(
        round=round_,
        rule_set=final.rule_set,
        rule_set_version=final.rule_set_version,
        exclusions=final.exclusions,
        exclusions_key=final.exclusions_key,
        requested_by=by,
        stage=STAGE_QUEUED,
        **kind,
    )

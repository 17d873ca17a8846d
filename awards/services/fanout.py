"""An evaluation run fanned out across Celery workers: one task per chunk of items, and a
merge once every chunk is solved, giving the result a single task gives, byte for byte.

Applies to the rule kinds whose items are independent (``procurement.optimiser.fanout
.fans_out``: every drug and consumables kind) when the round has at least
``settings.AWARDS_FANOUT_MIN_ITEMS`` items; the optimised award couples its items through
the suppliers' shared capacity and stays one task (``storing.evaluation_execute``).

1. The run's task (``fan_out``) builds the problem as it always does, computes the money
   scale of the whole problem once, cuts the items into ``settings.AWARDS_FANOUT_CHUNKS``
   chunks and writes one ``EvaluationPart`` row per chunk holding the chunk's problem;
   after commit it sends one ``awards.evaluation_part`` task per chunk (a Celery group).
2. Each chunk task (``part_execute``) solves its chunk (or reads back the part of the
   same chunk problem and scale, from any run), writes its part, and counts the parts
   solved on the run under the run's row lock ("n of m parts" on the run's page). The
   task that finds every part solved sends the merge after commit.
3. The merge (``merge_execute``) rebuilds the run's problem, checks its input hash is
   the one the parts were cut from, merges the parts with ``merge_parts`` (what ``solve``
   itself does with its one part) and stores the result and rows exactly as a single
   task does (``storing.evaluation_store``).

Why a counter in the database and not a Celery chord on the result backend: under
``kill -9`` a chunk task is redelivered (``acks_late``); a chord counts results in the
backend, so a chunk that stored its result, died before its acknowledgement and ran
again is counted twice and the merge can fire before another chunk is done. Here a chunk
counts by looking at the parts rows (a part solved twice is one row), under the run's
lock; a redelivered chunk finds its part and only counts again; a redelivered merge finds
the run done and does nothing. Every step is idempotent on rows, so no message needs to
arrive exactly once.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from awards.models import EvaluationPart, EvaluationRun
from awards.problem import BuiltProblem
from awards.services.base import STAGE_STORING, R
from common.memory import collection_paused
from procurement.optimiser.fanout import (
    fans_out,
    item_chunks,
    part_from_bytes,
    part_to_bytes,
    sub_problem_bytes,
    sub_problem_from_bytes,
    whole_digits,
)
from procurement.optimiser.model import Problem
from procurement.optimiser.solve import merge_parts, solve_items

logger = logging.getLogger(__name__)

PART_TASK = "awards.evaluation_part"
MERGE_TASK = "awards.evaluation_merge"
STAGE_PARTS = gettext_noop("Applying the rules and allocating provinces, in parts")


def chunk_count(problem: Problem) -> int:
    """Into how many chunks the run of ``problem`` is cut: 0 when it runs as one task (an
    optimised award, fewer items than ``AWARDS_FANOUT_MIN_ITEMS``, or fan-out off)."""
    minimum = int(getattr(settings, "AWARDS_FANOUT_MIN_ITEMS", 0))
    chunks = int(getattr(settings, "AWARDS_FANOUT_CHUNKS", 1))
    if minimum <= 0 or chunks <= 1 or len(problem.items) < max(minimum, 2):
        return 0
    if not fans_out(problem):
        return 0
    return min(chunks, len(problem.items))


def fan_out(run_id: int, built: BuiltProblem, chunks: int) -> EvaluationRun | None:
    """Write the run's parts (one per chunk of items) and send a task per chunk after
    commit. A run fanned out before (its task redelivered) has its parts written again;
    those already solved for the same chunk problem are read back, not solved again."""
    problem = built.problem
    digits = whole_digits(problem)
    pieces = [(ids, *sub_problem_bytes(problem, ids)) for ids in item_chunks(problem, chunks)]
    with transaction.atomic():
        run = EvaluationRun.objects.select_for_update().get(pk=run_id)
        if run.status != R.RUNNING:
            return None
        # Parts of an earlier delivery of this task are kept when their chunk is unchanged.
        kept = {
            (index, input_hash, digits)
            for index, input_hash, digits in EvaluationPart.objects.filter(run=run).values_list(
                "index", "input_hash", "digits"
            )
        }
        wanted = {(index, h, digits) for index, (_ids, _data, h) in enumerate(pieces)}
        for index, _hash, _digits in kept - wanted:
            EvaluationPart.objects.filter(run=run, index=index).delete()
        EvaluationPart.objects.bulk_create(
            EvaluationPart(
                run=run,
                index=index,
                items=len(ids),
                whole_hash=problem.input_hash,
                input_hash=input_hash,
                digits=digits,
                problem=data,
            )
            for index, (ids, data, input_hash) in enumerate(pieces)
            if (index, input_hash, digits) not in kept
        )
        EvaluationPart.objects.filter(run=run).update(whole_hash=problem.input_hash)
        run.parts = len(pieces)
        run.parts_done = 0
        run.progress = 30
        run.stage = STAGE_PARTS
        run.save(update_fields=["parts", "parts_done", "progress", "stage"])
        transaction.on_commit(lambda: _send_parts(run_id, len(pieces)))
    return run


def _bytes(value: bytes | memoryview | None) -> bytes:
    """A binary column's value (psycopg gives ``memoryview``, SQLite ``bytes``)."""
    return b"" if value is None else bytes(value)


def _send_parts(run_id: int, count: int) -> None:
    from celery import group

    from awards.tasks import evaluation_part_task  # the tasks import the services

    group(evaluation_part_task.si(run_id, index) for index in range(count)).apply_async()


def _send_merge(run_id: int) -> None:
    from awards.tasks import evaluation_merge_task

    evaluation_merge_task.delay(run_id)


@collection_paused()
def part_execute(*, run_id: int, index: int) -> bool:
    """Solve one chunk of a fanned-out run (unless its part is written already, or the
    same chunk problem was solved before), then count it. True when this call counted
    the last part (and sent the merge). A failure of the solver fails the run."""
    run_status = EvaluationRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
    if run_status != R.RUNNING:
        return False  # done, failed, or gone: nothing to do
    row = (
        EvaluationPart.objects.filter(run_id=run_id, index=index)
        .only("pk", "input_hash", "digits", "result")
        .first()
    )
    if row is None:
        return False  # the run was fanned out again meanwhile: its own tasks follow
    if row.result is None:
        _solve_part(run_id, row)
    return _count(run_id)


def _solve_part(run_id: int, row: EvaluationPart) -> None:
    earlier = (
        EvaluationPart.objects.filter(
            input_hash=row.input_hash, digits=row.digits, result__isnull=False
        )
        .exclude(pk=row.pk)
        .values_list("result", "seconds")
        .first()
    )
    if earlier is not None:
        data, seconds, reused = _bytes(earlier[0]), earlier[1], True
    else:
        problem_bytes = EvaluationPart.objects.values_list("problem", flat=True).get(pk=row.pk)
        try:
            part = solve_items(sub_problem_from_bytes(_bytes(problem_bytes)), row.digits)
        except DatabaseError:
            raise  # the task retries
        except Exception as exc:  # shown on the run's page, as a single task does
            logger.exception("evaluation run %s, part %s failed", run_id, row.index)
            _fail(run_id, f"{type(exc).__name__}: {exc}")
            return
        data, seconds, reused = part_to_bytes(part), part.seconds, False
    EvaluationPart.objects.filter(pk=row.pk, result__isnull=True).update(
        result=data, seconds=seconds, reused=reused, finished_at=timezone.now()
    )


def _count(run_id: int) -> bool:
    with transaction.atomic():
        run = EvaluationRun.objects.select_for_update().get(pk=run_id)
        if run.status != R.RUNNING or not run.parts:
            return False
        done = EvaluationPart.objects.filter(run=run, result__isnull=False).count()
        run.parts_done = min(done, run.parts)
        run.progress = 30 + (30 * run.parts_done) // run.parts
        run.save(update_fields=["parts_done", "progress"])
        if done < run.parts:
            return False
        transaction.on_commit(lambda: _send_merge(run_id))
        return True


@collection_paused()
def merge_execute(*, run_id: int) -> EvaluationRun | None:
    """Merge a fanned-out run's parts and store the result as a single task would.
    Idempotent: a run no longer running, or with a part missing, is left alone."""
    from awards.services import storing
    from awards.services.comparison import run_problem

    run = EvaluationRun.objects.select_related("round", "rule_set").get(pk=run_id)
    if run.status != R.RUNNING or not run.parts:
        return None
    rows = list(
        EvaluationPart.objects.filter(run=run, result__isnull=False)
        .order_by("index")
        .values_list("whole_hash", "result", "seconds")
    )
    if len(rows) != run.parts:
        return None  # a part is missing: its task counts it and sends the merge again
    try:
        built = run_problem(run)
        if {whole for whole, _, _ in rows} != {built.problem.input_hash}:
            return _fail(
                run_id,
                _(
                    "The round's bids or demand changed while the evaluation ran in parts: "
                    "run it again."
                ),
            )
        parts = [part_from_bytes(_bytes(data)) for _, data, _ in rows]
        result = merge_parts(built.problem, parts)
        comparison = storing.comparison_row(built.problem, result)
    except ValidationError as exc:
        return _fail(run_id, "; ".join(exc.messages))
    except DatabaseError:
        raise
    except Exception as exc:
        logger.exception("evaluation run %s: merge failed", run_id)
        return _fail(run_id, f"{type(exc).__name__}: {exc}")
    EvaluationRun.objects.filter(pk=run_id, status=R.RUNNING).update(
        progress=60, stage=STAGE_STORING
    )
    stored = storing.evaluation_store(
        run_id=run_id, built=built, result=result, comparison=comparison
    )
    # the chunks' problems are not needed any more; their parts stay for reuse
    EvaluationPart.objects.filter(run_id=run_id).update(problem=b"")
    return stored


def _fail(run_id: int, message: str) -> EvaluationRun:
    from awards.services import storing

    return storing.evaluation_fail(run_id=run_id, message=message)

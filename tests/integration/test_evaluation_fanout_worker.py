"""An evaluation fanned out on a real worker process (``awards.services.fanout``): the
chunks and the merge run as separate tasks and store the result a single process
computes, byte for byte; a worker killed with SIGKILL after one chunk leaves that chunk's
part alone: only the chunks not yet solved run again."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import pytest

from awards.models import EvaluationPart, EvaluationRun, HospitalAllocation, ItemAward
from awards.services import evaluation_request
from awards.services.comparison import run_problem
from procurement.optimiser import result_to_dict, solve
from tests.awards.test_evaluation_fanout import round_with_items
from tests.conftest import KillableWorker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.2)


def _fanning_worker(make: Callable[..., KillableWorker], delay: float = 0) -> KillableWorker:
    worker = make(delay=delay)
    worker.env.update(AWARDS_FANOUT_MIN_ITEMS="2", AWARDS_FANOUT_CHUNKS="3")
    worker.start()
    return worker


def _assert_stored_as_one_process_would(run: EvaluationRun) -> None:
    expected = result_to_dict(solve(run_problem(run).problem), include_timing=False)
    assert orjson.dumps(run.result_document(), option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        expected, option=orjson.OPT_SORT_KEYS
    )
    stored = sorted(
        HospitalAllocation.objects.filter(run=run).values_list(
            "round_item__item__code", "opened_bid_id", "hospital_id", "quantity"
        )
    )
    assert stored == sorted(
        (h["item"], int(h["bid"][1:]), int(h["hospital"][1:]), h["quantity"])
        for h in expected["hospital_allocations"]
    )
    assert ItemAward.objects.filter(run=run).count() == len(expected["items"]) == 5


def test_an_evaluation_fans_out_on_the_worker_and_stores_what_one_process_computes(
    killable_worker: Callable[..., KillableWorker],
) -> None:
    built = round_with_items(code="T-2026-FANW")
    _fanning_worker(killable_worker)
    run = evaluation_request(round_=built.round, by=built.office)
    _until(lambda: EvaluationRun.objects.get(pk=run.pk).status in {"done", "failed"}, 120, "done")
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert (run.parts, run.parts_done, run.attempts) == (3, 3, 1)
    assert EvaluationPart.objects.filter(run=run, result__isnull=False).count() == 3
    _assert_stored_as_one_process_would(run)


def test_a_worker_killed_after_one_chunk_solves_only_the_others_again(
    killable_worker: Callable[..., KillableWorker],
) -> None:
    built = round_with_items(code="T-2026-FANK")
    worker = _fanning_worker(killable_worker, delay=3)  # each task waits 3 s first
    run = evaluation_request(round_=built.round, by=built.office)

    def one_part_solved() -> bool:
        return EvaluationRun.objects.get(pk=run.pk).parts_done == 1

    _until(one_part_solved, 90, "a first part was not solved")
    worker.kill()  # the next chunk is in its task, unacknowledged
    solved = dict(
        EvaluationPart.objects.filter(run=run, result__isnull=False).values_list(
            "index", "finished_at"
        )
    )
    assert len(solved) == 1
    worker.start()
    _until(lambda: EvaluationRun.objects.get(pk=run.pk).status in {"done", "failed"}, 120, "done")
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.attempts == 1  # the run's own task was not run again
    after = dict(EvaluationPart.objects.filter(run=run).values_list("index", "finished_at"))
    assert len(after) == 3
    for index, finished in solved.items():
        assert after[index] == finished  # not solved a second time
    _assert_stored_as_one_process_would(run)

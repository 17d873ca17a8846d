"""A batch of contract PDFs as a Celery group of chunks on a real worker (two processes):
every contract gets its Chinese and English PDF exactly once, the batch counts each
contract once, and a batch asked again for the same contracts renders nothing."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app
from contracts import services
from contracts.models import Contract, ContractPdfBatch
from tests.contracts.test_contracts import contracted_round

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait_finished(batch: ContractPdfBatch) -> ContractPdfBatch:
    deadline = time.monotonic() + 180
    while True:
        batch.refresh_from_db()
        if batch.finished_at is not None:
            return batch
        assert time.monotonic() < deadline, f"batch not finished: {batch}"
        time.sleep(0.3)


def _stored_since(started: float, numbers: list[str]) -> list[str]:
    """PDF files of these contracts written by the worker since ``started``."""
    root = Path(settings.MEDIA_ROOT) / "contracts"
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.pdf")
        if p.stat().st_mtime >= started and any(p.name.startswith(n) for n in numbers)
    )


def test_a_batch_renders_each_contract_once_across_the_worker_processes(
    celery_worker: subprocess.Popen[bytes], django_capture_on_commit_callbacks
) -> None:
    app.conf.task_always_eager = True  # the round is evaluated in this process
    try:
        built = contracted_round(django_capture_on_commit_callbacks)
    finally:
        app.conf.task_always_eager = False
    contracts = list(Contract.objects.filter(round=built.round).order_by("pk"))
    assert len(contracts) == 3 and not any(c.pdf_ready for c in contracts)
    numbers = [c.number for c in contracts]
    started = time.time() - 1  # file times have a coarse resolution on some file systems

    batch = services.contract_pdfs_batch_request(
        contract_ids=[c.pk for c in contracts], round_=built.round, chunk_size=1
    )
    assert batch.chunks == 3
    batch = _wait_finished(batch)
    assert (batch.total, batch.done, batch.rendered, batch.failed) == (3, 3, 3, 0)
    assert sorted(batch.parts_finished) == ["chunk-0", "chunk-1", "chunk-2"]
    stored = _stored_since(started, numbers)
    assert len(stored) == 6, stored  # zh + en per contract, no second copy of any
    for contract in Contract.objects.filter(pk__in=[c.pk for c in contracts]):
        assert contract.pdf_ready
        assert {contract.pdf_zh.name, contract.pdf_en.name} <= {f"contracts/{s}" for s in stored}
        assert len(contract.pdf_zh_sha256) == len(contract.pdf_en_sha256) == 64

    again = _wait_finished(
        services.contract_pdfs_batch_request(contract_ids=[c.pk for c in contracts], chunk_size=2)
    )
    assert (again.total, again.chunks, again.done, again.rendered) == (3, 2, 3, 0)
    assert _stored_since(started, numbers) == stored
    assert celery_worker.poll() is None


def test_a_chunk_redelivered_after_its_worker_was_killed_renders_only_the_rest(
    killable_worker, django_capture_on_commit_callbacks
) -> None:
    """SIGKILL while a chunk is between its contracts: the chunk comes back (visibility
    timeout) to a new worker, which leaves the contract already stored as it is."""
    app.conf.task_always_eager = True
    try:
        built = contracted_round(django_capture_on_commit_callbacks)
    finally:
        app.conf.task_always_eager = False
    worker = killable_worker()
    worker.start()
    ids = sorted(Contract.objects.filter(round=built.round).values_list("pk", flat=True))
    batch = services.contract_pdfs_batch_request(contract_ids=ids, chunk_size=3)
    deadline = time.monotonic() + 120
    while not Contract.objects.get(pk=ids[0]).pdf_ready:
        assert time.monotonic() < deadline, "the first contract was not rendered"
        time.sleep(0.05)
    worker.kill()
    first = Contract.objects.get(pk=ids[0])
    batch.refresh_from_db()
    assert batch.done == 0 and not Contract.objects.get(pk=ids[2]).pdf_ready  # mid-chunk

    worker.start()
    batch = _wait_finished(batch)
    assert (batch.done, batch.failed) == (3, 0)
    assert batch.rendered == 2  # the redelivered chunk rendered only the two not stored
    again = Contract.objects.get(pk=ids[0])
    assert (again.pdf_zh.name, again.pdf_en.name, again.pdf_zh_sha256) == (
        first.pdf_zh.name,
        first.pdf_en.name,
        first.pdf_zh_sha256,
    )
    assert all(c.pdf_ready for c in Contract.objects.filter(pk__in=ids))

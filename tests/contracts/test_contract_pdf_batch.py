"""A batch of contract PDFs (``services.contract_pdfs_batch_request``): chunks of a
Celery group, each contract rendered once, each chunk counted once (tasks run in-process
here; tests/integration/test_contract_pdf_batch_worker.py runs them on a real worker)."""

from __future__ import annotations

import pytest

from contracts import services, tasks
from contracts.models import Contract, ContractPdfBatch
from tests.contracts.test_contracts import contracted_round

pytestmark = pytest.mark.django_db


def _pdfs(media) -> list[str]:
    return sorted(p.name for p in (media / "contracts").rglob("*.pdf"))


@pytest.mark.parametrize(
    ("count", "size"), [(0, 1), (1, 1), (64, 1), (65, 2), (200, 4), (10_000, 50), (900_000, 50)]
)
def test_chunks_are_about_sixty_four_and_bounded(count: int, size: int) -> None:
    assert services.contract_pdf_chunk_size(count) == size


def test_a_batch_goes_out_as_a_group_of_chunks_and_counts_each_contract_once(
    django_capture_on_commit_callbacks, tmp_path, settings
) -> None:
    settings.MEDIA_ROOT = tmp_path
    built = contracted_round(django_capture_on_commit_callbacks)
    ids = list(Contract.objects.filter(round=built.round).values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True) as queued:
        batch = services.contract_pdfs_batch_request(
            contract_ids=[*ids, ids[0]], round_=built.round, chunk_size=2
        )
    assert len(queued) == 1  # one group, sent after commit
    batch.refresh_from_db()
    assert (batch.total, batch.chunks, batch.done, batch.rendered, batch.failed) == (3, 2, 3, 3, 0)
    assert batch.finished_at is not None
    assert len(_pdfs(tmp_path)) == 6
    assert all(c.pdf_ready for c in Contract.objects.filter(pk__in=ids))

    # A redelivered chunk: its contracts are current, nothing is rendered, nothing counted.
    first = sorted(ids)[:2]
    tasks.contract_pdfs_chunk_task(batch.pk, "chunk-0", first)
    batch.refresh_from_db()
    assert (batch.done, batch.rendered) == (3, 3)
    assert len(_pdfs(tmp_path)) == 6


def test_a_chunk_renders_only_what_is_not_current_and_counts_a_vanished_contract_failed(
    django_capture_on_commit_callbacks, tmp_path, settings
) -> None:
    settings.MEDIA_ROOT = tmp_path
    built = contracted_round(django_capture_on_commit_callbacks)
    ids = sorted(Contract.objects.filter(round=built.round).values_list("pk", flat=True))
    services.contract_pdf_render(contract_id=ids[0])  # rendered before the batch
    batch = ContractPdfBatch.objects.create(round=built.round, total=4, chunks=1)
    tasks.contract_pdfs_chunk_task(batch.pk, "chunk-0", [*ids, 10**9])
    batch.refresh_from_db()
    assert (batch.done, batch.rendered, batch.failed) == (3, 2, 1)
    assert batch.finished_at is not None
    assert len(_pdfs(tmp_path)) == 6


def test_an_empty_batch_is_finished_at_once(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks() as queued:
        batch = services.contract_pdfs_batch_request(contract_ids=[])
    assert queued == [] and batch.total == 0 and batch.finished_at is not None

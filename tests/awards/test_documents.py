"""The result document stored packed (``awards.documents``): fixed vectors for the stored
format, the document read back equal to the one the optimiser made, and the migration
that packs the documents stored as jsonb."""

from __future__ import annotations

import json
import zlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from awards.documents import document_pack, document_unpack
from awards.models import EvaluationRun
from procurement.optimiser import result_to_dict
from tests.awards.factories import opened_round

DOCUMENT = {
    "format": "jicai-result/1",
    "totals": {"cost": "1400.00", "savings_vs_reference": None},
    "hospital_allocations": [
        {"item": "A", "bid": "b1", "region": "11", "hospital": "h7", "quantity": 3}
    ],
    "warnings": ["价格"],
}
# The JSON inside: sorted keys, no spaces, UTF-8 (not \u escapes), amounts as strings.
CANONICAL = (
    b'{"format":"jicai-result/1","hospital_allocations":[{"bid":"b1","hospital":"h7",'
    b'"item":"A","quantity":3,"region":"11"}],"totals":{"cost":"1400.00",'
    b'"savings_vs_reference":null},"warnings":["\xe4\xbb\xb7\xe6\xa0\xbc"]}'
)
# Bytes as stored by this code (zlib level 1): they must keep reading back, whatever zlib
# build writes new ones.
STORED = bytes.fromhex(
    "78014d8e410ac2301045ef32eba8290a42769e434a99c6b41d49134da61529bd8bb770a1c711cfe174e7"
    "ee0fffbf3f7f8226a61e190c9cc922ad92cb83e74d010aba982fc4e82bf43e5a648a2183394e50d349f2"
    "f57f46ee6e2f0cb1eb451f445e070c4c7c07b355905c2bb838450173a980a3144bdb0436e6e57bb1d37a"
    "adb57019470a6daec65c25d7b8e4827560c2e0fdace086292caeec80cfebf97dbca19c7f1bf1430d"
)


def test_a_document_packs_to_its_canonical_json_compressed() -> None:
    packed = document_pack(DOCUMENT)
    assert zlib.decompress(packed) == CANONICAL
    assert packed[:2] == b"\x78\x01"  # zlib, level 1


def test_stored_bytes_read_back_as_the_document() -> None:
    assert document_unpack(STORED) == DOCUMENT
    assert document_unpack(memoryview(STORED)) == DOCUMENT
    assert document_unpack(STORED) == json.loads(CANONICAL)


@pytest.mark.django_db
def test_a_run_stores_the_optimisers_document_packed(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from awards import services
    from awards.services import storing

    built = opened_round()
    seen = {}
    real = storing.solve_by_unit

    def keep(*args, **kwargs):
        seen["result"] = real(*args, **kwargs)
        return seen["result"]

    monkeypatch.setattr(storing, "solve_by_unit", keep)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.DONE, run.error
    stored = EvaluationRun.objects.filter(pk=run.pk).values_list("result", flat=True).get()
    expected = result_to_dict(seen["result"], include_timing=False)
    assert zlib.decompress(stored) == json.dumps(
        expected, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    assert run.result_document() == json.loads(json.dumps(expected))
    assert len(run.result_document()["hospital_allocations"]) > 0


@pytest.mark.django_db(transaction=True)
def test_the_migration_packs_the_documents_stored_as_jsonb_and_back() -> None:
    """Back to jsonb, a run with a document, forward: the document reads back unchanged;
    back again: the jsonb holds it."""
    built = opened_round()
    from awards import services

    run = services.evaluation_request(round_=built.round, by=built.office)
    before = ("awards", "0005_allocation_page_indexes")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps.get_model("awards", "EvaluationRun")
    old.objects.filter(pk=run.pk).update(result=DOCUMENT)
    old.objects.exclude(pk=run.pk).update(result=None)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert EvaluationRun.objects.get(pk=run.pk).result_document() == DOCUMENT

    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps.get_model("awards", "EvaluationRun")
    assert old.objects.values_list("result", flat=True).get(pk=run.pk) == DOCUMENT

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

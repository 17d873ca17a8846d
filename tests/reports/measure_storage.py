"""Measure what generated PDFs cost where they are stored (not part of the suite).

1. Contract PDFs: bytes per contract (Chinese + English), render time. They are files
   (``Contract.pdf_zh`` / ``pdf_en``, FileField): the contract row holds two names and two
   SHA-256 digests.
2. Report PDFs (``ReportDocument.pdf``, FileField since reports 0003: the row holds a
   name and a SHA-256): bytes of the award-result announcement and of a hospital's and a
   manufacturer's report.
3. Listing: contracts (the office's list, every row) with and without deferring the PDF
   columns; report documents (a party's home panel: a page of 10, and every row) with and
   (``DOCUMENTS`` rows, each naming a file).

    MEASURE_ITEMS=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> \\
        .venv/bin/pytest tests/reports/measure_storage.py -q -s -p no:cacheprovider

``MEASURE_HOSPITALS`` (contracts, default 20,000) and ``MEASURE_DOCUMENTS`` (report rows,
default 2,000) change the size.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Organization
from catalog.models import ProcurementItem
from contracts import services as contract_services
from contracts.models import Contract
from procurement.models import Round
from reports import services
from reports.models import ReportDocument
from tests.contracts.measure_progress import HOSPITALS, _seed
from tests.contracts.test_contracts import contracted_round
from tests.reports.factories import large_awarded_round

DOCUMENTS = int(os.environ.get("MEASURE_DOCUMENTS", "2000"))
PDF_COLUMNS = ("pdf_zh", "pdf_en", "pdf_zh_sha256", "pdf_en_sha256")


def _best_of(label: str, work: Callable[[], object], times: int = 3) -> float:
    """The fastest of ``times`` runs (ms): the warm figure, the least disturbed by the
    other work on a shared machine. ``work`` builds a new queryset each time (an evaluated
    one would answer from its cache)."""
    runs = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        runs.append((time.perf_counter() - started) * 1000)
    print(f"  {label}: {min(runs):,.0f} ms (median {statistics.median(runs):,.0f})")
    return min(runs)


def _size(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size(%s))", [table])
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_measure_pdf_storage(django_capture_on_commit_callbacks, tmp_path, settings) -> None:
    assert connection.vendor == "postgresql", "measure on PostgreSQL (DATABASE_URL)"
    settings.MEDIA_ROOT = tmp_path

    print("\n1. Contract PDFs (files)")
    contracted_round(django_capture_on_commit_callbacks)
    sizes, seconds = [], []
    for contract in Contract.objects.all():
        started = time.perf_counter()
        contract_services.contract_pdf_render(contract_id=contract.pk)
        seconds.append(time.perf_counter() - started)
        contract.refresh_from_db()
        sizes.append(contract.pdf_zh.size + contract.pdf_en.size)
    print(
        f"  {statistics.mean(sizes) / 1024:,.0f} KiB per contract (zh + en, one line), "
        f"{statistics.mean(seconds):.2f} s to render both"
    )
    # The listing's dataset below builds the same factory round: free its codes.
    Round.objects.filter(code="T-2026-D1").update(code="MEASURE-C1")
    ProcurementItem.objects.filter(code="ATOR-T-2026-D1").update(code="ATOR-MEASURE-C1")

    print("2. Report PDFs (bytes in the database)")
    built = large_awarded_round(60, code="MEASURE-60")
    award = services.award_result_render(round_=built.round, run=built.run, language="zh-hans")
    hospital = next(iter(built.hospitals.values())).organization
    maker = next(iter(built.makers.values())).organization
    hospital_pdf = services.party_report_render(
        round_=built.round,
        run=built.run,
        kind=ReportDocument.Kind.HOSPITAL,
        organization=hospital,
        language="zh-hans",
    )
    maker_pdf = services.party_report_render(
        round_=built.round,
        run=built.run,
        kind=ReportDocument.Kind.MANUFACTURER,
        organization=maker,
        language="zh-hans",
    )
    print(
        f"  award result (60 items): {len(award) / 1024:,.0f} KiB; hospital report: "
        f"{len(hospital_pdf) / 1024:,.0f} KiB; manufacturer report: "
        f"{len(maker_pdf) / 1024:,.0f} KiB (each language)"
    )

    print(f"3. Listing ({HOSPITALS:,} contracts, {DOCUMENTS:,} report documents)")
    started = time.perf_counter()
    measured, contracts = _seed()
    contracts.update(
        pdf_zh="contracts/MEASURE/M-HT0000000-r3-zh.pdf",
        pdf_en="contracts/MEASURE/M-HT0000000-r3-en.pdf",
        pdf_zh_sha256="a" * 64,
        pdf_en_sha256="b" * 64,
    )
    hospitals = list(
        Organization.objects.filter(social_credit_code__startswith="12").order_by("pk")[:DOCUMENTS]
    )
    now = timezone.now()
    ReportDocument.objects.bulk_create(
        (
            ReportDocument(
                round=measured.round,
                kind=ReportDocument.Kind.HOSPITAL,
                language="zh-hans",
                organization=org,
                pdf=f"reports/MEASURE/hospital-{org.pk}-zh-hans-{'c' * 16}.pdf",
                sha256="c" * 64,
                size=len(hospital_pdf),
                pages=2,
                run_id_reported=1,
                generated_at=now,
            )
            for org in hospitals
        ),
        batch_size=200,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  seeded in {time.perf_counter() - started:.0f} s")
    print(
        f"  contracts table: {_size('contracts_contract')}; "
        f"report documents table: {_size('reports_reportdocument')} for {DOCUMENTS:,} rows"
    )
    listing = Contract.objects.filter(round=measured.round).select_related(
        "round", "hospital", "manufacturer"
    )
    _best_of("every contract, PDF columns loaded", lambda: list(listing.all()))
    _best_of("every contract, PDF columns deferred", lambda: list(listing.defer(*PDF_COLUMNS)))
    documents = ReportDocument.objects.filter(round=measured.round).order_by("pk")
    _best_of("a page of 10 documents", lambda: list(documents[:10]))
    _best_of("every document", lambda: list(documents.all()), times=2)

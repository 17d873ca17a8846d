"""Reports: the award-result PDF of a 60-item round, and contract PDFs over Celery workers.

Figures:

1. The award-result announcement of a 60-item awarded round (4 winners and 6 bids per
   item, the opening record of 360 bids as annex), rendered as the publishing task does
   (data from PostgreSQL, chart, WeasyPrint): seconds and pages/s, beside WeasyPrint
   rendering a plain one-page document in the same run.
2. Contract PDFs/s (Chinese and English each) for N contracts (hospital x winner) sent as
   one batch (``contracts.services.contract_pdfs_batch_request``: a Celery group of
   chunks) to one and then two real ``celery worker`` processes (``--pool=solo`` each),
   from the request to the batch finished, beside the single-process render rate of the
   same contracts in the same run; then the ratio of the two rates (goal >= 1.8). Every
   run checks that the batch rendered each contract once. Each row's note gives the
   machine's load and the CPU seconds the workers got: on a shared machine a second
   worker gains only what CPU the other processes leave it.

The database is ``postgres://postgres@127.0.0.1:5432/jicai_bench_reports`` (override with
``JICAI_BENCH_REPORTS_DB``), dropped, created and migrated on every run; the broker is
``redis://127.0.0.1:6379/5`` (``JICAI_BENCH_REPORTS_BROKER``) with a private queue.
N is ``JICAI_BENCH_REPORTS_CONTRACTS`` (default 200: about 1.5 + 1 minutes of rendering on
a quiet 2-core machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import Row

DATABASE_URL = os.environ.get(
    "JICAI_BENCH_REPORTS_DB", "postgres://postgres@127.0.0.1:5432/jicai_bench_reports"
)
BROKER_URL = os.environ.get("JICAI_BENCH_REPORTS_BROKER", "redis://127.0.0.1:6379/5")
CONTRACTS = int(os.environ.get("JICAI_BENCH_REPORTS_CONTRACTS", "200"))
ROOT = Path(__file__).resolve().parent.parent


def run() -> list[Row]:
    env = dict(os.environ)
    env["DATABASE_URL"] = DATABASE_URL
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["CELERY_BROKER_URL"] = BROKER_URL
    env["CELERY_RESULT_BACKEND"] = BROKER_URL
    env["CELERY_TASK_DEFAULT_QUEUE"] = f"jicai-bench-reports-{uuid.uuid4().hex[:8]}"
    env["DJANGO_MEDIA_ROOT"] = tempfile.mkdtemp(prefix="jicai-bench-reports-")
    done = subprocess.run(  # our own module, fixed arguments
        [sys.executable, "-m", "bench.bench_reports", "--child"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"reports benchmark failed:\n{done.stderr[-4000:]}")
    f: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    rows = [
        Row(
            benchmark="award-result PDF (60 items, PostgreSQL)",
            figure="render one language",
            value=f["award_seconds"],
            unit="s",
            baseline="WeasyPrint, plain one-page document",
            baseline_value=f["plain_seconds"],
            baseline_unit="s",
            note=f"{f['award_pages']} pages, {f['award_bytes']:,} bytes",
        ),
        Row(
            benchmark="award-result PDF (60 items, PostgreSQL)",
            figure="pages rendered",
            value=f["award_pages"] / f["award_seconds"],
            unit="pages/s",
            baseline="WeasyPrint, plain one-page document",
            baseline_value=1 / f["plain_seconds"],
            baseline_unit="pages/s",
            note="data, chart and rendering included",
        ),
    ]
    rates = {}
    for workers in (1, 2):
        rates[workers] = f["contracts"] / f[f"workers_{workers}_seconds"]
        rows.append(
            Row(
                benchmark=f"contract PDFs ({f['contracts']} contracts, zh + en, one batch)",
                figure=f"{workers} Celery worker process{'es' if workers > 1 else ''}",
                value=rates[workers],
                unit="contracts/s",
                baseline="same contracts rendered in one process",
                baseline_value=f["inline_contracts"] / f["inline_seconds"],
                baseline_unit="contracts/s",
                note=(
                    f"{f['contracts']} contracts in {f[f'workers_{workers}_seconds']:.1f} s "
                    f"(request to batch finished, {f[f'workers_{workers}_chunks']} chunks), "
                    f"workers' CPU {f[f'workers_{workers}_cpu']:.1f} s; "
                    f"{f[f'workers_{workers}_load']}; baseline over {f['inline_contracts']}"
                ),
            )
        )
    rows.append(
        Row(
            benchmark=f"contract PDFs ({f['contracts']} contracts, zh + en, one batch)",
            figure="2 worker processes / 1",
            value=rates[2] / rates[1],
            unit="x",
            baseline="goal",
            baseline_value=1.8,
            baseline_unit="x",
            note=(
                "CPU per contract "
                f"{f['workers_1_cpu'] / f['contracts']:.2f} s (1 worker), "
                f"{f['workers_2_cpu'] / f['contracts']:.2f} s (2 workers); shared machine: "
                "the ratio is bounded by the CPU other processes leave"
            ),
        )
    )
    return rows


# --- the child process ------------------------------------------------------------------


def _recreate_database() -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _seed_contracts(built: Any, count: int) -> list[int]:
    """``count`` contracts: hospitals in the round's provinces, one per hospital x winner of
    item D00 (4 winners), drawn up by the contracts app's own service."""
    import datetime

    from django.utils import timezone

    from accounts.demo import demo_code
    from accounts.models import Organization
    from awards.models import HospitalAllocation, ProvinceSelection
    from contracts import services as contract_services
    from contracts.models import Contract

    run = built.run
    allocations = list(
        HospitalAllocation.objects.filter(run=run, round_item__item__code__startswith="D00-")
    )
    winners = len(allocations)
    hospitals_needed = -(-count // winners)
    regions = {a.region_id for a in allocations}
    hospitals = Organization.objects.bulk_create(
        [
            Organization(
                kind=Organization.Kind.HOSPITAL,
                name=f"基准测试医院{i:04d}",
                name_en=f"Benchmark hospital {i:04d}",
                # serials after those of reports.sample_rounds (700000 + n)
                social_credit_code=demo_code("12", "11", 900000 + i),
                region_id=sorted(regions)[i % len(regions)],
                hospital_grade=3,
            )
            for i in range(hospitals_needed)
        ]
    )
    rows = []
    for h in hospitals:
        for a in allocations:
            rows.append(
                HospitalAllocation(
                    run=run,
                    round_item_id=a.round_item_id,
                    opened_bid_id=a.opened_bid_id,
                    manufacturer_id=a.manufacturer_id,
                    region_id=a.region_id,
                    hospital=h,
                    quantity=100,
                    unit_price=a.unit_price,
                )
            )
            if len(rows) == count:
                break
        if len(rows) == count:
            break
    HospitalAllocation.objects.filter(run=run).delete()
    HospitalAllocation.objects.bulk_create(rows, batch_size=2000)
    ProvinceSelection.objects.create(
        round=built.round,
        run=run,
        closes_at=timezone.now() - datetime.timedelta(hours=1),
        status=ProvinceSelection.Status.CLOSED,
        opened_by=built.office,
        result_run=run,
    )
    contract_services.contracts_generate(round_=built.round, by=built.office)
    return list(Contract.objects.filter(round=built.round).values_list("pk", flat=True))


def _reset_pdfs(ids: list[int]) -> None:
    from contracts.models import Contract

    Contract.objects.filter(pk__in=ids).update(
        pdf_revision=0, pdf_zh="", pdf_en="", pdf_zh_sha256="", pdf_en_sha256=""
    )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _with_workers(ids: list[int], workers: int, env: dict[str, str]) -> dict[str, Any]:
    """Request the contracts' PDFs as one batch; time until the batch is finished."""
    from bench.common import load
    from contracts import services as contract_services
    from contracts.models import Contract, ContractPdfBatch

    queue = env["CELERY_TASK_DEFAULT_QUEUE"]
    procs = [
        subprocess.Popen(  # celery from our venv, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "-Q",
                queue,
                "-n",
                f"bench{n}-{queue}@%h",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(workers)
    ]
    try:
        from config.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=1) or []
            if sum(1 for r in replies for name in r if queue in name) >= workers:
                break
        cpu_before = sum(_cpu_seconds(p.pid) for p in procs)
        started = time.perf_counter()
        batch = contract_services.contract_pdfs_batch_request(contract_ids=ids)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            if ContractPdfBatch.objects.filter(pk=batch.pk, finished_at__isnull=False).exists():
                seconds = time.perf_counter() - started
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"contract PDFs not done with {workers} worker(s)")
        cpu = sum(_cpu_seconds(p.pid) for p in procs) - cpu_before
        batch.refresh_from_db()
        ready = sum(c.pdf_ready for c in Contract.objects.filter(pk__in=ids))
        if (batch.done, batch.rendered, batch.failed, ready) != (len(ids), len(ids), 0, len(ids)):
            raise RuntimeError(f"batch with {workers} worker(s) incomplete: {batch.__dict__}")
        return {"seconds": seconds, "chunks": batch.chunks, "cpu": cpu, "load": load()}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def _child() -> None:
    _recreate_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery import app

    app.conf.task_always_eager = False
    app.conf.task_default_queue = os.environ["CELERY_TASK_DEFAULT_QUEUE"]

    from common.pdf import render_pdf
    from contracts import services as contract_services
    from reports import services
    from reports.sample_rounds import large_awarded_round

    plain = (
        "<html><head><style>@page { size: A4 } html { font-family: 'Noto Sans CJK SC' }"
        "</style></head><body><h1>集采 Jicai</h1><p>一页纸。 One plain page.</p></body></html>"
    )
    render_pdf(plain)  # fonts loaded once before anything is timed
    t = time.perf_counter()
    render_pdf(plain)
    plain_seconds = time.perf_counter() - t

    built = large_awarded_round(60, code="BENCH-60")
    t = time.perf_counter()
    pdf = services.award_result_render(round_=built.round, run=built.run, language="zh-hans")
    award_seconds = time.perf_counter() - t
    pages = services._page_count(pdf)

    ids = _seed_contracts(built, CONTRACTS)
    inline = ids[: min(len(ids), 20)]
    t = time.perf_counter()
    for contract_id in inline:
        contract_services.contract_pdf_render(contract_id=contract_id)
    inline_seconds = time.perf_counter() - t

    env = dict(os.environ)
    figures: dict[str, Any] = {
        "plain_seconds": plain_seconds,
        "award_seconds": award_seconds,
        "award_pages": pages,
        "award_bytes": len(pdf),
        "contracts": len(ids),
        "inline_contracts": len(inline),
        "inline_seconds": inline_seconds,
    }
    for workers in (1, 2):
        _reset_pdfs(ids)
        measured = _with_workers(ids, workers, env)
        for key, value in measured.items():
            figures[f"workers_{workers}_{key}"] = value
    print(json.dumps(figures))


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child()
    else:
        for row in run():
            print(row)

"""Evaluation of a national-scale drug round stored in PostgreSQL.

The seeded round of ``bench/national.py`` (60 items, 3 to 39 bids each, 31 provinces,
46,000 hospitals, ~920,000 demand lines) is written to a fresh database as organizations,
items, ceilings, demand declarations and opened bids. Then the evaluation task's body
(``awards.services.evaluation_execute``) runs: load bids and demand, build the problem,
solve, store the run, item awards, bid results, province and ~920,000 hospital
allocations in one transaction (the hospital rows by a streamed COPY on PostgreSQL).

Figures: time from task start to all allocations committed (beside the optimiser's own
solve time in the same run), and hospital-allocation rows stored per second, COMMIT
included (beside a raw PostgreSQL ``COPY`` of the same rows into a table of the same
columns and indexes, COMMIT included, same run). The storing time counts building the
rows' columns from the result, checking every reference in bulk, the binary COPY and the
COMMIT (where PostgreSQL would run per-row foreign-key triggers if the table had any).

The size can be reduced for a quick run on a busy machine: ``JICAI_BENCH_EVALUATION_HOSPITALS``
(default 46,000) and ``JICAI_BENCH_EVALUATION_ITEMS`` (default 60); the machine's load
(``uptime``) is printed with the figures. ``JICAI_BENCH_EVALUATION_PROFILE=<file>`` writes a
cProfile of the task's body to that file (the profiler slows the run; not for figures).

The evaluation fanned out across workers (docs/optimiser.md, "Fanning an evaluation out
across workers"): ``JICAI_BENCH_EVALUATION_CHUNKS=4`` runs the same task body with the
items cut into 4 chunks, in process (each chunk and the merge run inline, so this is the
fan-out's overhead on one process; default 0: one task, as before). With
``JICAI_BENCH_EVALUATION_WORKERS=1,2`` (and ``CELERY_BROKER_URL``) the round is then
evaluated again by a real ``celery worker`` with 1, then 2, processes, fanned out into
``JICAI_BENCH_EVALUATION_CHUNKS`` chunks (4 when 0): request -> run done and committed.
``python -m bench.run evaluation`` at full size: ``JICAI_BENCH_EVALUATION_HOSPITALS=46000``
(the default) and ``JICAI_BENCH_EVALUATION_ITEMS=60``.

The database is ``postgres://postgres@127.0.0.1:5432/jicai_bench_evaluation`` (override with
``JICAI_BENCH_EVALUATION_DB``); it is dropped, created and migrated on every run. The work
runs in a child process so its Django settings point at that database whatever else the
benchmark run has configured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import Row

DATABASE_URL = os.environ.get(
    "JICAI_BENCH_EVALUATION_DB", "postgres://postgres@127.0.0.1:5432/jicai_bench_evaluation"
)
ROOT = Path(__file__).resolve().parent.parent
HOSPITALS = int(os.environ.get("JICAI_BENCH_EVALUATION_HOSPITALS", "46000"))
ITEMS = int(os.environ.get("JICAI_BENCH_EVALUATION_ITEMS", "60"))
CHUNKS = int(os.environ.get("JICAI_BENCH_EVALUATION_CHUNKS", "0"))
WORKERS = [int(n) for n in os.environ.get("JICAI_BENCH_EVALUATION_WORKERS", "").split(",") if n]
BROKER = os.environ.get("CELERY_BROKER_URL", "")


def run() -> list[Row]:
    env = dict(os.environ)
    env["DATABASE_URL"] = DATABASE_URL
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # The task body runs here, in process (tasks it sends run eagerly); the broker is kept
    # only for the runs on real workers.
    env.pop("CELERY_BROKER_URL", None)
    if WORKERS:
        if not BROKER:
            raise RuntimeError("JICAI_BENCH_EVALUATION_WORKERS needs CELERY_BROKER_URL")
        env["CELERY_BROKER_URL"] = BROKER
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_evaluation", "--child"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"evaluation benchmark failed:\n{done.stderr[-4000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    rows = figures["hospital_rows"]
    hospital_seconds = (
        figures["hospital_frame_seconds"]
        + figures["reference_seconds"]
        + figures["hospital_copy_seconds"]
        + figures["commit_seconds"]
    )
    note = (
        f"{figures['items']} items, {figures['bids']:,} bids, {figures['demand_lines']:,} demand "
        f"lines, {figures['hospitals']:,} hospitals -> {figures['province_rows']} province and "
        f"{rows:,} hospital allocations; solver {figures['solver_status']}; seeding "
        f"{figures['seed_seconds']:.0f} s (not counted); load: {figures['uptime']}"
    )
    fanned = f", fanned out in {CHUNKS} chunks in process" if CHUNKS else ""
    worker_rows = [
        Row(
            benchmark="evaluation (national drug round, PostgreSQL)",
            figure=f"request -> committed, fanned out, {n} worker process(es)",
            value=seconds,
            unit="s",
            baseline="task start -> committed, in process (above)",
            baseline_value=figures["task_seconds"],
            baseline_unit="s",
            note=f"{figures['worker_chunks']} chunks; load: {figures['uptime']}",
        )
        for n, seconds in figures["workers"]
    ]
    return [
        Row(
            benchmark="evaluation (national drug round, PostgreSQL)",
            figure="task start -> all allocations committed" + fanned,
            value=figures["task_seconds"],
            unit="s",
            baseline="optimiser solve alone (inside it)",
            baseline_value=figures["solve_seconds"],
            baseline_unit="s",
            note=note
            + (
                f"; load + build problem {figures['build_seconds']:.1f} s, store "
                f"{figures['store_seconds']:.1f} s, COMMIT {figures['commit_seconds']:.2f} s"
            ),
        ),
        Row(
            benchmark="evaluation (national drug round, PostgreSQL)",
            figure="hospital allocation rows stored, COMMIT included",
            value=rows / hospital_seconds,
            unit="rows/s",
            baseline="raw COPY of the same rows, COMMIT included",
            baseline_value=rows / figures["copy_seconds"],
            baseline_unit="rows/s",
            note=(
                f"storing {hospital_seconds:.2f} s = columns from the result "
                f"{figures['hospital_frame_seconds']:.2f} s + references checked in bulk "
                f"{figures['reference_seconds']:.2f} s + binary COPY "
                f"{figures['hospital_copy_seconds']:.2f} s + COMMIT "
                f"{figures['commit_seconds']:.2f} s; vs a text COPY of the stored rows into "
                f"a table of the same columns and indexes + its COMMIT "
                f"({figures['copy_seconds']:.2f} s); ratio "
                f"{figures['copy_seconds'] / hospital_seconds:.2f} of raw COPY"
            ),
        ),
        *worker_rows,
    ]


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


def _copy(table: str, columns: list[str], rows: Any) -> None:
    """Seed a table with COPY (seeding is not what is measured)."""
    from django.db import connection

    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _seed() -> dict[str, Any]:
    import datetime
    import hashlib
    from decimal import Decimal

    from django.utils import timezone

    from accounts.demo import demo_code
    from accounts.models import Organization, Region, User
    from bench.national import PROVINCES, drug_round
    from bidding.models import Bid, BidVersion, OpenedBid, Opening
    from catalog.models import FormGroup, ProcurementItem, ProductKind, Specification
    from procurement.models import Ceiling, Round, RoundItem, RuleSet
    from procurement.services import rule_set_load_presets

    problem = drug_round(items=ITEMS, hospitals=HOSPITALS)
    rule_set_load_presets()
    codes = sorted(Region.objects.values_list("code", flat=True))
    region_of = dict(zip(PROVINCES, codes, strict=True))
    region_pk = dict(Region.objects.values_list("code", "pk"))
    office = Organization.objects.create(
        kind=Organization.Kind.OFFICE,
        name="基准测试采购办",
        name_en="Benchmark office",
        social_credit_code=demo_code("11", "11", 900001),
        region_id=region_pk["11"],
    )
    user = User.objects.create(username="bench", organization=office)
    hospital_region: dict[str, str] = {}
    for item in problem.items:
        for demand in item.demand:
            for h in demand.hospitals:
                hospital_region[h.id] = region_of[demand.region]
    hospitals = sorted(hospital_region)
    Organization.objects.bulk_create(
        [
            Organization(
                kind=Organization.Kind.HOSPITAL,
                name=f"医院{h}",
                name_en=f"Hospital {h}",
                social_credit_code=demo_code("12", hospital_region[h], 100000 + n),
                region_id=region_pk[hospital_region[h]],
                hospital_grade=2,
            )
            for n, h in enumerate(hospitals)
        ],
        batch_size=5000,
    )
    hospital_pk = dict(
        Organization.objects.filter(kind=Organization.Kind.HOSPITAL).values_list("name_en", "pk")
    )
    hospital_pk = {h: hospital_pk[f"Hospital {h}"] for h in hospitals}
    suppliers = sorted({b.supplier for b in problem.bids})
    Organization.objects.bulk_create(
        [
            Organization(
                kind=Organization.Kind.MANUFACTURER,
                name=f"企业{s}",
                name_en=f"Maker {s}",
                social_credit_code=demo_code("91", "11", 200000 + n),
                region_id=region_pk["11"],
            )
            for n, s in enumerate(suppliers)
        ]
    )
    maker_pk = {
        s: pk
        for s, pk in (
            (name.removeprefix("Maker "), pk)
            for name, pk in Organization.objects.filter(
                kind=Organization.Kind.MANUFACTURER
            ).values_list("name_en", "pk")
        )
    }
    now = timezone.now()
    round_ = Round.objects.create(
        code="BENCH-NATIONAL",
        name="全国基准轮次",
        name_en="National benchmark round",
        kind=Round.Kind.DRUGS,
        status=Round.Status.BIDS_OPENED,
        office=office,
        rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
        demand_opens_at=now - datetime.timedelta(days=60),
        demand_closes_at=now - datetime.timedelta(days=40),
        bid_deadline=now - datetime.timedelta(days=2),
        opening_at=now - datetime.timedelta(days=1),
        objection_ends_at=now + datetime.timedelta(days=7),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
    )
    round_.regions.set(Region.objects.all())
    opening = Opening.objects.create(
        round=round_, opened_at=now, trigger=Opening.Trigger.OFFICE, opened_by=user
    )
    spec_of: dict[str, Specification] = {}
    round_item_of: dict[str, RoundItem] = {}
    for item in problem.items:
        procurement_item = ProcurementItem.objects.create(
            code=f"BENCH-{item.id}",
            kind=ProductKind.DRUG,
            name=f"基准药品{item.id}",
            name_en=item.name,
            generic_name=f"基准{item.id}",
            form_group=FormGroup.ORAL_SOLID,
            unit_of_count="片",
            unit_of_count_en="tablet",
        )
        spec = Specification.objects.create(
            item=procurement_item,
            code="STD",
            label="10mg",
            strength_value=Decimal(10),
            strength_unit="mg",
            is_representative=True,
        )
        round_item = RoundItem.objects.create(
            round=round_, item=procurement_item, reference_price=item.reference_price
        )
        Ceiling.objects.create(
            round_item=round_item, specification=spec, max_valid_bid_price=item.max_valid_bid_price
        )
        spec_of[item.id], round_item_of[item.id] = spec, round_item
    ceilings = {i.id: i.max_valid_bid_price for i in problem.items}
    # The generator lets a supplier bid twice on an item; here a company bids once per
    # specification, so a second bid goes on an equivalent second specification.
    extra_specs: dict[tuple[str, int], Specification] = {}
    bids_of: dict[tuple[str, str], int] = {}
    for b in problem.bids:
        n = bids_of.get((b.item, b.supplier), 0)
        bids_of[(b.item, b.supplier)] = n + 1
        spec = spec_of[b.item]
        if n:
            if (b.item, n) not in extra_specs:
                extra_specs[(b.item, n)] = Specification.objects.create(
                    item=spec.item,
                    code=f"STD{n + 1}",
                    label=f"10mg ({n + 1})",
                    strength_value=Decimal(10),
                    strength_unit="mg",
                )
                Ceiling.objects.create(
                    round_item=round_item_of[b.item],
                    specification=extra_specs[(b.item, n)],
                    max_valid_bid_price=ceilings[b.item],
                )
            spec = extra_specs[(b.item, n)]
        bid = Bid.objects.create(
            round=round_,
            round_item=round_item_of[b.item],
            specification=spec,
            manufacturer_id=maker_pk[b.supplier],
        )
        receipt = hashlib.sha256(b.id.encode()).hexdigest()
        version = BidVersion.objects.create(
            bid=bid,
            number=1,
            action=BidVersion.Action.SUBMIT,
            nonce=b"0" * 12,
            ciphertext=b"benchmark",
            receipt_hash=receipt,
            server_time=now,
            submitted_by=user,
            manufacturer_id=maker_pk[b.supplier],
        )
        above = b.unit_price > ceilings[b.item]
        OpenedBid.objects.create(
            opening=opening,
            bid=bid,
            version=version,
            round_item=round_item_of[b.item],
            manufacturer_id=maker_pk[b.supplier],
            specification=spec,
            unit_price=b.unit_price,
            annual_capacity=b.capacity,
            unit_comparable_price=b.unit_price,
            max_valid_bid_price=ceilings[b.item],
            validity=OpenedBid.Validity.INVALID if above else OpenedBid.Validity.VALID,
            reasons=[OpenedBid.Reason.ABOVE_CEILING] if above else [],
            receipt_hash=receipt,
        )
    lines = 0

    def demand_rows() -> Any:
        nonlocal lines
        for item in problem.items:
            round_item, spec = round_item_of[item.id], spec_of[item.id]
            for demand in item.demand:
                for h in demand.hospitals:
                    lines += 1
                    yield (round_item.pk, hospital_pk[h.id], spec.pk, h.quantity, now)

    _copy(
        "procurement_demanddeclaration",
        ["round_item_id", "hospital_id", "specification_id", "quantity", "updated_at"],
        demand_rows(),
    )
    return {
        "round": round_.pk,
        "user": user.pk,
        "items": len(problem.items),
        "bids": len(problem.bids),
        "hospitals": len(hospitals),
        "demand_lines": lines,
    }


def _copy_baseline(run_id: int) -> float:
    """COPY the stored hospital allocation rows into a (logged, like the real one) table of
    the same columns and indexes, no foreign keys, and COMMIT: seconds for both."""
    from django.db import connection, transaction

    from awards.models import HospitalAllocation

    table = HospitalAllocation._meta.db_table
    columns = (
        "run_id, round_item_id, opened_bid_id, manufacturer_id, region_id, hospital_id, "
        "quantity, unit_price"
    )
    with connection.cursor() as cursor:
        buffer = bytearray()
        with cursor.copy(
            f"COPY (SELECT {columns} FROM {table} WHERE run_id = {int(run_id)}) TO STDOUT"
        ) as copy:
            for chunk in copy:
                buffer += chunk
        cursor.execute(
            "CREATE TABLE bench_allocation_copy "
            f"(LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING IDENTITY)"
        )
        view = memoryview(bytes(buffer))
        started = time.perf_counter()
        copy_sql = f"COPY bench_allocation_copy ({columns}) FROM STDIN"
        with transaction.atomic(), cursor.copy(copy_sql) as copy:
            for start in range(0, len(view), 1 << 20):
                copy.write(view[start : start + (1 << 20)])
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_allocation_copy")
    return seconds


def _child() -> None:
    _recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    from config.celery import app

    app.conf.task_always_eager = True  # until the runs on real workers

    call_command("migrate", verbosity=0)
    from awards.models import EvaluationRun, HospitalAllocation, ProvinceAllocation
    from awards.services import storing as services
    from procurement.models import Round

    started = time.perf_counter()
    seeded = _seed()
    seed_seconds = time.perf_counter() - started

    timings: dict[str, float] = {}
    real_bulk = services.insert_batched
    from awards.services import comparison

    real_build = comparison.problem_build

    def timed_bulk(model: Any, rows: Any) -> int:
        t = time.perf_counter()
        count = real_bulk(model, rows)
        timings[model.__name__] = timings.get(model.__name__, 0.0) + time.perf_counter() - t
        return count

    def timed_build(**kwargs: Any) -> Any:
        t = time.perf_counter()
        built = real_build(**kwargs)
        timings["build"] = time.perf_counter() - t
        return built

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            value = function(*args, **kwargs)
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - t
            return value

        return wrapper

    services.insert_batched = timed_bulk
    comparison.problem_build = timed_build
    services._hospital_frame = timed("hospital_frame", services._hospital_frame)
    services._check_references = timed("references", services._check_references)
    services._store_hospital_rows = timed("HospitalAllocation", services._store_hospital_rows)
    from django.db import connection

    real_commit = connection.commit

    def timed_commit() -> None:
        # The run's transaction commits after its hospital rows are written.
        t = time.perf_counter()
        real_commit()
        if "HospitalAllocation" in timings and "commit" not in timings:
            timings["commit"] = time.perf_counter() - t

    connection.commit = timed_commit  # type: ignore[method-assign]
    from accounts.models import User

    round_ = Round.objects.get(pk=seeded["round"])
    run = EvaluationRun.objects.create(
        round=round_,
        rule_set=round_.rule_set,
        rule_set_version=round_.rule_set.version,
        requested_by=User.objects.get(pk=seeded["user"]),
    )
    from django.conf import settings

    settings.AWARDS_FANOUT_MIN_ITEMS = 2 if CHUNKS else 0
    settings.AWARDS_FANOUT_CHUNKS = CHUNKS
    profile_path = os.environ.get("JICAI_BENCH_EVALUATION_PROFILE", "")
    profiler = None
    if profile_path:  # where the task's time goes: python -m pstats <path>
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    task_started = time.perf_counter()
    services.evaluation_execute(run_id=run.pk)  # the task's body
    task_seconds = time.perf_counter() - task_started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile_path)
    run.refresh_from_db()
    if run.status != EvaluationRun.Status.DONE:
        raise RuntimeError(f"evaluation failed: {run.error}")
    hospital_rows = HospitalAllocation.objects.filter(run=run).count()
    figures = {
        **seeded,
        "seed_seconds": seed_seconds,
        "task_seconds": task_seconds,
        "solve_seconds": run.solve_seconds or 0.0,
        "build_seconds": timings.get("build", 0.0),
        "store_seconds": sum(
            timings.get(name, 0.0)
            for name in (
                "ItemAward",
                "BidResult",
                "ProvinceAllocation",
                "hospital_frame",
                "references",
                "HospitalAllocation",
            )
        ),
        "hospital_frame_seconds": timings["hospital_frame"],
        "worker_chunks": CHUNKS or 4,
        "reference_seconds": timings["references"],
        "hospital_copy_seconds": timings["HospitalAllocation"],
        "commit_seconds": timings["commit"],
        "hospital_rows": hospital_rows,
        "province_rows": ProvinceAllocation.objects.filter(run=run).count(),
        "solver_status": run.solver_status,
        "copy_seconds": _copy_baseline(run.pk),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }
    connection.commit = real_commit  # type: ignore[method-assign]
    figures["workers"] = [(n, _on_workers(run, n)) for n in WORKERS]
    print(json.dumps(figures))


def _on_workers(previous: Any, processes: int) -> float:
    """The same round evaluated by a real worker with ``processes`` processes, fanned out:
    seconds from the request to the run done (its rows committed)."""
    import uuid

    from awards.models import EvaluationRun
    from awards.tasks import evaluation_run_task
    from config.celery import app

    # The earlier runs' input is put aside, or this run would point at theirs.
    for pk in EvaluationRun.objects.filter(round=previous.round).values_list("pk", flat=True):
        EvaluationRun.objects.filter(pk=pk).update(input_hash=f"set aside {pk}")
    queue = f"jicai-bench-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ)
    env.update(
        CELERY_TASK_DEFAULT_QUEUE=queue,
        AWARDS_FANOUT_MIN_ITEMS="2",
        AWARDS_FANOUT_CHUNKS=str(CHUNKS or 4),
    )
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING"),
            *(f"--concurrency={processes}", "--without-gossip", "--without-mingle"),
            *("-Q", queue, "-n", f"{queue}@%h"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        app.conf.task_always_eager = False
        run = EvaluationRun.objects.create(
            round=previous.round,
            rule_set=previous.rule_set,
            rule_set_version=previous.rule_set_version,
            requested_by=previous.requested_by,
        )
        from config.tasks import worker_ping

        deadline = time.monotonic() + 90
        while True:  # the worker is up when it answers
            try:
                worker_ping.apply_async(args=["ready"], queue=queue).get(timeout=10)
                break
            except Exception:
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise
        started = time.perf_counter()
        evaluation_run_task.apply_async(args=(run.pk,), queue=queue)
        while True:
            run.refresh_from_db()
            if run.status in {EvaluationRun.Status.DONE, EvaluationRun.Status.FAILED}:
                break
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"evaluation on {processes} worker(s): not done in 600 s")
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        if run.status != EvaluationRun.Status.DONE:
            raise RuntimeError(f"evaluation on {processes} worker(s) failed: {run.error}")
        return seconds
    finally:
        app.conf.task_always_eager = True
        worker.terminate()
        worker.wait(timeout=60)


if __name__ == "__main__":
    if "--child" in sys.argv:
        sys.path.insert(0, str(ROOT))
        _child()
    else:
        for row in run():
            print(row)

"""A hostile 1 MB xlsx (a million rows of tiny cells) uploaded to a hospital's demand page:
the time a web worker is held, beside a trivial page in the same run.

Before the limits were checked while reading (common.xlsx_guard), a 987 KB workbook of a
million rows held a gunicorn worker until it was killed at 120 s. The goal is at most 2 s.

One PostgreSQL database (``jicai_bench_upload``, created and dropped here); Django runs
in a child process, and each request goes through Django's whole handler and middleware
stack in that process (the test client), so the time measured is the time a web worker
spends on the request, without the network. Figures: the slowest of three uploads of the
hostile workbook, and of a CSV whose header has 100,000 columns; the baseline is the
median of 30 requests of the hospital's home page. Run alone:
``python -m bench.run hostile_upload``.
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from bench.common import Row

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "jicai_bench_upload"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
ROWS = 1_000_000
ROUND_CODE = "BENCH-UPLOAD"


def hostile_workbook(rows: int = ROWS) -> bytes:
    """A valid workbook whose one sheet has a header and ``rows`` one-cell rows."""
    import openpyxl

    # Seeded random numbers, so the sheet compresses like real data (~1 MB, as the
    # issue's 987 KB file) rather than to nothing.
    generator = random.Random(20261206)
    numbers = [generator.randrange(16) for _ in range(rows)]
    template = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active.append(["item code", "quantity"])
    workbook.save(template)
    sheet = b"".join(
        [
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="'
            b'http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>',
            *(b"<row><c><v>%d</v></c></row>" % n for n in numbers),
            b"</sheetData></worksheet>",
        ]
    )
    source = zipfile.ZipFile(template)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, source.read(info.filename))
        target.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def _child() -> None:
    """Runs with Django configured for the bench database: set up, measure, print JSON."""
    import datetime

    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client then keeps each response's context
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from accounts.demo import demo_code
    from accounts.models import Organization, Region, User
    from accounts.services import regions_ensure
    from catalog.models import FormGroup, ProductKind
    from catalog.services import item_upsert, specification_upsert
    from procurement.models import Round, RuleSet
    from procurement.services import round_create, round_open_demand, rule_set_load_presets

    call_command("migrate", verbosity=0)
    regions_ensure()
    rule_set_load_presets()
    region = Region.objects.get(code="11")
    office = Organization.objects.create(
        kind="office",
        name="基准办公室",
        social_credit_code=demo_code("11", "11", 900001),
        region=region,
    )
    hospital = Organization.objects.create(
        kind="hospital",
        name="基准医院",
        social_credit_code=demo_code("12", "11", 900002),
        region=region,
        hospital_grade=3,
    )
    user = User.objects.create_user(username="bench-hospital", organization=hospital)
    item, _ = item_upsert(
        code="B-00",
        kind=ProductKind.DRUG,
        name="基准药品",
        generic_name="基准",
        form_group=FormGroup.ORAL_SOLID,
        unit_of_count="片",
    )
    specification_upsert(item=item, code="10MG", label="10mg", is_representative=True)
    now = timezone.now()
    round_ = round_create(
        office=office,
        code=ROUND_CODE,
        name="基准轮次",
        kind=Round.Kind.DRUGS,
        rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
        regions=[region],
        demand_opens_at=now - datetime.timedelta(days=1),
        demand_closes_at=now + datetime.timedelta(hours=1),
        # The rule set's 20 days from publication (bidding opens) to the deadline.
        bid_deadline=now + datetime.timedelta(days=21),
        opening_at=now + datetime.timedelta(days=21, hours=1),
        objection_ends_at=now + datetime.timedelta(days=28),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
        items=[item],
    )
    round_open_demand(round_=round_, by=None)
    client = Client(HTTP_HOST="127.0.0.1", secure=True)
    client.force_login(user)
    home = reverse("accounts:hospital-home")
    url = reverse("procurement:demand-upload", args=[ROUND_CODE])
    client.get(home)
    trivial = []
    for _ in range(30):
        started = time.perf_counter()
        assert client.get(home).status_code == 200
        trivial.append(time.perf_counter() - started)
    workbook = hostile_workbook()
    columns = (",".join(f"c{i}" for i in range(100_000)) + "\n").encode()
    results: dict[str, object] = {"trivial": statistics.median(trivial), "size": len(workbook)}
    for name, data, filename in (("xlsx", workbook, "hostile.xlsx"), ("csv", columns, "wide.csv")):
        held = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.post(url, {"file": SimpleUploadedFile(filename, data)})
            held.append(time.perf_counter() - started)
            assert response.status_code == 400, response.status_code
        results[name] = max(held)
        results[f"{name}_message"] = response.context["upload_error"]
    print(json.dumps(results))


def _database(action: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        if action == "create":
            c.execute(f'CREATE DATABASE "{DATABASE}"')


def run() -> list[Row]:
    _database("create")
    try:
        env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
        env.update(
            DATABASE_URL=DATABASE_URL,
            DJANGO_SETTINGS_MODULE="config.settings",
            DJANGO_LOG_LEVEL="ERROR",
        )
        out = subprocess.run(
            [sys.executable, "-c", "from bench.bench_hostile_upload import _child; _child()"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        _database("drop")
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    note = f"goal <= 2 s; in-process handler, PostgreSQL; refused: {result['xlsx_message']}"
    return [
        Row(
            benchmark="hostile upload",
            figure=f"web worker held by a {result['size'] / 1e6:.2f} MB xlsx of 1M rows",
            value=float(result["xlsx"]),
            unit="s",
            baseline="hospital home page (median)",
            baseline_value=float(result["trivial"]),
            baseline_unit="s",
            note=note,
        ),
        Row(
            benchmark="hostile upload",
            figure="web worker held by a CSV of 100,000 columns",
            value=float(result["csv"]),
            unit="s",
            baseline="hospital home page (median)",
            baseline_value=float(result["trivial"]),
            baseline_unit="s",
            note="goal <= 2 s",
        ),
    ]

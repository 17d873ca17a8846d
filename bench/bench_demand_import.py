"""A national-scale demand import (1,000,000 lines) beside raw PostgreSQL COPY of the file.

Generates (seeded) a CSV of demand for 46,000 hospitals in 31 provinces x 22 drug items
(one specification of two per hospital and item; 1,000,000 lines, ~12,000 hospital-item
pairs left out at random), then, in one run on one PostgreSQL database:

1. **import**: ``procurement.services.demand_import`` with ``commit=True``, the function
   behind the office's "Import collated demand" page (the hospital upload page calls the
   same function with its hospital): read and convert the whole file with pandas, check
   every line (quantities, hospital codes and region scope, item and specification codes,
   duplicates), compare with the existing declarations, write 1,000,000 declarations plus
   1,000,000 history rows (COPY) and commit, foreign keys checked by PostgreSQL;
2. **preview**: the same function with ``commit=False`` on the same file after the import
   (what the preview page does; every line is now "unchanged", nothing is written);
3. **COPY baseline**: ``COPY ... FROM STDIN (FORMAT csv)`` of the same bytes into a table of
   the file's four columns with the same uniqueness (hospital, item, specification) as the
   declarations table, run before and after the import; the faster run is the baseline
   (the machine is shared, and this never flatters the import).

Database: ``DATABASE_URL`` if set, else ``postgres://postgres@127.0.0.1:5432/jicai_bench``
(created if missing), migrated here. Django runs in a child process so its settings point at
that database. Everything the bench creates is deleted at the end. Run alone:
``python -m bench.run demand_import``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Row

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/jicai_bench"
HOSPITALS = 46_000
ITEMS = 22
LINES = 1_000_000
SEED = 20261122
ROUND_CODE = "BENCH-DEMAND"


def _ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def run() -> list[Row]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres", "pgsql")):
        url = DEFAULT_DATABASE_URL
    _ensure_database(url)
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        subprocess.run(
            [sys.executable, "-m", "bench.bench_demand_import", str(out)],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=900,
        )
        result = json.loads(out.read_text())
    ratio = result["import_rows_per_s"] / result["copy_rows_per_s"]
    return [
        Row(
            benchmark="demand import",
            figure=f"import {result['lines']:,} lines (validate + commit, history kept)",
            value=result["import_rows_per_s"],
            unit="rows/s",
            baseline="PostgreSQL COPY of the same file",
            baseline_value=result["copy_rows_per_s"],
            baseline_unit="rows/s",
            note=(
                f"{ratio:.2f} of COPY; import {result['import_s']:.1f} s (read+validate "
                f"{result['validate_s']:.1f} s), COPY {result['copy_s']:.1f} s, "
                f"{result['file_mb']:.0f} MB CSV"
            ),
        ),
        Row(
            benchmark="demand import",
            figure="preview of the same file (all lines unchanged, nothing written)",
            value=result["preview_rows_per_s"],
            unit="rows/s",
            baseline="PostgreSQL COPY of the same file",
            baseline_value=result["copy_rows_per_s"],
            baseline_unit="rows/s",
            note=f"{result['preview_s']:.1f} s",
        ),
    ]


# --- the child process (Django configured for the bench database) ----------------------------


def _generate_csv(path: Path, hospital_codes: list[str], items: list[tuple[str, str, str]]) -> int:
    """Write the seeded demand file; returns the number of lines."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    pairs = HOSPITALS * ITEMS
    keep = np.sort(rng.choice(pairs, size=LINES, replace=False))
    hospital_index = keep // ITEMS
    item_index = keep % ITEMS
    spec_choice = rng.integers(0, 2, size=LINES)
    item_codes = np.array([i[0] for i in items], dtype=object)
    spec_codes = np.array([[i[1], i[2]] for i in items], dtype=object)
    # Annual quantities in smallest units: log-normal, as hospital sizes are.
    quantity = np.maximum(1, rng.lognormal(mean=7.5, sigma=1.3, size=LINES)).astype(np.int64)
    frame = pd.DataFrame(
        {
            "医疗机构代码": np.array(hospital_codes, dtype=object)[hospital_index],
            "品种编码": item_codes[item_index],
            "规格编码": spec_codes[item_index, spec_choice],
            "年度需求量": quantity,
        }
    )
    frame.to_csv(path, index=False, encoding="utf-8")
    return len(frame)


def _copy_baseline(connection: Any, transaction: Any, data: bytes, lines: int) -> float:
    """Seconds to COPY the file into a table of its four columns with the same uniqueness
    (hospital, item, specification) as the declarations table."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_demand_copy")
        cursor.execute(
            "CREATE TABLE bench_demand_copy ("
            " id bigserial PRIMARY KEY,"
            " hospital_code varchar(18) NOT NULL,"
            " item_code varchar(32) NOT NULL,"
            " specification_code varchar(40) NOT NULL,"
            " quantity bigint NOT NULL CHECK (quantity > 0),"
            " UNIQUE (hospital_code, item_code, specification_code))"
        )
    start = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY bench_demand_copy (hospital_code, item_code, specification_code, quantity)"
            " FROM STDIN (FORMAT csv, HEADER true)"
        ) as copy,
    ):
        for offset in range(0, len(data), 8 * 1024 * 1024):
            copy.write(data[offset : offset + 8 * 1024 * 1024])
    elapsed = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_demand_copy")
        copied = cursor.fetchone()[0]
        assert copied == lines, copied
        cursor.execute("DROP TABLE bench_demand_copy")
    return elapsed


def _cleanup() -> None:
    """Delete everything a bench run creates (also what a crashed earlier run left)."""
    from django.db import connection, transaction

    from accounts.models import Organization, User
    from catalog.models import ProcurementItem
    from procurement.models import DemandChange, DemandDeclaration, Round, RoundItem

    rounds = Round.objects.filter(code__startswith=f"{ROUND_CODE}-")
    round_items = list(RoundItem.objects.filter(round__in=rounds).values_list("pk", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        # Plain DELETEs for the big tables: the ORM's would load millions of objects first.
        for model in (DemandChange, DemandDeclaration):
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE round_item_id = ANY(%s)",
                [round_items],
            )
        for round_ in rounds:
            round_.delete()
        ProcurementItem.objects.filter(code__startswith="BENCH-ITEM-").delete()
        User.objects.filter(username="bench-demand-office").delete()
        cursor.execute(
            f"DELETE FROM {Organization._meta.db_table} WHERE name LIKE %s",
            ["基准医院%"],
        )
        Organization.objects.filter(name="基准采购办").delete()


def _child(out: Path) -> None:
    import datetime
    from decimal import Decimal

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)

    from accounts.demo import demo_code
    from accounts.models import Organization, Region, User
    from accounts.services import regions_ensure
    from catalog.models import FormGroup, ProductKind
    from catalog.services import item_upsert, specification_upsert
    from procurement.models import DemandDeclaration, Round, RuleSet
    from procurement.services import (
        demand_import,
        round_create,
        round_open_demand,
        rule_set_load_presets,
    )

    _cleanup()
    regions_ensure()
    rule_set_load_presets()
    regions = list(Region.objects.order_by("code"))
    office, _ = Organization.objects.get_or_create(
        social_credit_code=demo_code("11", "11", 990001),
        defaults={"kind": "office", "name": "基准采购办", "region": regions[0]},
    )
    user, _ = User.objects.get_or_create(username="bench-demand-office", organization=office)
    codes = [demo_code("12", regions[i % len(regions)].code, 800_000 + i) for i in range(HOSPITALS)]
    Organization.objects.bulk_create(
        [
            Organization(
                kind="hospital",
                name=f"基准医院{i}",
                social_credit_code=code,
                region=regions[i % len(regions)],
                hospital_grade=1 + i % 3,
            )
            for i, code in enumerate(codes)
        ],
        batch_size=5000,
        ignore_conflicts=True,
    )
    items = []
    item_objects = []
    for i in range(ITEMS):
        item, _ = item_upsert(
            code=f"BENCH-ITEM-{i:02d}",
            kind=ProductKind.DRUG,
            name=f"基准药品{i}",
            generic_name=f"基准{i}",
            form_group=FormGroup.ORAL_SOLID,
            unit_of_count="片",
        )
        for j, (code, strength) in enumerate((("10MG", 10), ("20MG", 20))):
            specification_upsert(
                item=item,
                code=code,
                label=code.lower(),
                strength_value=Decimal(strength),
                pack_count=7,
                is_representative=j == 0,
            )
        items.append((item.code, "10MG", "20MG"))
        item_objects.append(item)
    # A fresh round per run (earlier runs' rounds were emptied at their end).
    code = f"{ROUND_CODE}-{int(time.time())}"
    now = timezone.now()
    round_ = round_create(
        office=office,
        code=code,
        name="基准轮次",
        kind=Round.Kind.DRUGS,
        rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
        regions=regions,
        demand_opens_at=now - datetime.timedelta(hours=1),
        demand_closes_at=now + datetime.timedelta(days=1),
        bid_deadline=now + datetime.timedelta(days=22),  # the rule set's 20 days of bidding
        opening_at=now + datetime.timedelta(days=22, hours=1),
        objection_ends_at=now + datetime.timedelta(days=23),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
        items=item_objects,
        by=user,
    )
    round_open_demand(round_=round_, by=user)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demand.csv"
        lines = _generate_csv(path, codes, items)
        data = path.read_bytes()
        limit = len(data) + 1  # a national import raises JICAI_MAX_UPLOAD_BYTES accordingly

        # 0. Raw COPY of the same bytes into an equivalent table (also run after the import:
        # the machine is shared, so the faster of the two is used, never flattering us).
        copy_before_s = _copy_baseline(connection, transaction, data, lines)

        # 1. The import path (read, validate, diff, write, commit).
        start = time.perf_counter()
        outcome = demand_import(
            round_=round_,
            data=data,
            filename="demand.csv",
            max_bytes=limit,
            hospital=None,
            by=user,
            commit=True,
        )
        import_s = time.perf_counter() - start
        assert outcome.ok and outcome.committed, (outcome.file_error, outcome.errors[:5])
        assert outcome.created == lines, outcome
        written = DemandDeclaration.objects.filter(round_item__round=round_).count()
        assert written == lines, written

        # The validation share of it: the same call as a preview, before anything exists,
        # is measured after the import as "all unchanged" below; here, read + convert only.
        from common.spreadsheets import read_spreadsheet
        from procurement.services import demand_columns

        start = time.perf_counter()
        read_spreadsheet(
            data, filename="demand.csv", columns=demand_columns("drugs"), max_bytes=limit
        )
        validate_s = time.perf_counter() - start

        # 2. Preview of the same file (every line unchanged).
        start = time.perf_counter()
        again = demand_import(
            round_=round_,
            data=data,
            filename="demand.csv",
            max_bytes=limit,
            hospital=None,
            by=user,
            commit=False,
        )
        preview_s = time.perf_counter() - start
        assert again.unchanged == lines and again.created == 0, again

        # 3. COPY again after the import; the faster of the two runs is the baseline.
        copy_s = min(copy_before_s, _copy_baseline(connection, transaction, data, lines))

    # Leave the database as it was: DATABASE_URL may name a database people use.
    _cleanup()
    out.write_text(
        json.dumps(
            {
                "lines": lines,
                "file_mb": len(data) / 1024 / 1024,
                "import_s": import_s,
                "validate_s": validate_s,
                "preview_s": preview_s,
                "copy_s": copy_s,
                "import_rows_per_s": lines / import_s,
                "preview_rows_per_s": lines / preview_s,
                "copy_rows_per_s": lines / copy_s,
            }
        )
    )


if __name__ == "__main__":
    _child(Path(sys.argv[1]))

"""Measure the progress page before and after its aggregate queries (not part of the suite).

The round: H hospitals x K items (default 20,000 x 10 = 200,000 current contract lines),
one confirmed contract per hospital, 31 provinces, two months of purchases on three lines
in four. "Before" is the page as it was: every line read into Python
(``reference_progress.progress_lines``) and totalled there, rendered with the former template
(1,000 lines and 500 hospitals on one page). "After" is the page now: aggregate queries
and one page of 50. Both give the same figures (checked here too).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> \\
        .venv/bin/pytest tests/contracts/measure_progress.py -q -s -p no:cacheprovider

``MEASURE_HOSPITALS`` and ``MEASURE_ITEMS`` change the size.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.template import engines
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization, Region
from awards.models import EvaluationRun
from catalog.models import FormGroup, ProcurementItem, ProductKind, Specification
from contracts import selectors
from contracts.models import Contract, ContractLine, Purchase
from contracts.progress import combine
from procurement.models import RoundItem
from tests.awards.factories import opened_bid, opened_round
from tests.contracts import reference_progress

HOSPITALS = int(os.environ.get("MEASURE_HOSPITALS", "20000"))
ITEMS = int(os.environ.get("MEASURE_ITEMS", "10"))
BEFORE_COMMIT = "b33c753"  # the progress page before the aggregate queries
ROOT = Path(__file__).resolve().parents[2]


def _seed() -> tuple[Any, Any]:
    built = opened_round(prices=("0.1000",), demand=(("11", 100),))
    round_, maker = built.round, built.makers[0]
    run = EvaluationRun.objects.create(
        round=round_, rule_set=round_.rule_set, rule_set_version=1, status="done"
    )
    items = [(built.round_item, built.bids[0])]
    for k in range(1, ITEMS):
        item = ProcurementItem.objects.create(
            code=f"MEASURE-{k}",
            kind=ProductKind.DRUG,
            name=f"品种{k}",
            name_en=f"Item {k}",
            generic_name=f"品种{k}",
            form_group=FormGroup.ORAL_SOLID,
            unit_of_count="片",
            unit_of_count_en="tablet",
        )
        spec = Specification.objects.create(
            item=item,
            code="1",
            label="1",
            strength_value=Decimal(1),
            strength_unit="mg",
            pack_count=1,
            is_representative=True,
        )
        round_item = RoundItem.objects.create(round=round_, item=item, reference_price=1)
        bid = opened_bid(
            round_=round_,
            round_item=round_item,
            specification=spec,
            maker=maker,
            price="0.1000",
            ceiling=Decimal("0.5"),
        )
        items.append((round_item, bid))
    regions = list(Region.objects.order_by("code")[:31])
    hospitals = Organization.objects.bulk_create(
        Organization(
            kind=Organization.Kind.HOSPITAL,
            name=f"医院{n:06d}",
            name_en=f"Hospital {n:06d}",
            social_credit_code=f"12{n:015d}X",
            region=regions[n % len(regions)],
            hospital_grade=2,
        )
        for n in range(HOSPITALS)
    )
    now, office = timezone.now(), built.office
    start = timezone.localdate() - datetime.timedelta(days=100)
    Contract.objects.bulk_create(
        Contract(
            round=round_,
            run=run,
            number=f"M-HT{n:07d}",
            hospital=hospital,
            manufacturer=maker.organization,
            starts_on=start,
            total=Decimal(1),
            status=Contract.Status.CONFIRMED,
            hospital_confirmed_at=now,
            hospital_confirmed_by=office,
            manufacturer_confirmed_at=now,
            manufacturer_confirmed_by=office,
        )
        for n, hospital in enumerate(hospitals)
    )
    contracts = list(Contract.objects.filter(round=round_).order_by("number"))
    ends = start.replace(year=start.year + 2) - datetime.timedelta(days=1)
    ContractLine.objects.bulk_create(
        (
            ContractLine(
                contract=contract,
                version=0,
                round_item=round_item,
                opened_bid=bid,
                region=regions[i % len(regions)],
                quantity=1000 + (i * 7 + k * 13) % 5000,
                unit_price=Decimal("0.1"),
                amount=Decimal(1),
                term_years=2,
                starts_on=start,
                ends_on=ends,
            )
            for i, contract in enumerate(contracts)
            for k, (round_item, bid) in enumerate(items)
        ),
        batch_size=5000,
    )
    first = start.replace(day=1)
    months = [first, (first + datetime.timedelta(days=32)).replace(day=1)]
    Purchase.objects.bulk_create(
        (
            Purchase(
                contract=contract,
                round_item=round_item,
                month=month,
                quantity=(i + k) % 300,
                channel=Purchase.Channel.WEB,
                recorded_by=office,
            )
            for i, contract in enumerate(contracts)
            for k, (round_item, _) in enumerate(items)
            for month in months
            if (i + k) % 4
        ),
        batch_size=5000,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return built, Contract.objects.filter(round=round_, status=Contract.Status.CONFIRMED)


def _measure(label: str, work: Callable[[], object]) -> object:
    queries: list[str] = []

    def count(execute: Any, sql: str, *args: Any) -> Any:
        queries.append(sql)  # the test client resets connection.queries per request
        return execute(sql, *args)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = work()
        elapsed = time.perf_counter() - started
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{label}: {elapsed * 1000:,.0f} ms, {len(queries)} queries, peak {peak / 2**20:.0f} MiB")
    return result


@pytest.mark.django_db
def test_measure_progress_before_and_after() -> None:
    started = time.perf_counter()
    built, contracts = _seed()
    print(
        f"\n{HOSPITALS:,} hospitals x {ITEMS} items = {HOSPITALS * ITEMS:,} lines, "
        f"{Purchase.objects.count():,} purchases, seeded in {time.perf_counter() - started:.0f} s"
        f" on {connection.vendor}"
    )
    today = timezone.localdate()
    source = subprocess.run(
        ["git", "show", f"{BEFORE_COMMIT}:contracts/templates/contracts/progress.html"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    former = engines["django"].from_string(source)
    request = RequestFactory().get("/awards/progress/")
    request.user = built.office

    def before() -> str:
        rows = reference_progress.progress_lines(contracts=contracts, today=today)
        context = {
            "rounds": [built.round],
            "round": built.round,
            "rows": rows[:1000],
            "total": combine(r.progress for r in rows),
            "by_item": reference_progress.progress_by(rows, "item"),
            "by_province": reference_progress.progress_by(rows, "region"),
            "by_winner": reference_progress.progress_by(rows, "manufacturer"),
            "by_hospital": reference_progress.progress_by(rows, "hospital")[:500],
            "behind": reference_progress.behind_schedule_hospitals(rows=rows),
            "today": today,
            "current_role": "office",
        }
        return str(former.render(context, request))

    client = Client()
    client.force_login(built.office)

    def after(detail: str) -> Callable[[], str]:
        def page() -> str:
            response = client.get(reverse("contracts:progress"), {"detail": detail})
            assert response.status_code == 200
            return response.content.decode()

        return page

    for _ in range(2):  # the second round is the warm one
        html = _measure("before: every line in Python, 1,000 lines shown", before)
        print(f"  {len(str(html)) // 1024:,} KiB of HTML")
        for detail in ("hospitals", "lines", "behind"):
            html = _measure(f"after: aggregate queries, detail={detail}", after(detail))
            print(f"  {len(str(html)) // 1024:,} KiB of HTML")
    # Same figures.
    lines = selectors.current_lines(contracts=contracts)
    schedule = selectors.progress_schedule(lines=lines, today=today)
    rows = reference_progress.progress_lines(contracts=contracts, today=today)
    summary = selectors.progress_summary(lines=lines, schedule=schedule)
    assert summary.total == combine(r.progress for r in rows)
    for key, got in (("item", summary.by_item), ("region", summary.by_region)):
        expected = reference_progress.progress_by(rows, key)
        assert [(n.pk, p) for n, p in got] == [(n.pk, p) for n, p in expected]
    behind = selectors.progress_behind(lines=lines, schedule=schedule)
    expected_behind = reference_progress.behind_schedule_hospitals(rows=rows)
    assert [(n.pk, p) for n, p in behind] == [(n.pk, p) for n, p in expected_behind]

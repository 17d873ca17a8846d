"""Measure GET /api/v1/progress/ before and after its aggregate queries (not in the suite).

The dataset is ``measure_progress``'s (H hospitals x K items current contract lines, two
months of purchases on three lines in four). "Before" is the endpoint as it was: every
line read into Python (``reference_progress.progress_lines``) and the first 5,000 serialized in
one response (the rest were cut off silently). "After" is the endpoint now: one page of
100 lines from the aggregate queries, first and a late page. The figures are the same
(checked on the first 5,000 lines).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> \\
        .venv/bin/pytest tests/contracts/measure_api_progress.py -q -s -p no:cacheprovider
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from contracts.models import Purchase
from tests.contracts import reference_progress
from tests.contracts.measure_progress import HOSPITALS, ITEMS, _measure, _seed


@pytest.mark.django_db
def test_measure_progress_api_before_and_after() -> None:
    started = time.perf_counter()
    built, contracts = _seed()
    lines = HOSPITALS * ITEMS
    print(
        f"\n{HOSPITALS:,} hospitals x {ITEMS} items = {lines:,} lines, "
        f"{Purchase.objects.count():,} purchases, seeded in {time.perf_counter() - started:.0f} s"
        f" on {connection.vendor}"
    )
    today = timezone.localdate()

    def before() -> bytes:
        rows = reference_progress.progress_lines(contracts=contracts, today=today)
        body = [
            {
                "contract_number": r.contract_number,
                "item": r.item.code,
                "agreed": r.progress.agreed,
                "bought": r.progress.bought,
                "expected_by_today": r.progress.expected,
                "beyond_agreed": r.progress.beyond_agreed,
                "behind_schedule": r.progress.behind,
            }
            for r in rows[:5000]
        ]
        return json.dumps(body).encode()

    client = APIClient()
    client.force_authenticate(built.office)
    last_page = (lines + 99) // 100

    def after(page: int) -> Callable[[], bytes]:
        def get() -> bytes:
            response = client.get(reverse("api-progress"), {"page": page})
            assert response.status_code == 200
            return response.content

        return get

    for _ in range(2):  # the second round is the warm one
        body = _measure("before: every line in Python, first 5,000 in one response", before)
        print(f"  {len(body) // 1024:,} KiB")  # type: ignore[arg-type]
        for page in (1, last_page // 2, last_page):
            body = _measure(f"after: aggregate queries, page {page:,} of 100 lines", after(page))
            print(f"  {len(body) // 1024:,} KiB")  # type: ignore[arg-type]
    # Same figures, on the lines the former response held.
    former = json.loads(before())
    served = []
    for page in range(1, 51):
        served.extend(json.loads(after(page)())["results"])
    assert served == former

"""On PostgreSQL with a real Celery worker: amendments and answers published at the same
moment get distinct numbers and versions (the round row's lock), and the worker renders
each version's PDFs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from tender.models import Amendment, Clarification, DocumentPdf, ProcurementDocumentVersion
from tender.services import (
    AmendmentDraft,
    amendment_publish,
    clarification_answer,
    clarification_ask,
)
from tests.tender.conftest import publish_round

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AT_ONCE = 4


def _at_once(work: list[Callable[[], object]]) -> list[str]:
    """Run the callables in threads released together; each one's error, if any."""
    barrier = threading.Barrier(len(work))
    errors: list[str] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
        except Exception as exc:  # reported by the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_amendments_at_once_are_numbered_apart_and_rendered_by_the_worker(
    celery_worker: object,
) -> None:
    published = publish_round(code="PG-2026-TD")
    prices = [Decimal("2.4"), Decimal("2.3"), Decimal("2.2"), Decimal("2.1")]

    def amend(price: Decimal) -> Callable[[], object]:
        return lambda: amendment_publish(
            round_=published.round,
            by=published.office,
            draft=AmendmentDraft(
                reason=f"最高有效申报价 {price}",
                ceilings={(published.atv.pk, published.atv20.pk): price},
            ),
        )

    assert _at_once([amend(p) for p in prices[:AT_ONCE]]) == []
    amendments = Amendment.objects.filter(round=published.round)
    numbers = sorted(amendments.values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4]
    versions = sorted(
        ProcurementDocumentVersion.objects.filter(round=published.round).values_list(
            "number", flat=True
        )
    )
    assert versions == [1, 2, 3, 4, 5]
    # Each notice's old value is the previous notice's new value: they were serialised.
    chain = [
        (a.changes.get(kind="ceiling").old_value, a.changes.get(kind="ceiling").new_value)
        for a in Amendment.objects.filter(round=published.round).order_by("number")
    ]
    assert all(chain[i][1] == chain[i + 1][0] for i in range(len(chain) - 1))
    # The worker renders every version, in both languages (a few seconds each).
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if DocumentPdf.objects.filter(version__round=published.round).count() == 2 * 5:
            break
        time.sleep(1)
    assert DocumentPdf.objects.filter(version__round=published.round).count() == 2 * 5


def test_answers_at_once_get_distinct_numbers() -> None:
    published = publish_round(code="PG-2026-TQ")
    questions = [
        clarification_ask(round_=published.round, by=published.maker, question=f"问题 {i}")
        for i in range(AT_ONCE)
    ]

    def answer(question: Clarification) -> Callable[[], object]:
        return lambda: clarification_answer(
            clarification=question, by=published.office, answer="答复"
        )

    assert _at_once([answer(q) for q in questions]) == []
    assert sorted(
        Clarification.objects.filter(round=published.round).values_list("number", flat=True)
    ) == [1, 2, 3, 4]

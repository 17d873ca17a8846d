"""Storing an evaluation's hospital allocations: binary COPY (``common.bulk_copy``) into a
table whose foreign keys the database does not check, every reference checked in bulk
first. On SQLite the same rows go through ``bulk_create``; with DATABASE_URL pointing at
PostgreSQL these tests run there, and the ``integration`` one requires it.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Organization, Region
from awards import services
from awards.models import (
    BidResult,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    ProvinceAllocation,
)
from awards.problem import problem_build
from awards.services import storing
from bidding.models import OpenedBid
from procurement.models import Round
from tests.awards.factories import opened_round

pytestmark = pytest.mark.django_db

# Eight hospitals in three provinces, quantities that split unevenly between winners.
DEMAND = (
    ("11", 6001),
    ("11", 3999),
    ("11", 17),
    ("31", 10000),
    ("31", 1),
    ("44", 2500),
    ("44", 7333),
    ("44", 12),
)
PRICES = ("0.1234", "0.15", "0.1999", "0.30", "0.60")


def _expected_rows(run: EvaluationRun) -> list[tuple[Any, ...]]:
    """The rows the run's stored result document says, worked out independently of the
    storing code: ids from the keys, prices from the province allocations."""
    document: Any = run.result_document()
    regions = dict(Region.objects.values_list("code", "pk"))
    makers = dict(OpenedBid.objects.values_list("pk", "manufacturer_id"))
    assert len({a["item"] for a in document["allocations"]}) == 1  # one item in these rounds
    round_item_id = ItemAward.objects.get(run=run).round_item_id
    price = {
        (a["item"], a["bid"], a["region"]): Decimal(a["unit_price"])
        for a in document["allocations"]
    }
    return sorted(
        (
            run.pk,
            round_item_id,
            int(h["bid"][1:]),
            makers[int(h["bid"][1:])],
            regions[h["region"]],
            int(h["hospital"][1:]),
            h["quantity"],
            price[(h["item"], h["bid"], h["region"])],
        )
        for h in document["hospital_allocations"]
    )


FIELDS = (
    "run_id",
    "round_item_id",
    "opened_bid_id",
    "manufacturer_id",
    "region_id",
    "hospital_id",
    "quantity",
    "unit_price",
)


def _stored_rows(run: EvaluationRun) -> list[tuple[Any, ...]]:
    return sorted(HospitalAllocation.objects.filter(run=run).values_list(*FIELDS))


def _evaluate(built: Any, capture: Any) -> EvaluationRun:
    with translation.override("en"), capture(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    run.refresh_from_db()
    return run


def test_the_stored_rows_equal_the_result_field_by_field(
    django_capture_on_commit_callbacks,
) -> None:
    built = opened_round(prices=PRICES, demand=DEMAND)
    run = _evaluate(built, django_capture_on_commit_callbacks)
    assert run.status == EvaluationRun.Status.DONE, run.error

    expected = _expected_rows(run)
    assert len(expected) >= len(DEMAND)  # every hospital is supplied, some by two winners
    assert _stored_rows(run) == expected
    # Exact to the unit: each hospital's rows add up to what its province allocation says.
    assert sum(r[6] for r in expected) == sum(
        ProvinceAllocation.objects.filter(run=run).values_list("quantity", flat=True)
    )
    assert {r[7] for r in expected} >= {Decimal("0.1234")}


def test_a_hospital_that_does_not_exist_is_refused_and_nothing_is_written(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    built = opened_round(prices=PRICES, demand=DEMAND)
    missing = Organization.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    real_solve = storing.solve

    def solve_with_a_bad_hospital(problem: Any) -> Any:
        result = real_solve(problem)
        rows = list(result.hospital_allocations)
        rows[2] = dataclasses.replace(rows[2], hospital=f"H{missing}")
        return dataclasses.replace(result, hospital_allocations=tuple(rows))

    monkeypatch.setattr(storing, "solve", solve_with_a_bad_hospital)
    run = _evaluate(built, django_capture_on_commit_callbacks)

    assert run.status == EvaluationRun.Status.FAILED
    assert run.error.startswith(f"Hospital allocation row 3: hospital {missing} does not exist")
    assert "Nothing was stored" in run.error
    assert not run.is_official
    assert HospitalAllocation.objects.count() == 0
    assert ItemAward.objects.count() == BidResult.objects.count() == 0
    assert ProvinceAllocation.objects.count() == 0
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.BIDS_OPENED  # not moved to "evaluated"

    # A manufacturer is not a hospital: the reference is checked against its kind too.
    maker = built.makers[0].organization_id

    def solve_with_a_maker_as_hospital(problem: Any) -> Any:
        result = real_solve(problem)
        rows = list(result.hospital_allocations)
        rows[0] = dataclasses.replace(rows[0], hospital=f"H{maker}")
        return dataclasses.replace(result, hospital_allocations=tuple(rows))

    monkeypatch.setattr(storing, "solve", solve_with_a_maker_as_hospital)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        again = services.evaluation_retry(run=run, by=built.office)
    again.refresh_from_db()
    assert again.status == EvaluationRun.Status.FAILED
    assert again.error.startswith(f"Hospital allocation row 1: hospital {maker} does not exist")
    assert HospitalAllocation.objects.count() == 0

    monkeypatch.undo()  # the data are right again: the run stores
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_retry(run=run, by=built.office)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.DONE
    assert _stored_rows(run) == _expected_rows(run)


@pytest.mark.integration
def test_postgresql_stores_by_binary_copy_into_a_table_without_row_triggers(
    django_capture_on_commit_callbacks,
) -> None:
    """On PostgreSQL: no INSERT for the hospital rows (one binary COPY), no foreign-key
    constraint (so no per-row trigger at COMMIT), and the rows equal the result."""
    assert connection.vendor == "postgresql"
    built = opened_round(prices=PRICES, demand=DEMAND)
    with django_capture_on_commit_callbacks(execute=False):  # the task body runs here
        run = services.evaluation_request(round_=built.round, by=built.office)
    with CaptureQueriesContext(connection) as queries:
        services.evaluation_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.DONE, run.error
    table = HospitalAllocation._meta.db_table
    assert not [q for q in queries.captured_queries if f'INSERT INTO "{table}"' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        assert cursor.fetchone() == (0,)
    assert _stored_rows(run) == _expected_rows(run)


def test_a_result_without_hospital_rows_stores_none(django_capture_on_commit_callbacks) -> None:
    """A round whose result has no hospital rows (nothing awarded): no query per key, no
    row, no error."""
    built = opened_round(prices=PRICES, demand=DEMAND)
    with django_capture_on_commit_callbacks(execute=False):
        run = services.evaluation_request(round_=built.round, by=built.office)
    problem = problem_build(round_=built.round, rule_set=run.rule_set, excluded=[])
    result = dataclasses.replace(storing.solve(problem.problem), hospital_allocations=())
    regions = dict(Region.objects.values_list("code", "pk"))
    frame = storing._hospital_frame(run, problem, result, regions)
    assert len(frame) == 0 and list(frame.columns) == [*storing.HOSPITAL_COLUMNS, "unit_price"]
    with CaptureQueriesContext(connection) as queries:
        storing._check_references(frame)
        assert storing._store_hospital_rows(run.pk, frame) == 0
    assert queries.captured_queries == []
    assert not HospitalAllocation.objects.exists()

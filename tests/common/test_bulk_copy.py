"""The bulk writer on its own: PostgreSQL COPY (text and binary) and the bulk_create fallback.

The same tests run on SQLite (the fallback) in the unit suite and on PostgreSQL (COPY) when
DATABASE_URL points there; ``test_postgresql_is_written_with_copy`` is marked integration
so the COPY path is never skipped silently where PostgreSQL is required.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

from common.bulk_copy import Decimals, binary_copy_stream, copy_columns, copy_rows

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=datetime.UTC)


class Probe(models.Model):
    """A table made for these tests only (created inside each test's transaction)."""

    label = models.TextField()
    amount = models.DecimalField(max_digits=14, decimal_places=4, null=True)
    day = models.DateField(null=True)
    at = models.DateTimeField(null=True)
    count = models.BigIntegerField(null=True)
    flag = models.BooleanField(null=True)

    class Meta:
        app_label = "common"
        managed = False
        db_table = "common_bulk_copy_probe"

    def __str__(self) -> str:
        return self.label


COLUMNS = ("label", "amount", "day", "at", "count", "flag")
TRICKY = "tab\there, newline\nthere, backslash \\ and \\N, quote \" ' 中文"


@pytest.fixture(autouse=True)
def probe_table() -> Iterator[None]:
    editor = connection.schema_editor()
    sql, params = editor.table_sql(Probe)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    yield


def _stored() -> list[tuple[object, ...]]:
    return list(Probe.objects.order_by("pk").values_list(*COLUMNS))


def test_rows_of_every_kind_are_written_as_given() -> None:
    rows = [
        (TRICKY, Decimal("1234567.8901"), datetime.date(2026, 2, 28), AT, 10**15, True),
        ("nulls", None, None, None, None, None),
        ("", Decimal("-0.0001"), datetime.date(2000, 1, 1), AT, -1, False),
    ]
    assert copy_rows(Probe, COLUMNS, iter(rows)) == 3
    assert _stored() == rows


def test_rows_are_streamed_in_batches_where_there_is_no_copy() -> None:
    rows = ((f"row {i}", Decimal(i), None, None, i, False) for i in range(7))
    assert copy_rows(Probe, COLUMNS, rows, batch_size=3) == 7
    assert [r[0] for r in _stored()] == [f"row {i}" for i in range(7)]


def test_nothing_to_write_writes_nothing() -> None:
    assert copy_rows(Probe, COLUMNS, []) == 0
    assert copy_columns(Probe, {"label": "x"}, 0) == 0
    assert not Probe.objects.exists()


def test_columns_of_whole_numbers_and_constants() -> None:
    counts = pd.Series([3, 1, 2], dtype="Int64")
    written = copy_columns(Probe, {"count": counts, "label": TRICKY, "at": AT}, 3)
    assert written == 3
    assert _stored() == [
        (TRICKY, None, None, AT, 3, None),
        (TRICKY, None, None, AT, 1, None),
        (TRICKY, None, None, AT, 2, None),
    ]


def test_columns_of_exact_decimals_are_written_exactly() -> None:
    """Decimals given as whole numbers of a scale: signs, zero, the column's largest value,
    a scale that is not a multiple of PostgreSQL's four-digit groups."""
    units = pd.Series([123_456_789, -1, 0, 99_999_999_999_999, -50_000, 10_000])
    assert copy_columns(Probe, {"amount": Decimals(units, 4), "label": "d4"}, 6) == 6
    odd = pd.Series([1234, -5, 999_999_999_999])
    assert copy_columns(Probe, {"amount": Decimals(odd, 2), "label": "d2"}, 3) == 3
    stored = [a for _label, a, *_rest in _stored()]
    assert stored == [
        Decimal("12345.6789"),
        Decimal("-0.0001"),
        Decimal("0"),
        Decimal("9999999999.9999"),
        Decimal("-5"),
        Decimal("1"),
        Decimal("12.34"),
        Decimal("-0.05"),
        Decimal("9999999999.99"),
    ]


def test_a_column_given_whole_cannot_hold_a_null() -> None:
    counts = pd.Series([1, None], dtype="Int64")
    with pytest.raises(ValueError, match="NULL"):
        copy_columns(Probe, {"count": counts, "label": "x"}, 2)
    assert not Probe.objects.exists()


def test_a_table_without_a_model_is_written_by_copy_only() -> None:
    """A staging table (no model) takes COPY on PostgreSQL; elsewhere it is refused."""
    values = {"count": pd.Series([5, 6])}
    if connection.vendor != "postgresql":
        with pytest.raises(ValueError, match="COPY only"):
            copy_columns("probe_stage", values, 2)
        return
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE probe_stage (count bigint) ON COMMIT DROP")
        assert copy_columns("probe_stage", values, 2) == 2
        cursor.execute("SELECT count FROM probe_stage ORDER BY count")
        assert cursor.fetchall() == [(5,), (6,)]


def test_the_binary_stream_is_postgresql_copy_binary() -> None:
    stream = binary_copy_stream([pd.Series([1, 2]), "ab", AT], 2)
    assert stream.startswith(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
    assert stream.endswith(b"\xff\xff")
    epoch = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    microseconds = (AT - epoch) // datetime.timedelta(microseconds=1)
    row = (
        (3).to_bytes(2, "big")
        + (8).to_bytes(4, "big")
        + (1).to_bytes(8, "big")
        + (2).to_bytes(4, "big")
        + b"ab"
        + (8).to_bytes(4, "big")
        + microseconds.to_bytes(8, "big")
    )
    assert stream[19:-2] == row + row.replace((1).to_bytes(8, "big"), (2).to_bytes(8, "big"), 1)


@pytest.mark.integration
def test_postgresql_is_written_with_copy() -> None:
    assert connection.vendor == "postgresql"
    rows = [(TRICKY, Decimal("0.125"), datetime.date(2026, 2, 28), AT, 7, True)]
    with CaptureQueriesContext(connection) as queries:
        copy_rows(Probe, COLUMNS, rows)
        copy_columns(
            Probe,
            {
                "count": pd.Series([8, 9]),
                "label": "binary",
                "at": AT,
                "amount": Decimals(pd.Series([-1_250, 7]), 4),
            },
            2,
        )
    # psycopg's COPY is not a Django query: no INSERT was sent.
    assert not [q for q in queries.captured_queries if "INSERT" in q["sql"]]
    assert _stored() == [
        *rows,
        ("binary", Decimal("-0.125"), None, AT, 8, None),
        ("binary", Decimal("0.0007"), None, AT, 9, None),
    ]

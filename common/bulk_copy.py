"""The bulk writer: many rows into one table, inside the caller's transaction.

Every large insert goes through here (a national round writes a million demand lines and
their history, and a million hospital allocations per evaluation). Two ways in, one
writer:

* ``copy_rows(target, columns, rows)``: rows as tuples of any values the database takes
  (None, int, Decimal, str, bool, date, aware datetime), streamed, never held in memory
  whole. On PostgreSQL one ``COPY ... FROM STDIN`` (text format: psycopg escapes tabs,
  newlines and backslashes, and sends None as NULL), several times faster than INSERTs.
* ``copy_columns(target, columns, rows)``: whole columns at once, each a Series of whole
  numbers or a constant (int, str, aware datetime). On PostgreSQL a binary ``COPY`` whose
  stream is built with one numpy array: a million rows cost milliseconds where formatting
  them as text costs seconds. No value may be NULL here: leave a column that is NULL
  throughout out of ``columns`` (the database then writes its default, NULL).

``target`` is a model, or on PostgreSQL a table's name (a temporary staging table);
``columns`` are database column names (``round_item_id``) in the order of the values.
Other databases (SQLite for ``make run`` and the unit tests) get the same rows through
``bulk_create`` in bounded batches. Both return the number of rows written.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from django.db import connection, models

Target: TypeAlias = type[models.Model] | str
ColumnValues: TypeAlias = "pd.Series[Any] | int | str | datetime.datetime"
BATCH_SIZE = 2000  # rows per INSERT where there is no COPY: bounds each statement's memory

_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, extension length
_BINARY_TRAILER = b"\xff\xff"
_POSTGRES_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def copy_rows(
    target: Target,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Write ``rows`` (one value per column, any type the database takes) into ``target``."""
    if connection.vendor != "postgresql":
        return _bulk_create(_model(target), columns, rows, batch_size=batch_size)
    count = 0
    with connection.cursor() as cursor:
        statement = f"COPY {_table(target)} ({_names(columns)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def copy_columns(
    target: Target,
    columns: Mapping[str, ColumnValues],
    rows: int,
    *,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Write ``rows`` rows given column by column: whole numbers (a Series, sent as
    bigint) or constants (an int, a text, an aware datetime). No value may be NULL."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        names = list(columns)
        values = zip(*(_as_values(v, rows) for v in columns.values()), strict=True)
        return _bulk_create(_model(target), names, values, batch_size=batch_size)
    stream = binary_copy_stream(list(columns.values()), rows)  # refused before COPY starts
    with connection.cursor() as cursor:
        statement = f"COPY {_table(target)} ({_names(columns)}) FROM STDIN (FORMAT binary)"
        with cursor.cursor.copy(statement) as copy:
            copy.write(stream)
    return rows


def binary_copy_stream(fields: Sequence[ColumnValues], rows: int) -> bytes:
    """PostgreSQL's binary COPY stream of ``rows`` tuples, built with one numpy array.

    Each field is a column of whole numbers (a Series, sent as bigint) or a constant: an
    int (bigint), a text (its UTF-8 bytes) or an aware datetime (timestamptz, microseconds
    since 2000-01-01). A tuple is its field count (int16), then per field its length
    (int32) and its bytes, all big-endian: fixed widths, so one structured array holds the
    whole stream.
    """
    encoded = [f.encode() if isinstance(f, str) else f for f in fields]
    layout: list[tuple[str, str]] = [("count", ">i2")]
    for i, field in enumerate(encoded):
        kind = f"S{len(field)}" if isinstance(field, bytes) else ">i8"
        layout += [(f"length{i}", ">i4"), (f"value{i}", kind)]
    out = np.empty(rows, dtype=np.dtype(layout))
    out["count"] = len(encoded)
    for i, field in enumerate(encoded):
        value: object = field
        if isinstance(field, datetime.datetime):
            value = (field - _POSTGRES_EPOCH) // datetime.timedelta(microseconds=1)
        elif isinstance(field, pd.Series):
            if field.isna().any():
                raise ValueError(f"field {i} has NULLs; a binary COPY column cannot hold one")
            value = field.to_numpy(dtype=np.int64)
        out[f"length{i}"] = len(field) if isinstance(field, bytes) else 8
        out[f"value{i}"] = value
    return _BINARY_HEADER + out.tobytes() + _BINARY_TRAILER


def _as_values(field: ColumnValues, rows: int) -> Iterator[Any]:
    """A column's values one by one: a Series' whole numbers, or the constant repeated."""
    if isinstance(field, pd.Series):
        if field.isna().any():
            raise ValueError("a column given whole cannot hold NULLs")
        return iter(field.to_numpy(dtype=np.int64).tolist())
    return itertools.repeat(field, rows)


def _bulk_create(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch_size: int,
) -> int:
    """Insert ``rows`` with ``bulk_create`` in batches (never the whole list at once)."""
    attnames = {f.column: f.attname for f in model._meta.concrete_fields}
    names = [attnames.get(column, column) for column in columns]
    count = 0
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, batch_size)):
        objects = [model(**dict(zip(names, row, strict=True))) for row in batch]
        model._default_manager.bulk_create(objects)
        count += len(objects)
    return count


def _model(target: Target) -> type[models.Model]:
    if isinstance(target, str):
        raise ValueError(f"table {target} is written by COPY only (PostgreSQL)")
    return target


def _table(target: Target) -> str:
    name = target if isinstance(target, str) else target._meta.db_table
    return connection.ops.quote_name(name)


def _names(columns: Iterable[str]) -> str:
    return ", ".join(connection.ops.quote_name(column) for column in columns)

"""The bulk writer: many rows into one table, inside the caller's transaction.

Every large insert goes through here (a national round writes a million demand lines and
their history, and a million hospital allocations per evaluation). Two ways in, one
writer:

* ``copy_rows(target, columns, rows)``: rows as tuples of any values the database takes
  (None, int, Decimal, str, bool, date, aware datetime), streamed, never held in memory
  whole. On PostgreSQL one ``COPY ... FROM STDIN`` (text format: psycopg escapes tabs,
  newlines and backslashes, and sends None as NULL), several times faster than INSERTs.
* ``copy_columns(target, columns, rows)``: whole columns at once, each a Series of whole
  numbers, exact decimals given as whole numbers of a fixed scale (``Decimals``), or a
  constant (int, str, aware datetime). On PostgreSQL a binary ``COPY`` whose stream is
  built with one numpy array: a million rows cost milliseconds where formatting them as
  text costs seconds. No value may be NULL here: leave a column that is NULL throughout
  out of ``columns`` (the database then writes its default, NULL).

``target`` is a model, or on PostgreSQL a table's name (a temporary staging table);
``columns`` are database column names (``round_item_id``) in the order of the values.
Other databases (SQLite for ``make run`` and the unit tests) get the same rows through
``bulk_create`` in bounded batches. Both return the number of rows written.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from django.db import connection, models


@dataclass(frozen=True)
class Decimals:
    """A column of exact decimals given as whole numbers of ``10**-scale``: ``units`` 1234
    with ``scale`` 2 is 12.34. Written to a ``numeric`` column without ever formatting a
    number as text (on PostgreSQL: binary ``numeric``, fixed width)."""

    units: pd.Series[Any]
    scale: int

    def __post_init__(self) -> None:
        if not 0 <= self.scale <= 16:
            raise ValueError(f"scale {self.scale} is outside 0..16")


Target: TypeAlias = type[models.Model] | str
ColumnValues: TypeAlias = "pd.Series[Any] | Decimals | int | str | datetime.datetime"
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
    bigint), exact decimals (``Decimals``, sent as numeric) or constants (an int, a text,
    an aware datetime). No value may be NULL."""
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

    Each field is a column of whole numbers (a Series, sent as bigint), of exact decimals
    (``Decimals``, sent as numeric) or a constant: an int (bigint), a text (its UTF-8
    bytes) or an aware datetime (timestamptz, microseconds since 2000-01-01). A tuple is
    its field count (int16), then per field its length (int32) and its bytes, all
    big-endian: fixed widths, so one structured array holds the whole stream.
    """
    encoded = [f.encode() if isinstance(f, str) else f for f in fields]
    layout: list[tuple[str, Any]] = [("count", ">i2")]
    for i, field in enumerate(encoded):
        kind: Any = ">i8"
        if isinstance(field, bytes):
            kind = f"S{len(field)}"
        elif isinstance(field, Decimals):
            kind = _numeric_dtype(field.scale)
        layout += [(f"length{i}", ">i4"), (f"value{i}", kind)]
    out = np.empty(rows, dtype=np.dtype(layout))
    out["count"] = len(encoded)
    for i, field in enumerate(encoded):
        value: object = field
        length = 8
        if isinstance(field, datetime.datetime):
            value = (field - _POSTGRES_EPOCH) // datetime.timedelta(microseconds=1)
        elif isinstance(field, bytes):
            length = len(field)
        elif isinstance(field, Decimals):
            value = _numeric_values(_whole(field.units, i), field.scale)
            length = out.dtype[f"value{i}"].itemsize
        elif isinstance(field, pd.Series):
            value = _whole(field, i)
        out[f"length{i}"] = length
        out[f"value{i}"] = value
    return _BINARY_HEADER + out.tobytes() + _BINARY_TRAILER


# PostgreSQL's binary numeric: ndigits, weight, sign, dscale (int16 each), then ndigits
# base-10,000 digits (int16). The server strips leading and trailing zero digits itself,
# so a fixed layout fits every value: five integer digits (any int64 has at most 19
# decimal digits) and as many fractional digits as the scale needs.
_NUMERIC_INTEGER_DIGITS = 5
_NUMERIC_NEGATIVE = 0x4000


def _numeric_dtype(scale: int) -> np.dtype[Any]:
    digits = _NUMERIC_INTEGER_DIGITS + -(-scale // 4)
    return np.dtype(
        [("ndigits", ">i2"), ("weight", ">i2"), ("sign", ">u2"), ("dscale", ">i2")]
        + [(f"d{k}", ">i2") for k in range(digits)]
    )


def _numeric_values(units: np.ndarray[Any, Any], scale: int) -> np.ndarray[Any, Any]:
    dtype = _numeric_dtype(scale)
    fraction_digits = -(-scale // 4)
    digits = _NUMERIC_INTEGER_DIGITS + fraction_digits
    if (units == np.iinfo(np.int64).min).any():
        raise ValueError("a decimal's whole-number units are out of range")
    magnitude = np.abs(units)
    integer, fraction = np.divmod(magnitude, np.int64(10**scale))
    fraction = fraction * np.int64(10 ** (4 * fraction_digits - scale))  # < 10**16
    out = np.empty(len(units), dtype=dtype)
    out["ndigits"] = digits
    out["weight"] = _NUMERIC_INTEGER_DIGITS - 1
    out["sign"] = np.where(units < 0, _NUMERIC_NEGATIVE, 0)
    out["dscale"] = scale
    for k in range(_NUMERIC_INTEGER_DIGITS):
        out[f"d{k}"] = (integer // np.int64(10_000 ** (_NUMERIC_INTEGER_DIGITS - 1 - k))) % 10_000
    for k in range(fraction_digits):
        out[f"d{_NUMERIC_INTEGER_DIGITS + k}"] = (
            fraction // np.int64(10_000 ** (fraction_digits - 1 - k))
        ) % 10_000
    return out


def _whole(field: pd.Series[Any], i: int) -> np.ndarray[Any, Any]:
    if field.isna().any():
        raise ValueError(f"field {i} has NULLs; a binary COPY column cannot hold one")
    return field.to_numpy(dtype=np.int64)


def _as_values(field: ColumnValues, rows: int) -> Iterator[Any]:
    """A column's values one by one: a Series' whole numbers, exact decimals, or the
    constant repeated."""
    if isinstance(field, Decimals):
        units = _as_values(field.units, rows)
        return (Decimal(u).scaleb(-field.scale) for u in units)
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

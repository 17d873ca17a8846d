"""Demand by spreadsheet: preview, then commit; every bad input refused with row and reason."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import StoredUpload
from procurement.models import DemandChange, DemandDeclaration
from procurement.services import round_close_demand
from tests.procurement.conftest import client_for

pytestmark = pytest.mark.django_db

HEADER = "品种编码,规格编码,年度需求量（最小单位）\n"


def upload(client, round_, content: bytes, name: str = "demand.csv"):
    return client.post(
        reverse("procurement:demand-upload", args=[round_.code]),
        {"file": SimpleUploadedFile(name, content)},
    )


def token_of(response) -> str:
    match = re.search(r'name="token" value="([0-9a-f-]+)"', response.content.decode())
    assert match, response.content.decode()[:3000]
    return match.group(1)


def commit(client, round_, token):
    return client.post(
        reverse("procurement:demand-upload", args=[round_.code]),
        {"token": token, "commit": "1"},
        follow=True,
    )


def test_upload_with_a_bad_row_then_fixed(open_round, hospital):
    client = client_for(hospital)
    bad = (HEADER + "D-ATV-OS,10MG,1200\nD-ATV-OS,20MG,-3\nD-CLO-OS,75MG,800\n").encode()
    response = upload(client, open_round, bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert "1 problem found: fix the file and upload it again. Nothing was written." in html
    assert "“-3” is negative; it must be greater than zero." in html
    assert 'name="token"' not in html
    assert not DemandDeclaration.objects.exists()

    fixed = bad.replace(b"-3", b"300")
    response = upload(client, open_round, fixed)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Preview" in html and ">3</dd>" in html
    assert not DemandDeclaration.objects.exists()  # a preview writes nothing
    done = commit(client, open_round, token_of(response))
    assert "Imported demand.csv: 3 new, 0 changed, 0 unchanged." in done.content.decode()
    assert sorted(DemandDeclaration.objects.values_list("quantity", flat=True)) == [300, 800, 1200]
    assert set(DemandChange.objects.values_list("channel", flat=True)) == {"upload"}
    assert not StoredUpload.objects.exists()

    # The same file again creates nothing new.
    again = commit(client, open_round, token_of(upload(client, open_round, fixed)))
    assert "Imported demand.csv: 0 new, 0 changed, 3 unchanged." in again.content.decode()
    assert DemandDeclaration.objects.count() == 3
    assert DemandChange.objects.count() == 3


def test_gb18030_csv_and_xlsx_are_read(open_round, hospital):
    client = client_for(hospital)
    gbk = (HEADER + "D-ATV-OS,10MG,5\n").encode("gb18030")
    response = upload(client, open_round, gbk)
    assert response.status_code == 200, response.content.decode()[:2000]
    commit(client, open_round, token_of(response))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["item code", "specification code", "quantity"])
    sheet.append(["D-ATV-OS", "10MG", 7])
    sheet.append(["D-CLO-OS", "75MG", 9])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(client, open_round, buffer.getvalue(), "demand.xlsx")
    assert response.status_code == 200, response.content.decode()[:2000]
    done = commit(client, open_round, token_of(response))
    assert "Imported demand.xlsx: 1 new, 1 changed, 0 unchanged." in done.content.decode()
    assert sorted(DemandDeclaration.objects.values_list("quantity", flat=True)) == [7, 9]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "demand.csv", "The file is empty."),
        (HEADER.encode(), "demand.csv", "The file has a header row but no data rows."),
        (
            b"a,b\n1,2\n",
            "demand.pdf",
            "Unknown file type “demand.pdf”: upload a .xlsx or .csv file.",
        ),
        (
            "医院,品种\nX,Y\n".encode(),
            "demand.csv",
            "This is not the expected sheet: column(s) 品种编码 (item code); 规格编码 "
            "(specification code); 年度需求量 (quantity) not found. Columns found: 医院, 品种.",
        ),
        (
            "品种编码,规格编码,数量\nD-ATV-OS,10MG,5\n".encode("utf-16"),
            "demand.csv",
            "The file is not a readable CSV file: save it as CSV (UTF-8 or GB18030) or .xlsx.",
        ),
        (
            b"\xff\xfe\x80\x81garbage",
            "demand.csv",
            "The file's text encoding is neither UTF-8 nor GB18030/GBK: save it again as "
            "“CSV UTF-8” or as .xlsx.",
        ),
        (
            b"PK\x03\x04 not really a zip",
            "demand.xlsx",
            "The file is not a readable .xlsx workbook: save it again from your spreadsheet.",
        ),
    ],
)
def test_bad_files_are_refused_with_a_message(open_round, hospital, content, name, message):
    response = upload(client_for(hospital), open_round, content, name)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not DemandDeclaration.objects.exists()
    assert not StoredUpload.objects.exists()


def test_a_50_mb_file_is_refused_by_its_size(open_round, hospital):
    content = HEADER.encode() + b"D-ATV-OS,10MG,1\n" * (50 * 1024 * 1024 // 16)
    response = upload(client_for(hospital), open_round, content)
    assert response.status_code == 400
    assert "The file is 50.0 MB; the largest accepted is 20.0 MB." in response.content.decode()
    assert not DemandDeclaration.objects.exists()


def test_every_bad_row_is_listed_with_its_row_number(open_round, hospital, other_hospital):
    other_code = other_hospital.organization.social_credit_code
    content = (
        "医疗机构代码,品种编码,规格编码,年度需求量\n"
        f",D-ATV-OS,10MG,0\n"
        f",D-ATV-OS,20MG,2.5\n"
        f",D-CLO-OS,75MG,很多\n"
        f",D-XXX,10MG,5\n"
        f",D-ATV-OS,10MG,6\n"
        f"{other_code},D-CLO-OS,75MG,7\n"
    ).encode()
    response = upload(client_for(hospital), open_round, content)
    assert response.status_code == 400
    html = response.content.decode().replace("&#x27;", "'")
    own = hospital.organization.social_credit_code
    for row, message in [
        (2, "must be greater than zero."),
        (3, "“2.5” is not a whole number."),
        (4, "“很多” is not a number."),
        (5, "item code “D-XXX” is not in round R-2026-1."),
        (6, "duplicate of row 2 (same 品种编码, 规格编码)."),
        (
            7,
            f"“{other_code}” is not your hospital's code ({own}); a hospital declares only for "
            "itself.",
        ),
    ]:
        assert re.search(
            rf'<td class="num">{row}</td><td>[^<]*</td><td>{re.escape(message)}</td>', html
        ), (row, message)
    assert not DemandDeclaration.objects.exists()


def test_commit_revalidates_and_refuses_after_close(open_round, hospital, office):
    client = client_for(hospital)
    response = upload(client, open_round, (HEADER + "D-ATV-OS,10MG,5\n").encode())
    token = token_of(response)
    round_close_demand(round_=open_round, by=office)
    done = commit(client, open_round, token)
    assert done.status_code == 400
    assert (
        "Demand declaration for round R-2026-1 is not open: the round is “Demand declaration "
        "closed”." in done.content.decode()
    )
    assert not DemandDeclaration.objects.exists()


def test_a_preview_token_is_useless_to_another_user(open_round, hospital, other_hospital):
    response = upload(client_for(hospital), open_round, (HEADER + "D-ATV-OS,10MG,5\n").encode())
    done = commit(client_for(other_hospital), open_round, token_of(response))
    assert done.status_code == 400
    assert (
        "This preview has expired or belongs to someone else; upload the file again."
        in done.content.decode()
    )
    assert not DemandDeclaration.objects.exists()


def test_template_lists_every_line_with_current_values(open_round, hospital):
    client = client_for(hospital)
    commit(
        client,
        open_round,
        token_of(upload(client, open_round, (HEADER + "D-CLO-OS,75MG,44\n").encode())),
    )
    response = client.get(reverse("procurement:demand-template", args=[open_round.code]))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "医疗机构代码 (hospital code)"
    assert rows[0][-1] == "年度需求量 (quantity, smallest units)"
    assert [(r[1], r[3], r[-1]) for r in rows[1:]] == [
        ("D-ATV-OS", "10MG", None),
        ("D-ATV-OS", "20MG", None),
        ("D-CLO-OS", "75MG", 44),
    ]
    # The filled-in template is accepted as it is (blank quantities are skipped).
    buffer = io.BytesIO()
    sheet.cell(row=2, column=7, value=10)
    sheet.parent.save(buffer)
    response = upload(client, open_round, buffer.getvalue(), "filled.xlsx")
    assert response.status_code == 200, response.content.decode()[:3000]
    done = commit(client, open_round, token_of(response))
    assert "Imported filled.xlsx: 1 new, 0 changed, 1 unchanged." in done.content.decode()


def test_an_expired_preview_must_be_uploaded_again(open_round, hospital):
    import datetime

    from django.utils import timezone

    client = client_for(hospital)
    token = token_of(upload(client, open_round, (HEADER + "D-ATV-OS,10MG,5\n").encode()))
    StoredUpload.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    done = commit(client, open_round, token)
    assert done.status_code == 400
    assert "This preview has expired" in done.content.decode()
    upload(client, open_round, (HEADER + "D-ATV-OS,10MG,6\n").encode())
    assert StoredUpload.objects.count() == 1  # the stale one was cleaned up
    assert not DemandDeclaration.objects.exists()


def test_the_error_summary_takes_the_focus_and_lists_each_row_with_its_reason(open_round, hospital):
    bad = (HEADER + "D-ATV-OS,10MG,1200\nD-ATV-OS,20MG,-3\nD-CLO-OS,75MG,lots\n").encode()
    html = upload(client_for(hospital), open_round, bad).content.decode()
    summary = re.search(
        r'<div class="error-summary" id="error-summary" role="alert" tabindex="-1">(.*?)</div>',
        html,
        re.S,
    )
    assert summary is not None, html[:3000]
    rows = re.findall(
        r'<tr class="row-error"><td class="num">(\d+)</td><td>[^<]*</td><td>([^<]*)</td></tr>',
        summary.group(1),
    )
    assert rows == [
        ("3", "“-3” is negative; it must be greater than zero."),
        ("4", "“lots” is not a number."),
    ]


def test_a_hospital_file_checked_in_the_request_is_bounded_in_rows(
    open_round, hospital, monkeypatch
):
    monkeypatch.setattr("procurement.views.demand.MAX_ROWS_IN_REQUEST", 2)
    content = (HEADER + "D-ATV-OS,10MG,1\nD-ATV-OS,20MG,2\nD-CLO-OS,75MG,3\n").encode()
    response = upload(client_for(hospital), open_round, content)
    assert response.status_code == 400
    assert (
        "The file has more than 2 data rows; at most 2 are accepted here."
        in response.content.decode()
    )
    assert not DemandDeclaration.objects.exists()

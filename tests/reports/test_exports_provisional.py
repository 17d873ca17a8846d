"""The .xlsx exports mark provisional figures as the award pages do
(``awards.selectors.provisional_rounds``): a drug round's allocation before province
selection has finished, or proposed winners in the objection period."""

from __future__ import annotations

import datetime
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from awards.models import EvaluationRun, ProvinceSelection
from procurement.models import Round
from tests.factories import TEST_PASSWORD
from tests.reports.factories import AwardedRound, small_awarded_round

pytestmark = pytest.mark.django_db

SELECTION_PENDING = (
    "Provisional until province selection has finished: the provinces, and so the "
    "suppliers and volumes, may still change."
)
PROPOSED = (
    "Proposed: the winners are published for objections; these figures may change until "
    "the award is final."
)
TABLES = ("By item", "By province", "By manufacturer", "By hospital", "Winner count distribution")


def finish_province_selection(
    built: AwardedRound, at: datetime.datetime | None = None
) -> ProvinceSelection:
    """Close the drug round's province selection with its allocation run done (``at``,
    now by default): from then on its award's figures are final."""
    now = at or timezone.now()
    EvaluationRun.objects.filter(pk=built.run.pk).update(finished_at=now)
    return ProvinceSelection.objects.create(
        round=built.round,
        run=built.run,
        closes_at=now,
        status=ProvinceSelection.Status.CLOSED,
        opened_by=built.office,
        closed_at=now,
        result_run=built.run,
    )


def _client(user=None, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _workbook(response) -> dict[str, list[tuple]]:
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


def _figures_column(sheets: dict[str, list[tuple]]) -> set[object]:
    """The values of the last column, "Figures", over the rows of every table."""
    values = set()
    for title in TABLES:
        if title not in sheets:
            continue
        header, *rows = sheets[title]
        assert header[-1] == "Figures", title
        assert rows, title
        values |= {row[-1] for row in rows}
    return values


def test_before_province_selection_the_spreadsheets_say_provisional_and_why() -> None:
    built = small_awarded_round(code="R-XLS-P1")
    for url, user in (
        (reverse("reports:public-xlsx", args=[built.round.pk]), None),
        (reverse("reports:office-xlsx", args=[built.round.pk]), built.office),
    ):
        response = _client(user).get(url)
        assert response["Content-Disposition"].endswith('-provisional.xlsx"')
        sheets = _workbook(response)
        summary = dict(row[:2] for row in sheets["Summary"])
        assert summary["Figures"] == "Provisional"
        assert summary["Why provisional"] == SELECTION_PENDING
        assert _figures_column(sheets) == {"Provisional"}


def test_once_province_selection_has_finished_the_figures_are_final() -> None:
    built = small_awarded_round(code="R-XLS-P2")
    finish_province_selection(built)
    response = _client().get(reverse("reports:public-xlsx", args=[built.round.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="R-XLS-P2-price-cuts.xlsx"'
    sheets = _workbook(response)
    summary = dict(row[:2] for row in sheets["Summary"])
    assert summary["Figures"] == "Final" and "Why provisional" not in summary
    assert _figures_column(sheets) == {"Final"}


def test_a_consumables_round_has_no_province_selection_to_wait_for() -> None:
    built = small_awarded_round(code="R-XLS-P3")
    Round.objects.filter(pk=built.round.pk).update(kind=Round.Kind.CONSUMABLES)
    sheets = _workbook(_client().get(reverse("reports:public-xlsx", args=[built.round.pk])))
    assert _figures_column(sheets) == {"Final"}


def test_in_the_objection_period_the_office_spreadsheet_says_proposed() -> None:
    built = small_awarded_round(code="R-XLS-P4")
    finish_province_selection(built)  # not what makes it provisional here
    Round.objects.filter(pk=built.round.pk).update(status=Round.Status.OBJECTION)
    response = _client(built.office).get(reverse("reports:office-xlsx", args=[built.round.pk]))
    sheets = _workbook(response)
    summary = dict(row[:2] for row in sheets["Summary"])
    assert (summary["Figures"], summary["Why provisional"]) == ("Provisional", PROPOSED)
    assert _figures_column(sheets) == {"Provisional"}


def test_the_mark_is_translated() -> None:
    built = small_awarded_round(code="R-XLS-P5")
    url = reverse("reports:public-xlsx", args=[built.round.pk])
    sheets = _workbook(_client(language="zh-hans").get(url))
    summary = dict(row[:2] for row in next(iter(sheets.values())))
    assert summary["数据状态"] == "暂定"
    assert summary["暂定原因"].startswith("省份选择完成前为暂定")
    header, *rows = sheets["按品种"]
    assert header[-1] == "数据状态" and {r[-1] for r in rows} == {"暂定"}

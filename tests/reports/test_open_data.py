"""The OCDS release package is built by a task and served as a stored file (issue 19):
with a broker, no request builds it; a change of its inputs queues one rebuild and the
previous file is served, marked stale, until it is done; the office page shows when it
was built and offers a rebuild."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse

from config.celery import app
from procurement.models import Round
from reports import ocds, open_data
from reports.models import OpenDataFile
from reports.tasks import open_data_build_task
from tests.factories import TEST_PASSWORD
from tests.reports.factories import small_awarded_round
from tests.reports.test_exports_provisional import finish_province_selection

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_broker(monkeypatch, settings, tmp_path) -> Iterator[list[tuple[int, str]]]:
    """Tasks go to a (recorded) broker instead of running in-process."""
    settings.MEDIA_ROOT = tmp_path
    queued: list[tuple[int, str]] = []
    monkeypatch.setattr(open_data_build_task, "delay", lambda *a: queued.append(a))
    monkeypatch.setattr(open_data.transaction, "on_commit", lambda f: f())
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield queued
    finally:
        app.conf.task_always_eager = previous


def _no_build_in_request(monkeypatch) -> None:
    def refuse(**kwargs: object) -> None:
        raise AssertionError("a request built the release package")

    monkeypatch.setattr(ocds, "release_package", refuse)


def test_requests_serve_the_stored_file_and_never_build_it(with_broker, monkeypatch) -> None:
    built = small_awarded_round(code="R-OD-1")
    finish_province_selection(built)
    url = reverse("api-round-ocds", args=["R-OD-1"])
    real_release_package = ocds.release_package
    _no_build_in_request(monkeypatch)
    first = Client().get(url)
    assert first.status_code == 503 and first["Retry-After"] == "30"
    assert Client().get(url).status_code == 503
    assert with_broker == [(built.round.pk, "ocds", "")]  # queued once, not per request

    monkeypatch.setattr(ocds, "release_package", real_release_package)
    open_data_build_task(built.round.pk, "ocds")  # what the worker runs
    _no_build_in_request(monkeypatch)
    response = Client().get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert response["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
    assert "X-Stale" not in response and response["X-Built-At"]
    assert ocds.validation_errors(ocds.loads(body)) == []
    assert len(with_broker) == 1

    # The inputs change (here the round's status): the old file is served, marked
    # stale, and one rebuild is queued.
    Round.objects.filter(pk=built.round.pk).update(status=Round.Status.IN_EXECUTION)
    stale = Client().get(url)
    assert stale.status_code == 200 and stale["X-Stale"] == "true"
    assert b"".join(stale.streaming_content) == body
    Client().get(url)
    assert len(with_broker) == 2


def test_the_office_page_shows_when_it_was_built_and_rebuilds(with_broker) -> None:
    built = small_awarded_round(code="R-OD-2")
    finish_province_selection(built)
    office = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert office.login(username=built.office.username, password=TEST_PASSWORD)
    page = office.get(reverse("reports:office-analysis", args=[built.round.pk])).content.decode()
    assert "Not built yet" in page
    # The page's own tables and charts are built by the task too, not by the request.
    assert "The analysis is being prepared" in page
    # The page lists the release files too: their build is queued, not run.
    assert sorted(with_broker) == [
        (built.round.pk, "analysis_office", "en"),
        (built.round.pk, "ocds_split", ""),
    ]
    response = office.post(reverse("reports:ocds-rebuild", args=[built.round.pk]))
    assert response.status_code == 302
    assert with_broker[-2:] == [(built.round.pk, "ocds", ""), (built.round.pk, "ocds_split", "")]
    open_data_build_task(built.round.pk, "ocds")
    open_data_build_task(built.round.pk, "analysis_office", "en")
    row = OpenDataFile.objects.get(round=built.round, kind="ocds")
    page = office.get(reverse("reports:office-analysis", args=[built.round.pk])).content.decode()
    assert "Built at" in page and row.sha256 in page
    assert "Figures computed at" in page and "being prepared" not in page
    assert "<svg" in page  # the stored charts


def test_the_price_cut_workbooks_are_built_by_the_task_in_the_readers_language(
    with_broker, monkeypatch
) -> None:
    from reports import selectors

    built = small_awarded_round(code="R-OD-3")
    finish_province_selection(built)
    url = reverse("reports:public-xlsx", args=[built.round.pk])
    real = selectors.analysis_get
    monkeypatch.setattr(selectors, "analysis_get", lambda **kw: pytest.fail("built per request"))
    reader = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert reader.get(url).status_code == 503
    assert with_broker == [(built.round.pk, "price_cuts", "en")]
    monkeypatch.setattr(selectors, "analysis_get", real)
    open_data_build_task(built.round.pk, "price_cuts", "en")
    monkeypatch.setattr(selectors, "analysis_get", lambda **kw: pytest.fail("built per request"))
    response = reader.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="R-OD-3-price-cuts.xlsx"'
    body = b"".join(response.streaming_content)
    assert response["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
    # The Chinese reader's workbook is another file, queued on its first request.
    assert Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(url).status_code == 503
    assert with_broker[-1] == (built.round.pk, "price_cuts", "zh-hans")


def test_the_office_page_reads_only_its_page_of_hospitals(settings, tmp_path) -> None:
    """The office's analysis file holds the figures on its first line and one hospital a
    line; the page decodes the first line and the hospitals of the page shown, which are
    the analysis's own rows in its order (issue 19: 46,030 hospitals decoded per load)."""
    import json

    from django.utils import translation

    from reports import selectors

    settings.MEDIA_ROOT = tmp_path
    built = small_awarded_round(code="R-OD-4")
    finish_province_selection(built)
    row = open_data.build(
        round_id=built.round.pk, kind=OpenDataFile.Kind.ANALYSIS_OFFICE, language="en"
    )
    assert row is not None
    with row.file.open("rb") as stored:
        lines = stored.read().decode().splitlines()
    head = json.loads(lines[0])
    with translation.override("en"):  # the file's language
        expected = selectors.analysis_get(round_=built.round, run=built.run, with_hospitals=True)
    assert head["format"] == open_data.ANALYSIS_FORMAT
    assert head["hospital_count"] == len(expected.hospitals) == len(lines) - 1 >= 2
    rows = open_data.StoredRows(row, head["hospital_count"])
    codes = [(h["region"], h["hospital"]) for h in expected.hospitals.to_dict(orient="records")]
    assert [(h["region"], h["hospital"]) for h in rows[1:3]] == codes[1:3]
    assert [(h["region"], h["hospital"]) for h in rows[0 : len(rows)]] == codes
    office = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert office.login(username=built.office.username, password=TEST_PASSWORD)
    response = office.get(
        reverse("reports:office-analysis", args=[built.round.pk]) + "?per_page=25"
    )
    assert response.status_code == 200
    page = response.context["hospital_page"]
    assert [(h["region"], h["hospital"]) for h in page.object_list] == codes[:25]
    # Paged from the stored lines, not from a list of every hospital decoded per load.
    assert isinstance(page.paginator.object_list, open_data.StoredRows)

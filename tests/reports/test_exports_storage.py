"""Report PDFs are stored in the database (``ReportDocument.content``): the pages and
lists that show them never read those bytes, only the downloads do, and storing a
document again reads no old bytes (docs/reports.md, "Storage at national scale")."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfWriter

from reports import selectors, services
from reports.models import ReportDocument
from tests.factories import TEST_PASSWORD
from tests.reports.factories import small_awarded_round

pytestmark = pytest.mark.django_db

CONTENT = '"reports_reportdocument"."content"'


def _pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _reads_bytes(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if CONTENT in q["sql"]]


@pytest.fixture
def stored():
    built = small_awarded_round(code="R-STORE-1")
    for language in ("zh-hans", "en"):
        services.document_store(
            round_=built.round,
            kind=ReportDocument.Kind.AWARD_RESULT,
            language=language,
            organization=None,
            run=built.run,
            pdf=_pdf(1),
        )
    hospital = built.hospitals["11"]
    services.document_store(
        round_=built.round,
        kind=ReportDocument.Kind.HOSPITAL,
        language="zh-hans",
        organization=hospital.organization,
        run=built.run,
        pdf=_pdf(1),
    )
    return built


def _client(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def test_pages_and_lists_of_documents_never_read_their_bytes(stored) -> None:
    hospital = stored.hospitals["11"]
    with CaptureQueriesContext(connection) as captured:
        assert len(selectors.documents_public(round_=stored.round)) == 2
        assert len(list(selectors.party_documents_for_user(user=hospital))) == 1
        [panel] = selectors.rounds_for_office_panel(user=stored.office)
        assert len(panel["documents"]) == 2
        pages = [
            _client().get(reverse("reports:public-round", args=[stored.round.pk])),
            _client(hospital).get(reverse("accounts:hospital-home")),
            _client(stored.office).get(reverse("reports:office-analysis", args=[stored.round.pk])),
            _client(stored.office).get(reverse("accounts:office-home")),
        ]
    assert [page.status_code for page in pages] == [200] * 4
    assert stored.round.code in pages[1].content.decode()  # the hospital's report is listed
    assert len(captured.captured_queries) > 10
    assert _reads_bytes(captured) == []


def test_only_a_download_reads_the_bytes(stored) -> None:
    with CaptureQueriesContext(connection) as captured:
        response = _client().get(reverse("reports:award-pdf", args=[stored.round.pk, "en"]))
    assert response.status_code == 200 and response.content == _pdf(1)
    assert len(_reads_bytes(captured)) == 1


def test_storing_a_document_again_reads_no_old_bytes(stored) -> None:
    key = {"kind": ReportDocument.Kind.AWARD_RESULT, "language": "en", "organization": None}
    before = ReportDocument.objects.defer("content").get(round=stored.round, **key)
    with CaptureQueriesContext(connection) as captured:
        same = services.document_store(round_=stored.round, **key, run=stored.run, pdf=_pdf(1))
    assert _reads_bytes(captured) == []
    assert (same.pk, same.generated_at) == (before.pk, before.generated_at)
    # New bytes replace the stored ones (the deferred column is written all the same).
    with CaptureQueriesContext(connection) as captured:
        services.document_store(round_=stored.round, **key, run=stored.run, pdf=_pdf(3))
    assert not any(q.lstrip().startswith("SELECT") for q in _reads_bytes(captured))
    after = ReportDocument.objects.get(round=stored.round, **key)
    assert bytes(after.content) == _pdf(3) and after.pages == 3 and after.size == len(_pdf(3))
    assert after.sha256 != before.sha256 and after.pk == before.pk

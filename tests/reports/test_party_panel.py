"""The "My reports" panel of the hospital and manufacturer home pages, a page at a time
(``?reports_page=``: the home page holds other panels)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from common.pdf import render_pdf
from reports import services
from reports.models import ReportDocument
from reports.templatetags import report_panels
from tests.factories import TEST_PASSWORD
from tests.reports.factories import small_awarded_round

pytestmark = pytest.mark.django_db


def _panel(page: str) -> str:
    start = page.index("<h2>My reports")
    return page[start : page.index("</section>", start)]


def test_my_reports_page_by_their_own_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    built = small_awarded_round(code="R-PNL-1")
    # The contents are tested in test_party_reports; one line per PDF keeps this fast.
    monkeypatch.setattr(
        services,
        "party_report_render",
        lambda *, round_, run, kind, organization, language: render_pdf(
            f"<p>{kind} {organization.pk} {language}</p>"
        ),
    )
    hospital = built.hospitals["11"]
    for language in ("en", "zh-hans"):
        services.party_reports_generate(
            round_id=built.round.pk,
            kind="hospital",
            organization_ids=[hospital.organization_id],
            language=language,
        )
    english, chinese = (
        ReportDocument.objects.get(organization=hospital.organization, language=language)
        for language in ("en", "zh-hans")
    )
    monkeypatch.setattr(report_panels, "REPORTS_PER_PAGE", 1)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=hospital.username, password=TEST_PASSWORD)
    response = client.get(reverse("accounts:home"), follow=True)
    home = response.redirect_chain[-1][0] if response.redirect_chain else reverse("accounts:home")

    first = _panel(response.content.decode())
    assert "Rows 1–1 of 2" in first
    assert 'aria-label="Pages of my reports"' in first
    assert 'href="?reports_page=2" rel="next"' in first
    # Newest round first, then the Chinese report before the English one.
    assert chinese.sha256 in first and english.sha256 not in first

    second = _panel(client.get(home, {"reports_page": 2}).content.decode())
    assert "Rows 2–2 of 2" in second
    assert english.sha256 in second and chinese.sha256 not in second
    assert 'href="?reports_page=1" rel="prev"' in second


def test_a_party_without_reports_has_no_panel() -> None:
    built = small_awarded_round(code="R-PNL-2")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=built.hospitals["11"].username, password=TEST_PASSWORD)
    page = client.get(reverse("accounts:home"), follow=True).content.decode()
    assert "<h2>My reports" not in page

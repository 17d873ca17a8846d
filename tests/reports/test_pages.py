"""Report pages and downloads: who may see what, and the numbers they show."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from common.pdf import sha256
from procurement.models import Round
from reports import services
from reports.models import ReportDocument
from tests.factories import TEST_PASSWORD, user_of
from tests.reports.factories import small_awarded_round

pytestmark = pytest.mark.django_db


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _set_status(built, status: str) -> None:
    Round.objects.filter(pk=built.round.pk).update(status=status)


def test_the_public_sees_an_awarded_rounds_summary_without_signing_in() -> None:
    built = small_awarded_round(code="R-PUB-1")
    response = client_for().get(reverse("reports:public-round", args=[built.round.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "1,849,350.00" in page  # estimated annual savings, hand-computed
    assert "94.45%" in page and "74.88%" in page
    assert "1,234,900.00" in page and "614,450.00" in page  # Beijing, Shanghai savings
    assert "<svg" in page  # charts inline
    assert "The award-result PDF has not been published yet." in page
    index = client_for().get(reverse("reports:public-index")).content.decode()
    assert "R-PUB-1" in index


@pytest.mark.parametrize("status", ["evaluated", "objection", "cancelled"])
def test_before_the_award_is_final_public_pages_are_404(status: str) -> None:
    built = small_awarded_round(code=f"R-PUB-{status}")
    _set_status(built, status)
    for url in (
        reverse("reports:public-round", args=[built.round.pk]),
        reverse("reports:award-pdf", args=[built.round.pk, "zh-hans"]),
    ):
        assert client_for().get(url).status_code == 404
        assert client_for(built.makers["齐鲁制药有限公司"]).get(url).status_code == 404
    assert "R-PUB-" not in client_for().get(reverse("reports:public-index")).content.decode()


def test_the_pdf_download_carries_the_hash_shown_on_the_page(
    django_capture_on_commit_callbacks,
) -> None:
    built = small_awarded_round(code="R-PUB-2")
    url = reverse("reports:award-pdf", args=[built.round.pk, "en"])
    assert client_for().get(url).status_code == 404  # not generated yet
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(built.office).post(reverse("reports:publish", args=[built.round.pk]))
    assert response.status_code == 302
    assert ReportDocument.objects.filter(round=built.round).count() == 2  # zh-hans and en
    response = client_for().get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    digest = sha256(response.getvalue())
    assert response["X-Content-SHA256"] == digest
    page = client_for().get(reverse("reports:public-round", args=[built.round.pk]))
    assert digest in page.content.decode()
    zh = ReportDocument.objects.get(round=built.round, language="zh-hans")
    assert zh.sha256 in page.content.decode()
    assert (
        client_for().get(reverse("reports:award-pdf", args=[built.round.pk, "fr"])).status_code
        == 404
    )


def test_publishing_twice_keeps_one_document_per_language(
    django_capture_on_commit_callbacks,
) -> None:
    built = small_awarded_round(code="R-PUB-3")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            client_for(built.office).post(reverse("reports:publish", args=[built.round.pk]))
    hashes = sorted(
        ReportDocument.objects.filter(round=built.round).values_list("sha256", flat=True)
    )
    assert len(hashes) == 2 and len(set(hashes)) == 2


def test_the_office_page_is_for_the_rounds_own_office_only() -> None:
    built = small_awarded_round(code="R-OFF-1")
    url = reverse("reports:office-analysis", args=[built.round.pk])
    response = client_for(built.office).get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Publish the award-result PDF" in page
    assert "By hospital" in page and "First People&#x27;s Hospital of Beijing" in page
    other_office = user_of(Organization.Kind.OFFICE)
    assert client_for(other_office).get(url).status_code == 404
    assert client_for(built.hospitals["11"]).get(url).status_code == 403
    assert client_for(built.makers["齐鲁制药有限公司"]).get(url).status_code == 403
    anonymous = client_for().get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_the_office_sees_the_draft_figures_during_the_objection_period() -> None:
    built = small_awarded_round(code="R-OFF-2")
    _set_status(built, "objection")
    response = client_for(built.office).get(
        reverse("reports:office-analysis", args=[built.round.pk])
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Draft" in page and "1,849,350.00" in page
    assert "Publish the award-result PDF" not in page


def test_only_the_office_publishes_and_only_a_final_award(
    django_capture_on_commit_callbacks,
) -> None:
    built = small_awarded_round(code="R-OFF-3")
    url = reverse("reports:publish", args=[built.round.pk])
    assert client_for().post(url).status_code == 302  # to the login page
    assert client_for(built.hospitals["11"]).post(url).status_code == 403
    assert client_for(built.makers["齐鲁制药有限公司"]).post(url).status_code == 403
    assert client_for(user_of(Organization.Kind.OFFICE)).post(url).status_code == 404
    assert client_for(built.office).get(url).status_code == 405
    _set_status(built, "objection")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(built.office).post(url, follow=True)
    assert (
        "Round R-OFF-3 is not awarded yet: its results cannot be published."
        in response.content.decode()
    )
    assert not ReportDocument.objects.filter(round=built.round).exists()


def test_the_round_page_links_the_reports_panel() -> None:
    built = small_awarded_round(code="R-OFF-4")
    response = client_for(built.office).get(reverse("procurement:round", args=[built.round.code]))
    assert response.status_code == 200
    assert reverse("reports:office-analysis", args=[built.round.pk]) in response.content.decode()


def test_the_office_home_lists_its_rounds_and_their_published_pdfs() -> None:
    built = small_awarded_round(code="R-OFF-5")
    services.award_result_generate(round_id=built.round.pk, language="en")
    page = client_for(built.office).get(reverse("accounts:home"), follow=True).content.decode()
    assert reverse("reports:office-analysis", args=[built.round.pk]) in page
    assert reverse("reports:award-pdf", args=[built.round.pk, "en"]) in page
    other = client_for(user_of(Organization.Kind.OFFICE)).get(reverse("accounts:home"), follow=True)
    assert "R-OFF-5" not in other.content.decode()

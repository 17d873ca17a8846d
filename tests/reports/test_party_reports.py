"""Per-hospital and per-manufacturer PDFs: batches, contents read back, access, idempotence."""

from __future__ import annotations

import datetime
import subprocess

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from awards.models import ProvinceSelection
from common.pdf import render_pdf
from contracts import services as contract_services
from contracts.models import Contract, Purchase
from reports import ocds, services
from reports.models import ReportDocument
from tests.factories import TEST_PASSWORD, user_of
from tests.reports.factories import small_awarded_round

pytestmark = pytest.mark.django_db

QILU = "齐鲁制药有限公司"
PFIZER = "辉瑞制药有限公司"


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True)
    return out.stdout.decode()


def _squeezed(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True)
    return "".join(out.stdout.decode().split())


def _with_contracts(built) -> list[Contract]:
    ProvinceSelection.objects.create(
        round=built.round,
        run=built.run,
        closes_at=timezone.now() - datetime.timedelta(hours=1),
        status=ProvinceSelection.Status.CLOSED,
        opened_by=built.office,
        result_run=built.run,
    )
    assert contract_services.contracts_generate(round_=built.round, by=built.office) > 0
    return list(Contract.objects.filter(round=built.round).order_by("number"))


def test_the_office_fans_out_every_report_in_batches(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    built = small_awarded_round(code="R-PTY-1")
    monkeypatch.setattr(services, "PARTY_BATCH_SIZE", 2)
    calls: list[tuple[str, list[int], str]] = []
    real = services.party_reports_generate

    def spy(**kwargs):
        calls.append((kwargs["kind"], kwargs["organization_ids"], kwargs["language"]))
        return real(**kwargs)

    monkeypatch.setattr(services, "party_reports_generate", spy)
    # The contents are tested below; here a one-line PDF per document keeps the test fast.
    monkeypatch.setattr(
        services,
        "party_report_render",
        lambda *, round_, run, kind, organization, language: render_pdf(
            f"<p>{kind} {organization.pk} {language}</p>"
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(built.office).post(
            reverse("reports:publish-party-reports", args=[built.round.pk])
        )
    assert response.status_code == 302
    # 2 hospitals with allocations (1 batch of 2), 6 bidders (3 batches of 2); x 2 languages
    assert len(calls) == (1 + 3) * 2
    assert all(len(ids) <= 2 for _kind, ids, _lang in calls)
    docs = ReportDocument.objects.filter(round=built.round, organization__isnull=False)
    assert docs.filter(kind="hospital").count() == 2 * 2
    assert docs.filter(kind="manufacturer").count() == 6 * 2
    first = dict(docs.values_list("pk", "sha256"))
    with django_capture_on_commit_callbacks(execute=True):
        client_for(built.office).post(
            reverse("reports:publish-party-reports", args=[built.round.pk])
        )
    again = ReportDocument.objects.filter(round=built.round, organization__isnull=False)
    assert dict(again.values_list("pk", "sha256")) == first  # same rows, same bytes


def test_a_hospital_report_shows_its_allocations_contracts_and_progress() -> None:
    built = small_awarded_round(code="R-PTY-2")
    contracts = _with_contracts(built)
    beijing = built.hospitals["11"].organization
    contract = next(
        c for c in contracts if c.hospital_id == beijing.pk and c.manufacturer.name == QILU
    )
    line = contract.lines.get(version=contract.current_version)
    Purchase.objects.create(
        contract=contract,
        round_item=line.round_item,
        month=datetime.date(2026, 12, 1),
        quantity=1750,
        channel=Purchase.Channel.WEB,
        recorded_by=built.hospitals["11"],
    )
    services.party_reports_generate(
        round_id=built.round.pk, kind="hospital", organization_ids=[beijing.pk], language="en"
    )
    document = ReportDocument.objects.get(organization=beijing, language="en")
    text = _text(bytes(document.content))
    squeezed = _squeezed(bytes(document.content))
    assert "First People's Hospital of Beijing" in text
    assert "7,000" in text and "0.1000" in text and "4,900.00" in text  # 7,000 x (0.8 - 0.1)
    assert "1,230,000.00" in text  # stent: 100 x (13,000 - 700)
    assert "1,234,900.00" in text  # the hospital's total savings
    assert contract.number in squeezed
    assert "1,750" in text and "25.00%" in text  # purchased 1,750 of 7,000
    assert "First People's Hospital of Shanghai" not in text


def test_a_manufacturer_report_shows_its_results_and_provinces_in_chinese() -> None:
    built = small_awarded_round(code="R-PTY-3")
    qilu = built.makers[QILU].organization
    services.party_reports_generate(
        round_id=built.round.pk, kind="manufacturer", organization_ids=[qilu.pk], language="zh-hans"
    )
    document = ReportDocument.objects.get(organization=qilu, language="zh-hans")
    squeezed = _squeezed(bytes(document.content))
    assert QILU in squeezed and "阿托伐他汀钙片（齐鲁）" in squeezed and "北京市" in squeezed
    assert "700.00" in squeezed  # 7,000 x 0.1000
    assert "浙江华海药业股份有限公司" not in squeezed


def test_people_see_only_their_own_report() -> None:
    built = small_awarded_round(code="R-PTY-4")
    for kind, org in (
        ("hospital", built.hospitals["11"].organization),
        ("manufacturer", built.makers[PFIZER].organization),
    ):
        services.party_reports_generate(
            round_id=built.round.pk, kind=kind, organization_ids=[org.pk], language="en"
        )
    url = reverse("reports:party-pdf", args=[built.round.pk, "en"])
    beijing = client_for(built.hospitals["11"]).get(url)
    assert beijing.status_code == 200
    doc = ReportDocument.objects.get(organization=built.hospitals["11"].organization)
    assert beijing["X-Content-SHA256"] == doc.sha256
    pfizer = client_for(built.makers[PFIZER]).get(url)  # lost, but has its report
    assert pfizer.status_code == 200 and pfizer.getvalue() != beijing.getvalue()
    # a party of the round whose report is not generated, and outsiders
    assert client_for(built.hospitals["31"]).get(url).status_code == 404
    assert client_for(built.makers[QILU]).get(url).status_code == 404
    assert client_for(built.hospitals["44"]).get(url).status_code == 404  # no allocation
    assert client_for(user_of(Organization.Kind.HOSPITAL)).get(url).status_code == 404
    assert client_for(user_of(Organization.Kind.MANUFACTURER)).get(url).status_code == 404
    assert client_for(built.office).get(url).status_code == 403
    assert client_for().get(url).status_code == 302
    home = client_for(built.hospitals["11"]).get(reverse("accounts:home"), follow=True)
    assert url in home.content.decode() and doc.sha256 in home.content.decode()


def test_only_the_rounds_office_publishes_party_reports() -> None:
    built = small_awarded_round(code="R-PTY-5")
    url = reverse("reports:publish-party-reports", args=[built.round.pk])
    assert client_for(built.hospitals["11"]).post(url).status_code == 403
    assert client_for(built.makers[QILU]).post(url).status_code == 403
    assert client_for(user_of(Organization.Kind.OFFICE)).post(url).status_code == 404
    assert client_for().post(url).status_code == 302
    assert not ReportDocument.objects.filter(round=built.round).exists()


def test_the_open_data_carries_the_contracts_once_drawn_up() -> None:
    built = small_awarded_round(code="R-PTY-6")
    contracts = _with_contracts(built)
    document = ocds.release_package(round_=built.round, run=built.run, uri="https://example.org/p")
    document = ocds.loads(ocds.dumps(document))
    assert ocds.validation_errors(document) == []
    release = document["releases"][0]
    assert release["tag"] == ["award", "contract"]
    assert sorted(c["id"] for c in release["contracts"]) == sorted(c.number for c in contracts)
    award_ids = {a["id"] for a in release["awards"]}
    assert all(c["awardID"] in award_ids for c in release["contracts"])
    assert sum(c["value"]["amount"] for c in release["contracts"]) == sum(
        c.total for c in contracts
    )

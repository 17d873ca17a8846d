"""Contracts: drawn up from the allocation, unique numbers, hospital confirms first, the
manufacturer second, PDFs in both languages, amendments that keep the original."""

from __future__ import annotations

import datetime
import re
import subprocess
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification, Organization
from awards import services
from contracts import services as contract_services
from contracts.models import Contract, ContractLine
from procurement.models import Round
from tests.awards.factories import OpenedRound, opened_round
from tests.factories import TEST_PASSWORD, user_of

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def contracted_round(capture) -> OpenedRound:
    """The factory round, awarded, province selection closed with nobody choosing, and
    its contracts drawn up: makers[0] supplies both provinces, so 3 contracts."""
    built = opened_round()
    with capture(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    services.award_finalize(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    selection = services.selection_open(
        round_=built.round, by=built.office, closes_at=timezone.now() + datetime.timedelta(hours=1)
    )
    with capture(execute=True):
        services.selection_close(selection=selection, by=built.office)
    built.round.refresh_from_db()
    assert contract_services.contracts_generate(round_=built.round, by=built.office) == 3
    return built


def test_contracts_are_drawn_up_per_hospital_and_winner(
    django_capture_on_commit_callbacks,
) -> None:
    built = contracted_round(django_capture_on_commit_callbacks)
    contracts = list(Contract.objects.order_by("number"))
    assert [c.number for c in contracts] == [
        "T-2026-D1-HT000001",
        "T-2026-D1-HT000002",
        "T-2026-D1-HT000003",
    ]
    assert {c.manufacturer_id for c in contracts} == {built.makers[0].organization_id}
    first = Contract.objects.get(hospital=built.hospitals[0].organization)
    (line,) = ContractLine.objects.filter(contract=first)
    assert (line.quantity, line.unit_price, line.amount) == (
        4200,
        Decimal("0.1"),
        Decimal("420.00"),
    )
    assert line.term_years == 2
    assert line.ends_on == line.starts_on.replace(
        year=line.starts_on.year + 2
    ) - datetime.timedelta(days=1)
    assert first.total == Decimal("420.00")
    assert sum(c.total for c in contracts) == Decimal("1400.00")
    assert Notification.objects.filter(
        organization=built.hospitals[0].organization, kind="contract_to_confirm"
    ).exists()
    # Drawn up once: asking again adds nothing.
    assert contract_services.contracts_generate(round_=built.round, by=built.office) == 0


def test_contracts_wait_for_the_province_selection(django_capture_on_commit_callbacks) -> None:
    built = opened_round()
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    services.award_finalize(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        contract_services.contracts_generate(round_=built.round, by=built.office)
    assert exc.value.messages == [
        "Open the province selection first: contracts are drawn up after the winners have "
        "chosen their provinces and the platform has allocated the rest."
    ]


def test_hospital_confirms_first_then_the_manufacturer(django_capture_on_commit_callbacks) -> None:
    built = contracted_round(django_capture_on_commit_callbacks)
    hospital, maker = built.hospitals[0], built.makers[0]
    contract = Contract.objects.get(hospital=hospital.organization)
    url = reverse("contracts:contract-confirm", args=[contract.pk])

    response = _client(maker).post(url, follow=True)
    assert "The hospital confirms first." in response.content.decode()
    _client(hospital).post(url)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_MANUFACTURER
    assert contract.hospital_confirmed_by == hospital and contract.hospital_confirmed_at
    response = _client(hospital).post(url, follow=True)
    assert "Your organization has already confirmed this contract." in response.content.decode()
    assert Notification.objects.filter(
        organization=maker.organization, dedupe_key=f"contract-to-confirm:{contract.pk}"
    ).exists()
    _client(maker).post(url)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.CONFIRMED
    assert contract.manufacturer_confirmed_by == maker
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.AWARDED  # two contracts still unconfirmed

    for other in Contract.objects.exclude(pk=contract.pk):
        contract_services.contract_confirm(contract=other, by=other.hospital.users.first())
        contract_services.contract_confirm(contract=other, by=maker)
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.CONTRACTED


def test_each_party_sees_only_its_own_contracts(django_capture_on_commit_callbacks) -> None:
    built = contracted_round(django_capture_on_commit_callbacks)
    contract = Contract.objects.get(hospital=built.hospitals[0].organization)
    url = reverse("contracts:contract", args=[contract.pk])
    assert _client(built.hospitals[0]).get(url).status_code == 200
    assert _client(built.makers[0]).get(url).status_code == 200
    assert _client(built.office).get(url).status_code == 200
    assert _client(built.hospitals[1]).get(url).status_code == 404
    assert _client(built.makers[1]).get(url).status_code == 404
    assert _client(user_of(Organization.Kind.OFFICE)).get(url).status_code == 404
    assert _client().get(url).status_code == 302
    listing = _client(built.hospitals[1]).get(reverse("contracts:contracts")).content.decode()
    assert contract.number not in listing
    assert "T-2026-D1-HT000002" in listing
    rival = _client(built.makers[1]).get(reverse("contracts:contracts")).content.decode()
    assert "T-2026-D1-HT" not in rival
    confirm = reverse("contracts:contract-confirm", args=[contract.pk])
    assert _client(built.hospitals[1]).post(confirm).status_code == 404
    assert _client(built.office).post(confirm).status_code == 403


def test_contract_pdf_in_chinese_and_english(
    django_capture_on_commit_callbacks, tmp_path, settings
) -> None:
    settings.MEDIA_ROOT = tmp_path
    built = contracted_round(django_capture_on_commit_callbacks)
    contract = Contract.objects.get(hospital=built.hospitals[0].organization)
    client = _client(built.hospitals[0])
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("contracts:contract", args=[contract.pk]))  # queues the PDF task
    contract.refresh_from_db()
    assert contract.pdf_ready and len(contract.pdf_zh_sha256) == 64
    texts = {}
    for language in ("zh", "en"):
        response = client.get(reverse("contracts:contract-pdf", args=[contract.pk, language]))
        assert response["Content-Type"] == "application/pdf"
        data = b"".join(response.streaming_content)
        path = tmp_path / f"{language}.pdf"
        path.write_bytes(data)
        texts[language] = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
    assert contract.number in texts["zh"] and contract.number in texts["en"]
    # The Chinese PDF gives labels, names and units in Chinese, the English one in English.
    # Table cells wrap ("北京" / "市"): read the Chinese PDF in content order, without layout,
    # and compare it without white space.
    raw = subprocess.run(
        ["pdftotext", str(tmp_path / "zh.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    squashed = re.sub(r"\s+", "", raw)
    assert "带量采购购销合同" in squashed and "北京市" in squashed
    assert "4,200 片" in texts["zh"]
    assert "4,200" in texts["zh"] and "420.00" in texts["zh"]
    assert "Volume-based procurement purchase contract" in texts["en"]
    assert "Beijing" in texts["en"] and "4,200 tablet" in texts["en"] and "420.00" in texts["en"]
    # A confirmation changes the PDF: the next view queues a new one.
    contract_services.contract_confirm(contract=contract, by=built.hospitals[0])
    contract.refresh_from_db()
    assert not contract.pdf_ready
    assert (
        _client(built.hospitals[1])
        .get(reverse("contracts:contract-pdf", args=[contract.pk, "zh"]))
        .status_code
        == 404
    )


def test_an_amendment_keeps_the_original(django_capture_on_commit_callbacks) -> None:
    built = contracted_round(django_capture_on_commit_callbacks)
    contract = Contract.objects.get(hospital=built.hospitals[0].organization)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        contract_services.contract_amend(
            contract=contract,
            by=built.office,
            reason="x",
            effective_from=datetime.date(2027, 1, 1),
            quantities={built.round_item.pk: 1},
        )
    assert exc.value.messages == [
        "Only a contract confirmed by both parties is amended; change it otherwise."
    ]
    contract_services.contract_confirm(contract=contract, by=built.hospitals[0])
    contract_services.contract_confirm(contract=contract, by=built.makers[0])
    response = _client(built.office).post(
        reverse("contracts:contract-amend", args=[contract.pk]),
        {
            "reason": "The hospital merged a ward.",
            "effective_from": "2027-03-01",
            f"quantity_{built.round_item.pk}": "3000",
        },
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.current_version == 1
    assert contract.total == Decimal("300.00")
    original = ContractLine.objects.get(contract=contract, version=0)
    assert (original.quantity, original.amount) == (4200, Decimal("420.00"))
    page = _client(built.hospitals[0]).get(reverse("contracts:contract", args=[contract.pk]))
    text = page.content.decode()
    assert "The hospital merged a ward." in text and "4,200" in text and "3,000" in text
    assert (
        _client(built.hospitals[0])
        .post(reverse("contracts:contract-amend", args=[contract.pk]))
        .status_code
        == 403
    )


def test_office_draws_up_contracts_from_the_award_page(
    django_capture_on_commit_callbacks,
) -> None:
    built = opened_round()
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    services.award_finalize(round_=built.round, by=built.office)
    url = reverse("contracts:contracts-generate", args=[built.round.pk])
    client = _client(built.office)
    page = client.post(url, follow=True).content.decode()
    assert "Open the province selection first" in page
    built.round.refresh_from_db()
    selection = services.selection_open(
        round_=built.round, by=built.office, closes_at=timezone.now() + datetime.timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.selection_close(selection=selection, by=built.office)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(url, follow=True).content.decode()
    assert "The contracts are being drawn up" in page
    assert Contract.objects.count() == 3
    page = client.post(url, follow=True).content.decode()
    assert "The contracts of this round are already drawn up." in page
    assert Contract.objects.count() == 3
    for user in (built.hospitals[0], built.makers[0]):
        assert _client(user).post(url).status_code == 403

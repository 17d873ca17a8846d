"""A contract states one term: its start date, and every line's start and end, agree on
the page and in both PDFs (the browser journeys once moved the lines' start 90 days back
and left the contract's start date and the lines' end where they were)."""

from __future__ import annotations

import datetime
import re
import subprocess
import tempfile

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from awards import services
from contracts import services as contract_services
from contracts.models import Contract, ContractLine
from contracts.services.contracts import term_end
from tests.awards.factories import opened_round
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _contracted(capture):
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
    contract_services.contracts_generate(round_=built.round, by=built.office)
    for contract in Contract.objects.all():
        contract_services.contract_confirm(contract=contract, by=contract.hospital.users.first())
        contract_services.contract_confirm(contract=contract, by=built.makers[0])
    built.round.refresh_from_db()
    return built


def _pdf_text(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return subprocess.run(
            ["pdftotext", "-layout", f.name, "-"], check=True, capture_output=True, text=True
        ).stdout


def _assert_one_term(contract: Contract, start: datetime.date) -> None:
    """Field by field: the round, the contract, each line; then the page and the PDFs."""
    contract.refresh_from_db()
    assert contract.round.contract_starts_on == start
    assert contract.starts_on == start
    lines = list(ContractLine.objects.filter(contract=contract, version=0))
    assert lines
    for line in lines:
        assert line.starts_on == start, line
        assert line.ends_on == term_end(start, line.term_years), line
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    hospital = contract.hospital.users.first()
    assert client.login(username=hospital.username, password=TEST_PASSWORD)
    page = client.get(reverse("contracts:contract", args=[contract.pk])).content.decode()
    shown_start = re.search(r"<dt>Start date</dt><dd>([0-9-]+)</dd>", page)
    assert shown_start is not None and shown_start.group(1) == f"{start:%Y-%m-%d}"
    # Each date kept on one line (a span that does not wrap), the dash between them.
    terms = re.findall(
        r'<td><span class="nowrap">(\d{4}-\d\d-\d\d)</span> – '
        r'<span class="nowrap">(\d{4}-\d\d-\d\d)</span></td>',
        page,
    )
    assert sorted(terms) == sorted(
        (f"{line.starts_on:%Y-%m-%d}", f"{line.ends_on:%Y-%m-%d}") for line in lines
    )
    assert contract_services.contract_pdf_render(contract_id=contract.pk)
    contract.refresh_from_db()
    for pdf in (contract.pdf_zh, contract.pdf_en):
        with pdf.open("rb") as f:
            text = _pdf_text(f.read())
        dates = set(re.findall(r"\d{4}-\d\d-\d\d", text))
        expected = {f"{start:%Y-%m-%d}"} | {f"{line.ends_on:%Y-%m-%d}" for line in lines}
        assert expected <= dates, (expected, dates)
        # No other start or end date: the confirmations' dates are the only other dates.
        confirmed = {
            f"{timezone.localtime(at):%Y-%m-%d}"
            for at in (contract.hospital_confirmed_at, contract.manufacturer_confirmed_at)
            if at is not None
        }
        assert dates <= expected | confirmed, dates - expected - confirmed


def test_a_drawn_up_contract_states_one_term(django_capture_on_commit_callbacks) -> None:
    built = _contracted(django_capture_on_commit_callbacks)
    for contract in Contract.objects.filter(round=built.round):
        _assert_one_term(contract, built.round.contract_starts_on)


def test_moving_the_journeys_term_back_moves_every_date_that_states_it(
    django_capture_on_commit_callbacks,
) -> None:
    from tests.browser.helpers import start_execution_three_months_ago

    built = _contracted(django_capture_on_commit_callbacks)
    built.office.username = "office"  # the journeys' office (seed_demo)
    built.office.save(update_fields=["username"])
    start_execution_three_months_ago(built.round)
    start = timezone.localdate() - datetime.timedelta(days=90)
    for contract in Contract.objects.filter(round=built.round):
        _assert_one_term(contract, start)

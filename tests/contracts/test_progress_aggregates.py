"""The progress pages' aggregate queries give exactly the figures of the per-line
computation (``contracts.progress``, Python): totals, every grouping, the behind-schedule
list and each line, on any day of the term, with amended lines, lines of another term,
purchases beyond the agreed volume and volumes whose pro-rata share rounds at .5."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contracts import selectors, services
from contracts.models import Contract, ContractLine, Purchase
from contracts.progress import combine
from tests.contracts import reference_progress
from tests.contracts.test_execution import STARTED, in_execution
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _figures(pairs):
    return [(named.pk, named.code, progress) for named, progress in pairs]


def _setup(capture):
    built = in_execution(capture)
    contracts = list(Contract.objects.filter(round=built.round).order_by("number"))
    first, second, third = contracts
    # An amendment: the first contract's current lines are version 1 (odd volumes, so
    # that pro-rata shares fall on halves on some days).
    services.contract_amend(
        contract=first,
        by=built.office,
        reason="Volume corrected",
        effective_from=STARTED,
        quantities={built.round_item.pk: 7301},
    )
    # Another term: the third contract's line started later and runs one year.
    later = STARTED + datetime.timedelta(days=40)
    ContractLine.objects.filter(contract=third).update(
        starts_on=later, ends_on=later.replace(year=later.year + 1) - datetime.timedelta(days=1)
    )
    ContractLine.objects.filter(contract=second).update(quantity=2923)
    for contract, quantity in ((first, 150), (second, 9000), (third, 1)):
        Purchase.objects.create(
            contract=contract,
            round_item=built.round_item,
            month=STARTED.replace(day=1),
            quantity=quantity,
            recorded_by=contract.hospital.users.first(),
            channel=Purchase.Channel.WEB,
        )
    return built


def test_aggregates_equal_the_per_line_figures_on_every_day(
    django_capture_on_commit_callbacks,
) -> None:
    built = _setup(django_capture_on_commit_callbacks)
    contracts = Contract.objects.filter(round=built.round, status=Contract.Status.CONFIRMED)
    lines = selectors.current_lines(contracts=contracts)
    assert lines.filter(version=1).count() == 1  # the amended contract counts its new lines
    behind_seen = False
    for offset in range(-5, 800, 17):
        today = STARTED + datetime.timedelta(days=offset)
        rows = reference_progress.progress_lines(contracts=contracts, today=today)
        schedule = selectors.progress_schedule(lines=lines, today=today)
        for key in ("item", "region", "manufacturer", "hospital"):
            grouped = selectors.progress_grouped(lines=lines, schedule=schedule, key=key)
            expected = _figures(reference_progress.progress_by(rows, key))
            assert _figures(selectors.progress_rows(grouped, key, lines=lines)) == expected, (
                today,
                key,
            )
            # A page of the groups: what was bought is read for those groups only.
            page = selectors.progress_rows(grouped[1:2], key, lines=lines)
            assert _figures(page) == expected[1:2], (today, key)
        summary = selectors.progress_summary(lines=lines, schedule=schedule)
        assert summary.total == combine(r.progress for r in rows)
        for key, got in (
            ("item", summary.by_item),
            ("region", summary.by_region),
            ("manufacturer", summary.by_manufacturer),
        ):
            assert _figures(got) == _figures(reference_progress.progress_by(rows, key)), (
                today,
                key,
            )
        expected_behind = reference_progress.behind_schedule_hospitals(rows=rows)
        behind = selectors.progress_behind(lines=lines, schedule=schedule)
        assert _figures(behind) == _figures(expected_behind), today
        behind_seen = behind_seen or bool(expected_behind)
        per_line = selectors.line_progress_rows(
            selectors.progress_line_rows(lines=lines, schedule=schedule)
        )
        assert [(r.contract_number, r.item.code, r.progress) for r in per_line] == [
            (r.contract_number, r.item.code, r.progress) for r in rows
        ], today
    assert behind_seen  # the comparison covered the behind-schedule rule too


def test_the_progress_page_reads_a_page_of_hospitals_or_lines(
    django_capture_on_commit_callbacks,
) -> None:
    built = _setup(django_capture_on_commit_callbacks)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=built.office.username, password=TEST_PASSWORD)
    url = reverse("contracts:progress")
    page = client.get(url).content.decode()
    assert "Rows 1–3 of 3" in page  # by hospital, the default for the office
    assert "Agreed volume (units)" in page and "<td>tablet</td>" in page  # by item
    hospital = built.hospitals[1].organization
    page = client.get(url, {"detail": "lines", "q": hospital.name_en}).content.decode()
    assert "Rows 1–1 of 1" in page
    number = Contract.objects.get(hospital=hospital).number
    assert number in page and "9,000" in page and "+6,077 beyond agreed" in page
    page = client.get(url, {"detail": "behind"}).content.decode()
    today = timezone.localdate()
    rows = reference_progress.progress_lines(
        contracts=Contract.objects.filter(round=built.round), today=today
    )
    expected = reference_progress.behind_schedule_hospitals(rows=rows)
    assert expected and f"of {len(expected)}" in page
    # A hospital sees its lines, with no by-hospital tab.
    hospital_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert hospital_client.login(username=built.hospitals[1].username, password=TEST_PASSWORD)
    page = hospital_client.get(url, {"detail": "hospitals"}).content.decode()
    assert number in page and "detail=hospitals#progress-detail" not in page

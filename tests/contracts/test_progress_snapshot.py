"""The maintained progress snapshot (``contracts.summaries``, issue 19): the same figures
as the aggregates over the lines, on any day; refreshed when a writer changes the inputs
or the day moves on; with a broker, a stale snapshot is shown with its time while one
refresh is queued."""

from __future__ import annotations

import datetime

import pytest
from celery import current_app
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contracts import selectors, services, summaries
from contracts.models import Contract, ProgressSnapshot
from tests.contracts.test_progress_aggregates import _figures, _setup
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_the_snapshot_holds_the_aggregates_figures_on_every_day(
    django_capture_on_commit_callbacks,
) -> None:
    built = _setup(django_capture_on_commit_callbacks)
    contracts = Contract.objects.filter(round=built.round, status=Contract.Status.CONFIRMED)
    lines = selectors.current_lines(contracts=contracts)
    makers = sorted(set(contracts.values_list("manufacturer_id", flat=True)))
    behind_seen = False
    for offset in range(-5, 800, 53):
        today = built.round.contract_starts_on + datetime.timedelta(days=offset)
        snapshot = summaries.refresh(round_id=built.round.pk, today=today)
        assert snapshot.as_of == today and summaries.is_current(snapshot, today)
        schedule = selectors.progress_schedule(lines=lines, today=today)
        live = selectors.progress_summary(lines=lines, schedule=schedule)
        stored = selectors.snapshot_summary(snapshot=snapshot)
        assert stored.total == live.total, today
        for got, expected in (
            (stored.by_item, live.by_item),
            (stored.by_region, live.by_region),
            (stored.by_manufacturer, live.by_manufacturer),
        ):
            assert _figures(got) == _figures(expected), today
        hospitals = selectors.progress_rows(
            selectors.progress_grouped(lines=lines, schedule=schedule, key="hospital"),
            "hospital",
            lines=lines,
        )
        assert _figures(
            selectors.snapshot_hospital_rows(selectors.snapshot_hospitals(snapshot=snapshot))
        ) == _figures(hospitals)
        behind = selectors.progress_behind(lines=lines, schedule=schedule)
        assert _figures(
            selectors.snapshot_hospital_rows(selectors.snapshot_behind(snapshot=snapshot))
        ) == _figures(behind), today
        behind_seen = behind_seen or bool(behind)
        for maker in makers:  # a winner's own tables
            own = lines.filter(contract__manufacturer_id=maker)
            own_live = selectors.progress_summary(lines=own, schedule=schedule)
            own_stored = selectors.snapshot_summary(snapshot=snapshot, manufacturer_id=maker)
            assert own_stored.total == own_live.total
            assert _figures(own_stored.by_item) == _figures(own_live.by_item)
            own_hospitals = selectors.progress_rows(
                selectors.progress_grouped(lines=own, schedule=schedule, key="hospital"),
                "hospital",
                lines=own,
            )
            stored_rows = selectors.snapshot_hospitals(snapshot=snapshot, manufacturer_id=maker)
            assert _figures(selectors.snapshot_hospital_rows(stored_rows)) == _figures(
                own_hospitals
            )
    assert behind_seen


def test_a_purchase_recorded_refreshes_the_figures_the_office_reads(
    django_capture_on_commit_callbacks,
) -> None:
    built = _setup(django_capture_on_commit_callbacks)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=built.office.username, password=TEST_PASSWORD)
    url = reverse("contracts:progress")
    page = client.get(url).content.decode()
    snapshot = ProgressSnapshot.objects.get(round=built.round)
    computed = snapshot.computed_at
    assert computed is not None
    shown = timezone.localtime(computed).strftime("%Y-%m-%d %H:%M")
    assert f"Figures computed at {shown}." in page
    before = selectors.snapshot_summary(snapshot=snapshot).total.bought
    contract = Contract.objects.filter(round=built.round).order_by("number").first()
    assert contract is not None
    hospital_user = contract.hospital.users.first()
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        services.purchases_record(
            hospital=contract.hospital,
            by=hospital_user,
            lines=[
                services.PurchaseLine(
                    contract_number=contract.number,
                    item_code=built.round_item.item.code,
                    month=f"{today:%Y-%m}",
                    quantity=1234,
                )
            ],
            channel="web",
        )
    snapshot.refresh_from_db()
    assert snapshot.changed_at is not None and snapshot.changed_at > computed
    assert not summaries.is_current(snapshot, today)
    client.get(url)  # the next read refreshes it (no broker: in process)
    snapshot.refresh_from_db()
    assert summaries.is_current(snapshot, today) and snapshot.computed_at > computed
    assert selectors.snapshot_summary(snapshot=snapshot).total.bought == before + 1234


def test_with_a_broker_a_stale_snapshot_is_shown_and_one_refresh_queued(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from contracts import tasks

    built = _setup(django_capture_on_commit_callbacks)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    summaries.refresh(round_id=built.round.pk, today=yesterday)
    queued: list[int] = []
    monkeypatch.setattr(tasks.progress_refresh_task, "delay", queued.append)
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        _stale_then_refreshed(built, yesterday, queued, django_capture_on_commit_callbacks)
    finally:
        current_app.conf.task_always_eager = previous


def _stale_then_refreshed(built, yesterday, queued, capture) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=built.office.username, password=TEST_PASSWORD)
    url = reverse("contracts:progress")
    for _ in range(3):
        with capture(execute=True):
            page = client.get(url).content.decode()
        assert "They are being recomputed" in page
    assert queued == [built.round.pk]  # once, not per read
    snapshot = ProgressSnapshot.objects.get(round=built.round)
    assert snapshot.as_of == yesterday and snapshot.requested_at is not None
    summaries.refresh(round_id=built.round.pk)  # what the task does
    with capture(execute=True):
        page = client.get(url).content.decode()
    assert "They are being recomputed" not in page and "Figures computed at" in page
    assert queued == [built.round.pk]

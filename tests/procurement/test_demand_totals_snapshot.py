"""The maintained demand totals (``procurement.summaries``, issue 19): computed once,
refreshed after demand is written or removed, shown with the time they were computed;
with a broker, the previous totals are shown while one refresh is queued."""

from __future__ import annotations

import pytest
from celery import current_app
from django.urls import reverse
from django.utils import timezone

from procurement import summaries
from procurement.models import DemandDeclaration, DemandTotalsSnapshot
from procurement.services import DemandLine, demand_remove
from tests.procurement.conftest import client_for
from tests.procurement.test_demand_totals import declare

pytestmark = pytest.mark.django_db


def test_totals_follow_the_writers_and_show_when_computed(
    open_round, office, hospital, other_hospital, django_capture_on_commit_callbacks
):
    declare(hospital, open_round, DemandLine("D-ATV-OS", "1000", specification_code="10MG"))
    url = reverse("procurement:demand-totals", args=[open_round.code])
    html = client_for(office).get(url).content.decode()
    snapshot = DemandTotalsSnapshot.objects.get(round=open_round)
    assert snapshot.computed_at is not None and snapshot.lines == 1
    shown = timezone.localtime(snapshot.computed_at).strftime("%Y-%m-%d %H:%M")
    assert f"Figures computed at {shown}." in html
    assert "1 of " in html and "(1 line" in html
    with django_capture_on_commit_callbacks(execute=True):
        declare(
            other_hospital, open_round, DemandLine("D-ATV-OS", "500", specification_code="10MG")
        )
    snapshot.refresh_from_db()
    assert not summaries.is_current(snapshot)  # marked by the writer
    html = client_for(office).get(url).content.decode()
    assert "2 of " in html and "(2 lines)" in html and "1,500" in html
    line = DemandDeclaration.objects.get(hospital=other_hospital.organization)
    with django_capture_on_commit_callbacks(execute=True):
        demand_remove(
            hospital=other_hospital.organization,
            round_=open_round,
            declaration_id=line.pk,
            channel="web",
            by=other_hospital,
        )
    html = client_for(office).get(url).content.decode()
    assert "1 of " in html and "(1 line" in html


def test_with_a_broker_the_previous_totals_are_shown_and_one_refresh_queued(
    open_round, office, hospital, other_hospital, django_capture_on_commit_callbacks, monkeypatch
):
    from procurement import tasks

    declare(hospital, open_round, DemandLine("D-ATV-OS", "1000", specification_code="10MG"))
    summaries.refresh(round_id=open_round.pk)
    queued: list[int] = []
    monkeypatch.setattr(tasks.demand_totals_refresh_task, "delay", queued.append)
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=True):
            declare(
                other_hospital,
                open_round,
                DemandLine("D-ATV-OS", "500", specification_code="10MG"),
            )
        url = reverse("procurement:demand-totals", args=[open_round.code])
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                html = client_for(office).get(url).content.decode()
            assert "They are being recomputed" in html and "(1 line" in html
        assert queued == [open_round.pk]
        summaries.refresh(round_id=open_round.pk)  # what the task does
        html = client_for(office).get(url).content.decode()
        assert "They are being recomputed" not in html and "(2 lines)" in html
    finally:
        current_app.conf.task_always_eager = previous

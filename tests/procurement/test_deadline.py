"""The demand window closes on schedule (Celery beat), once."""

from __future__ import annotations

import datetime

import pytest

from config.tasks import run_deadline_checks
from procurement.models import Round
from procurement.services import round_deadline_check
from tests.procurement.factories import make_round

pytestmark = pytest.mark.django_db


def test_deadline_check_closes_demand_at_the_deadline_and_is_idempotent(office):
    round_ = make_round(office=office, open_demand=True)
    before = round_.demand_closes_at - datetime.timedelta(seconds=1)
    assert round_deadline_check(now=before) == 0
    round_.refresh_from_db()
    assert round_.status == Round.Status.DEMAND_OPEN
    assert round_deadline_check(now=round_.demand_closes_at) == 1
    assert round_deadline_check(now=round_.demand_closes_at) == 0
    round_.refresh_from_db()
    assert round_.status == Round.Status.DEMAND_CLOSED
    closing = round_.transitions.filter(to_status=Round.Status.DEMAND_CLOSED)
    assert [(t.by, t.note) for t in closing] == [(None, "deadline")]


def test_the_beat_task_runs_the_check(office):
    round_ = make_round(office=office, open_demand=True)
    Round.objects.filter(pk=round_.pk).update(
        demand_closes_at=round_.demand_opens_at + datetime.timedelta(seconds=1)
    )
    run_deadline_checks.delay()
    round_.refresh_from_db()
    assert round_.status == Round.Status.DEMAND_CLOSED

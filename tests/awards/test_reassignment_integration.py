"""The hospitals' choice for lost volume on PostgreSQL with a real Celery worker: the
evaluation, the hospital's choice on its page, finalization, and the choice run the
worker solves, whose allocation (written with COPY) gives the volume to the chosen winner.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from django.test import Client
from django.urls import reverse

from awards import services
from awards.models import EvaluationRun, HospitalAllocation, ProvinceAllocation
from contracts import services as contract_services
from procurement.models import Round
from tests.awards.test_reassignment import joints_round
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait(round_: Round, **run_filter: object) -> EvaluationRun:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        failed = EvaluationRun.objects.filter(round=round_, status="failed").first()
        assert failed is None, failed.error
        run = EvaluationRun.objects.filter(round=round_, is_official=True, **run_filter).first()
        if run is not None:
            return run
        time.sleep(0.3)
    raise AssertionError("the run did not finish on the worker within 120 s")


def test_the_chosen_winner_gets_the_lost_volume(celery_worker: subprocess.Popen[bytes]) -> None:
    built = joints_round("T-2026-C9")
    services.evaluation_request(round_=built.round, by=built.office)
    proposed = _wait(built.round)
    services.objection_period_open(round_=built.round, by=built.office)

    hospital = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert hospital.login(username=built.hospitals["H1"].username, password=TEST_PASSWORD)
    prefix = f"item-{built.round_item.pk}"
    response = hospital.post(
        reverse("awards:lost-volume", args=[built.round.pk]),
        {"round_item": built.round_item.pk, f"{prefix}-preference_1": built.bids["B4"].pk},
    )
    assert response.status_code == 302

    services.award_finalize(round_=built.round, by=built.office)
    final = _wait(built.round, is_hospital_choice=True)
    assert final.pk != proposed.pk and final.status == "done"
    rows = {
        (a.region.code, a.opened_bid_id, a.source): a.quantity
        for a in ProvinceAllocation.objects.filter(run=final).select_related("region")
    }
    assert rows[("11", built.bids["B4"].pk, "hospital's choice for a losing product")] == 40
    h1 = {
        h.opened_bid_id: h.quantity
        for h in HospitalAllocation.objects.filter(
            run=final, hospital=built.hospitals["H1"].organization
        )
    }
    assert h1 == {built.bids["B1"].pk: 60, built.bids["B4"].pk: 40}
    built.round.refresh_from_db()
    assert contract_services.contracts_generate_blocker(round_=built.round) == ""

"""OCDS release ids: unique within the ocid for different content (also within one
second), the same for the same content, and every release still valid against the
vendored schemas."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from awards.models import AuditEntry
from contracts import services as contract_services
from contracts.models import Contract
from reports import ocds
from tests.reports.factories import AwardedRound, small_awarded_round
from tests.reports.test_exports_provisional import finish_province_selection
from tests.reports.test_party_reports import _with_contracts

pytestmark = pytest.mark.django_db


def _release(built: AwardedRound) -> dict:
    package = ocds.release_package(round_=built.round, run=built.run, uri="https://example.org/p")
    package = ocds.loads(ocds.dumps(package))  # as published: exact decimals in JSON
    assert ocds.validation_errors(package) == []
    return package["releases"][0]


def _finalized_at(built: AwardedRound, moment: datetime.datetime) -> None:
    AuditEntry.objects.filter(round=built.round, action="award_finalized").update(at=moment)


def _next_whole_hour() -> datetime.datetime:
    now = timezone.now()
    return now.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(hours=1)


def test_the_same_content_gets_the_same_id() -> None:
    built = small_awarded_round(code="R-OID-1")
    first, second = _release(built), _release(built)
    assert first == second
    assert first["id"].startswith("ocds-jicai0-R-OID-1-awarded-")


def test_two_releases_within_one_second_get_different_ids() -> None:
    """Finalized at hh:00:00.1, the province selection's run done at hh:00:00.6: the
    awards turn from pending to active, a new release in the same second."""
    built = small_awarded_round(code="R-OID-2")
    finalized = _next_whole_hour() + datetime.timedelta(milliseconds=100)
    _finalized_at(built, finalized)
    before = _release(built)
    selected = finalized + datetime.timedelta(milliseconds=500)
    finish_province_selection(built, at=selected)
    after = _release(built)
    assert int(finalized.timestamp()) == int(selected.timestamp())  # the same second
    assert {a["status"] for a in before["awards"]} == {"pending"}
    assert {a["status"] for a in after["awards"]} == {"active"}
    assert after["id"] != before["id"]
    # Both keep the readable part: ocid, status, the date to the second.
    stem = f"ocds-jicai0-R-OID-2-awarded-{int(finalized.timestamp())}-"
    assert before["id"].startswith(stem) and after["id"].startswith(stem)
    assert len(after["id"]) == len(stem) + 16


def test_a_contract_confirmed_makes_a_new_release_with_a_later_date() -> None:
    built = small_awarded_round(code="R-OID-3")
    contract = _with_contracts(built)[0]
    drawn_up = _release(built)
    last_drawn_up = Contract.objects.filter(round=built.round).latest("created_at").created_at
    assert drawn_up["date"] == ocds._when(last_drawn_up)
    contract_services.contract_confirm(contract=contract, by=_hospital_user(built, contract))
    confirmed = _release(built)
    assert confirmed["id"] != drawn_up["id"] and confirmed["date"] > drawn_up["date"]
    assert confirmed == _release(built)  # and it stays that release


def test_the_id_is_the_content_digest_not_the_request() -> None:
    """Changing only the package (its uri) keeps the release id; changing any field of
    the release changes it."""
    built = small_awarded_round(code="R-OID-4")
    release = _release(built)
    last = datetime.datetime.fromisoformat(release["date"])
    assert ocds.release_id(release, round_=built.round, last=last) == release["id"]
    altered = {**release, "tag": ["award", "contract"]}
    assert ocds.release_id(altered, round_=built.round, last=last) != release["id"]
    other = ocds.release_package(round_=built.round, run=built.run, uri="https://other.example/")
    assert other["releases"][0]["id"] == release["id"]


def _hospital_user(built: AwardedRound, contract: Contract):
    return next(u for u in built.hospitals.values() if u.organization_id == contract.hospital_id)

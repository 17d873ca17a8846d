"""The OCDS release marks provisional awards as the award pages do
(``awards.selectors.provisional_rounds``), with the OCDS 1.1 award status codelist:
``pending`` ("proposed, but not yet in force") until the figures are final, ``active``
("made, and currently in force") after. Every variant validates offline against the
vendored schemas."""

from __future__ import annotations

import copy
import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from procurement.models import Round
from reports import ocds
from tests.factories import TEST_PASSWORD
from tests.reports.factories import small_awarded_round
from tests.reports.test_exports_provisional import finish_province_selection

pytestmark = pytest.mark.django_db

SELECTION_PENDING_ZH = "省份选择完成前为暂定：供应省份以及相应的供应企业和采购量仍可能变化。"


def _release(built, user=None, language: str = "en") -> dict:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    response = client.get(reverse("api-round-ocds", args=[built.round.code]))
    assert response.status_code == 200
    package = ocds.loads(b"".join(response.streaming_content))
    assert ocds.validation_errors(package) == []
    return package["releases"][0]


def test_before_province_selection_every_award_is_pending_and_says_why() -> None:
    built = small_awarded_round(code="R-OCDS-P1")
    release = _release(built)
    assert release["tender"]["status"] == "complete"  # the winners are final
    assert release["awards"]
    assert {a["status"] for a in release["awards"]} == {"pending"}
    # In the release's language (zh), whatever the reader's.
    assert {a["description"] for a in release["awards"]} == {SELECTION_PENDING_ZH}
    assert _release(built, language="zh-hans")["awards"] == release["awards"]


def test_once_province_selection_has_finished_the_winners_awards_are_active() -> None:
    built = small_awarded_round(code="R-OCDS-P2")
    before = _release(built)
    finish_province_selection(built, at=timezone.now() + datetime.timedelta(minutes=5))
    after = _release(built)
    assert {a["status"] for a in after["awards"]} == {"active"}
    assert not any("description" in a for a in after["awards"])
    # A new release: the same round status, but a later date and so another id.
    assert after["date"] > before["date"] and after["id"] != before["id"]
    assert [a["id"] for a in after["awards"]] == [a["id"] for a in before["awards"]]


def test_a_consumables_round_is_active_once_awarded() -> None:
    built = small_awarded_round(code="R-OCDS-P3")
    Round.objects.filter(pk=built.round.pk).update(kind=Round.Kind.CONSUMABLES)
    release = _release(built)
    assert {a["status"] for a in release["awards"]} == {"active"}


def test_proposed_winners_are_pending_with_the_objection_reason() -> None:
    built = small_awarded_round(code="R-OCDS-P4")
    finish_province_selection(built)
    Round.objects.filter(pk=built.round.pk).update(status=Round.Status.OBJECTION)
    release = _release(built, user=built.office)  # not public before the award is final
    assert release["tender"]["status"] == "active"
    assert {a["status"] for a in release["awards"]} == {"pending"}
    assert {a["description"][:3] for a in release["awards"]} == {"拟中选"}


def test_the_schema_refuses_a_status_outside_the_codelist() -> None:
    built = small_awarded_round(code="R-OCDS-P5")
    client = Client()
    package = ocds.loads(
        b"".join(client.get(reverse("api-round-ocds", args=["R-OCDS-P5"])).streaming_content)
    )
    assert ocds.validation_errors(package) == []
    for status in ("provisional", "proposed", "final"):
        broken = copy.deepcopy(package)
        broken["releases"][0]["awards"][0]["status"] = status
        errors = ocds.validation_errors(broken)
        assert any(f"'{status}' is not one of" in e for e in errors), errors
    assert built.round.code == "R-OCDS-P5"

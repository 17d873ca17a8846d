"""Closing demand before its closing time names the hospitals that have not declared and
asks again (issue 14, point 8: demand was closed 4 minutes early with 24 of 30 hospitals
undeclared, behind a generic confirmation)."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from procurement.models import Round
from procurement.services import DemandLine, demand_declare, round_close_demand
from tests.procurement.conftest import client_for
from tests.procurement.factories import hospital_user

pytestmark = pytest.mark.django_db


def _declare(round_: Round, user) -> None:
    demand_declare(
        hospital=user.organization,
        round_=round_,
        lines=[DemandLine(item_code="D-ATV-OS", specification_code="10MG", quantity=100)],
        channel="web",
        by=user,
    )


def _close(client, round_: Round, **extra: str):
    return client.post(
        reverse("procurement:round-transition", args=[round_.code]),
        {"action": "close_demand", **extra},
    )


def test_closing_early_names_the_undeclared_hospitals_and_asks_again(
    open_round, office, hospital
) -> None:
    silent = [hospital_user("11"), hospital_user("31")]
    _declare(open_round, hospital)
    client = client_for(office)
    response = _close(client, open_round)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Close demand declaration early?" in page
    assert "2 of 3 hospitals in scope have not declared." in page
    for user in silent:
        assert user.organization.display_name in page
        assert user.organization.social_credit_code in page
    assert hospital.organization.display_name not in page
    assert 'name="undeclared_seen" value="2"' in page
    assert "Close demand now, without 2 hospitals" in page
    open_round.refresh_from_db()
    assert open_round.status == Round.Status.DEMAND_OPEN  # nothing closed yet

    response = _close(client, open_round, undeclared_seen="2")
    assert response.status_code == 302
    open_round.refresh_from_db()
    assert open_round.status == Round.Status.DEMAND_CLOSED
    assert open_round.transitions.latest("pk").note == "closed early, 2 undeclared"


def test_a_hospital_that_declares_meanwhile_makes_the_page_ask_again(
    open_round, office, hospital
) -> None:
    hospital_user("31")
    client = client_for(office)
    assert "2 of 2 hospitals" in _close(client, open_round).content.decode()
    _declare(open_round, hospital)  # while the office reads the list
    response = _close(client, open_round, undeclared_seen="2")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "1 hospital has not declared; the list changed since you were asked. Check it again "
        "before closing demand early."
    ]
    open_round.refresh_from_db()
    assert open_round.status == Round.Status.DEMAND_OPEN


def test_no_second_question_when_every_hospital_declared_or_the_time_has_come(
    open_round, office, hospital
) -> None:
    other = hospital_user("31")
    _declare(open_round, hospital)
    _declare(open_round, other)
    client = client_for(office)
    assert _close(client, open_round).status_code == 302  # all declared
    open_round.refresh_from_db()
    assert open_round.status == Round.Status.DEMAND_CLOSED
    assert open_round.transitions.latest("pk").note == ""


def test_at_the_closing_time_demand_closes_without_asking(open_round, office, hospital) -> None:
    Round.objects.filter(pk=open_round.pk).update(
        demand_closes_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert _close(client_for(office), open_round).status_code == 302
    open_round.refresh_from_db()
    assert open_round.status == Round.Status.DEMAND_CLOSED


def test_the_service_refuses_an_early_close_confirmed_on_a_stale_list(open_round, hospital):
    hospital_user("31")
    with pytest.raises(ValidationError, match="2 hospitals have not declared"):
        round_close_demand(round_=open_round, by=None, undeclared_seen=1)
    round_close_demand(round_=open_round, by=None)  # a caller that asks nothing
    open_round.refresh_from_db()
    assert open_round.status == Round.Status.DEMAND_CLOSED


def test_the_question_in_chinese(open_round, office) -> None:
    hospital_user("11")
    client = client_for(office)
    client.cookies["django_language"] = "zh-hans"
    office.language = "zh-hans"
    office.save(update_fields=["language"])
    page = _close(client, open_round).content.decode()
    assert "提前截止需求申报？" in page
    assert "范围内 1 家医疗机构中有 1 家尚未申报。" in page
    assert "立即截止，不含 1 家医疗机构" in page


def test_the_round_history_reads_its_notes_in_the_readers_language(open_round, office) -> None:
    from django.utils import translation

    from procurement.transition_notes import note_text

    hospital_user("11")
    client = client_for(office)
    _close(client, open_round, undeclared_seen="1")
    assert open_round.transitions.latest("pk").note == "closed early, 1 undeclared"
    with translation.override("zh-hans"):
        assert note_text("closed early, 1 undeclared") == "提前截止，1 家未申报"
        assert note_text("created") == "创建"
        assert note_text("award finalized: run 12") == "中选结果确定：评审运行 12"
        assert note_text("a reason the office typed") == "a reason the office typed"
    client.cookies["django_language"] = "zh-hans"
    office.language = "zh-hans"
    office.save(update_fields=["language"])
    page = client.get(reverse("procurement:round", args=[open_round.code])).content.decode()
    assert "提前截止，1 家未申报" in page and "<td>创建</td>" in page
    assert "closed early" not in page

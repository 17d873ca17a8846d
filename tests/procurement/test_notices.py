"""Notices at every turn: who is told, when, once, in their language, and when it is done."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.utils import timezone, translation

from accounts.models import Notification
from procurement.models import DemandChange, Round
from procurement.notices import key, round_reminders_check
from procurement.services import (
    DemandLine,
    demand_declare,
    round_close_demand,
    round_open_bidding,
)
from tests.factories import user_of
from tests.procurement.factories import hospital_user, make_round

pytestmark = pytest.mark.django_db

S = Round.Status


def _notices(event: str, round_: Round) -> dict[int, Notification]:
    return {
        n.organization_id: n for n in Notification.objects.filter(dedupe_key=key(round_, event))
    }


def _declare(user, round_) -> None:
    demand_declare(
        hospital=user.organization,
        round_=round_,
        lines=[DemandLine("D-ATV-OS", 1200, specification_code="10MG")],
        channel=DemandChange.Channel.WEB,
        by=user,
    )


def test_opening_demand_tells_the_hospitals_in_scope_only_once_with_the_closing_time(
    django_capture_on_commit_callbacks,
) -> None:
    inside = hospital_user("11")
    hospital_user("44")  # outside the round's provinces (11 and 31)
    inside.email, inside.language = "pharmacy@example.org", "zh-hans"
    inside.save()
    with django_capture_on_commit_callbacks(execute=True):
        round_ = make_round(open_demand=True)

    notices = _notices("demand_open", round_)
    assert set(notices) == {inside.organization_id}
    notice = notices[inside.organization_id]
    assert notice.kind == Notification.Kind.DEMAND_OPEN
    assert notice.params["code"] == round_.code
    closes = timezone.localtime(round_.demand_closes_at).strftime("%Y-%m-%d %H:%M")
    assert notice.params["closes"] == closes
    assert notice.url == f"/rounds/{round_.code}/demand/"
    assert notice.done_at is None
    # The e-mail went out after the commit, in the reader's language.
    assert [m.to for m in mail.outbox] == [["pharmacy@example.org"]]
    assert "需求" in mail.outbox[0].subject and closes in mail.outbox[0].body
    with translation.override("en"):
        assert notice.subject_text == f"Declare your demand for round {round_.code}"


def test_declaring_marks_the_demand_notice_done_for_that_hospital_only() -> None:
    first, second = hospital_user("11"), hospital_user("31")
    round_ = make_round(open_demand=True)
    _declare(first, round_)
    notices = _notices("demand_open", round_)
    assert notices[first.organization_id].done_at is not None
    assert notices[second.organization_id].done_at is None


@pytest.mark.parametrize(
    ("before_close", "sent"),
    [
        (datetime.timedelta(hours=24, seconds=1), False),  # just outside 24 h
        (datetime.timedelta(hours=24), True),  # at 24 h
        (datetime.timedelta(hours=23, minutes=59), True),
    ],
)
def test_demand_closing_reminder_at_24_hours_goes_to_undeclared_hospitals(
    before_close: datetime.timedelta, sent: bool
) -> None:
    declared, silent = hospital_user("11"), hospital_user("31")
    round_ = make_round(open_demand=True)
    _declare(declared, round_)
    now = round_.demand_closes_at - before_close

    count = round_reminders_check(now=now)

    notices = _notices("demand_closing", round_)
    assert count == (1 if sent else 0)
    assert set(notices) == ({silent.organization_id} if sent else set())
    assert round_reminders_check(now=now) == 0  # once


def test_demand_closed_tells_each_hospital_its_own_status() -> None:
    declared, silent = hospital_user("11"), hospital_user("31")
    round_ = make_round(open_demand=True)
    _declare(declared, round_)
    round_close_demand(round_=round_, by=None)
    notices = _notices("demand_closed", round_)
    assert set(notices) == {declared.organization_id, silent.organization_id}
    assert "was received" in notices[declared.organization_id].body
    assert "declared no demand" in notices[silent.organization_id].body


def _bidding_round() -> Round:
    round_ = make_round(open_demand=True)
    round_close_demand(round_=round_, by=None)
    round_.refresh_from_db()
    return round_open_bidding(round_=round_, by=None)


def test_bidding_open_and_its_reminders_at_24_and_1_hour_reach_every_manufacturer() -> None:
    makers = [user_of("manufacturer"), user_of("manufacturer")]
    round_ = _bidding_round()
    ids = {m.organization_id for m in makers}
    assert set(_notices("bidding_open", round_)) == ids

    deadline = round_.bid_deadline
    assert round_reminders_check(now=deadline - datetime.timedelta(hours=24, seconds=1)) == 0
    assert round_reminders_check(now=deadline - datetime.timedelta(hours=24)) == 2
    assert set(_notices("bidding_closing_24h", round_)) == ids
    # Just above an hour left: still the 24-hour reminder, already sent.
    assert round_reminders_check(now=deadline - datetime.timedelta(hours=1, seconds=1)) == 0
    assert round_reminders_check(now=deadline - datetime.timedelta(hours=1)) == 2
    assert set(_notices("bidding_closing_1h", round_)) == ids
    assert round_reminders_check(now=deadline) == 0  # closed: nothing more


def test_a_sealed_bid_marks_the_manufacturers_bidding_notices_done_at_the_next_sweep() -> None:
    from decimal import Decimal

    from bidding.notices import bidding_notices_done_check
    from bidding.services import bid_submit
    from tests.procurement.factories import spec

    bidder, idle = user_of("manufacturer"), user_of("manufacturer")
    round_ = _bidding_round()
    round_reminders_check(now=round_.bid_deadline - datetime.timedelta(hours=2))
    round_item = round_.items.get()
    specification = spec("D-ATV-OS", "10MG")
    from tests.bidding.conftest import drug_product

    product = drug_product(bidder.organization, specification)
    bid_submit(
        round_item=round_item,
        specification=specification,
        product=product,
        unit_price=Decimal("1.2345"),
        annual_capacity=1000,
        by=bidder,
    )
    assert bidding_notices_done_check(now=timezone.now()) == 2  # open + closing within 24 h
    done = {
        (n.organization_id, n.dedupe_key): n.done_at is not None
        for n in Notification.objects.filter(kind__startswith="bidding")
    }
    assert done == {
        (bidder.organization_id, key(round_, "bidding_open")): True,
        (bidder.organization_id, key(round_, "bidding_closing_24h")): True,
        (idle.organization_id, key(round_, "bidding_open")): False,
        (idle.organization_id, key(round_, "bidding_closing_24h")): False,
    }
    assert bidding_notices_done_check(now=timezone.now()) == 0

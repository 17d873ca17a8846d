"""The office moves a round's timetable within what the round's state still allows."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from procurement.models import Round, RoundTransition
from procurement.services import (
    round_close_demand,
    round_open_bidding,
    round_timetable_write,
    round_update_timetable,
)
from tests.factories import user_of
from tests.procurement.factories import hospital_user, make_round

pytestmark = pytest.mark.django_db

FIELDS = (
    "demand_opens_at",
    "demand_closes_at",
    "bid_deadline",
    "opening_at",
    "objection_ends_at",
    "contract_starts_on",
)


def _timetable(round_: Round, **changes: object) -> dict[str, object]:
    return {**{f: getattr(round_, f) for f in FIELDS}, **changes}


def _form_data(round_: Round, **changes: object) -> dict[str, str]:
    data = {}
    for field, value in _timetable(round_, **changes).items():
        if isinstance(value, datetime.datetime):
            data[f"timetable-{field}"] = timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")
        else:
            data[f"timetable-{field}"] = value.isoformat()  # type: ignore[union-attr]
    return data


def _bidding_round() -> tuple[Round, object]:
    office = user_of("office")
    round_ = make_round(office=office, open_demand=True)
    round_close_demand(round_=round_, by=office)
    round_open_bidding(round_=round_, by=office)
    return round_, office


def test_office_brings_a_draft_rounds_deadline_forward_and_the_history_says_so(
    client: Client,
) -> None:
    office = user_of("office")
    round_ = make_round(office=office)
    # Demand closes in 7 days; the rule set keeps 20 days from then to the deadline.
    soon = (timezone.now() + datetime.timedelta(days=27, minutes=30)).replace(
        second=0, microsecond=0
    )
    client.force_login(office)
    response = client.post(
        reverse("procurement:round-timetable", args=[round_.code]),
        _form_data(round_, bid_deadline=soon, opening_at=soon + datetime.timedelta(hours=1)),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    round_.refresh_from_db()
    assert round_.bid_deadline == soon
    note = RoundTransition.objects.filter(round=round_).latest("id").note
    assert note.startswith("bid_deadline: ")
    assert "opening_at: " in note
    page = client.get(reverse("procurement:round", args=[round_.code]), HTTP_ACCEPT_LANGUAGE="en")
    assert "The timetable is updated." in page.content.decode()


def test_once_published_the_deadline_is_refused_here_and_the_message_says_amendment() -> None:
    round_, office = _bidding_round()
    later = round_.bid_deadline + datetime.timedelta(days=2)
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        round_update_timetable(
            round_=round_, by=office, timetable=_timetable(round_, bid_deadline=later)
        )
    assert excinfo.value.messages == [
        f"The procurement document of round {round_.code} is published: change bid deadline "
        "through a numbered amendment, published to every bidder (Publish an amendment, on "
        "the round page)."
    ]
    round_.refresh_from_db()
    assert round_.bid_deadline == later - datetime.timedelta(days=2)


def test_once_published_the_objection_period_still_moves_here() -> None:
    round_, office = _bidding_round()
    later = round_.objection_ends_at + datetime.timedelta(days=2)
    round_update_timetable(
        round_=round_, by=office, timetable=_timetable(round_, objection_ends_at=later)
    )
    round_.refresh_from_db()
    assert round_.objection_ends_at == later


def test_the_timetable_writer_amendments_use_extends_the_deadline_but_never_brings_it_forward() -> (
    None
):
    round_, office = _bidding_round()
    earlier = round_.bid_deadline - datetime.timedelta(days=1)
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        round_timetable_write(
            round_=round_,
            by=office,
            timetable={"bid_deadline": earlier},
            now=timezone.now(),
        )
    assert excinfo.value.messages == [
        "While bidding is open the bid deadline can only be extended, not brought forward."
    ]
    later = round_.bid_deadline + datetime.timedelta(days=2)
    round_timetable_write(
        round_=round_,
        by=office,
        timetable={"bid_deadline": later, "opening_at": later + datetime.timedelta(hours=1)},
        now=timezone.now(),
    )
    round_.refresh_from_db()
    assert round_.bid_deadline == later


def test_while_bidding_is_open_the_demand_window_can_no_longer_change() -> None:
    round_, office = _bidding_round()
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        round_update_timetable(
            round_=round_,
            by=office,
            timetable=_timetable(
                round_, demand_closes_at=round_.demand_closes_at + datetime.timedelta(hours=1)
            ),
        )
    assert excinfo.value.messages == [
        f"Round {round_.code} is Bidding open: demand declaration closes can no longer change."
    ]


def test_a_deadline_in_the_past_is_refused() -> None:
    office = user_of("office")
    round_ = make_round(office=office)
    past = timezone.now() - datetime.timedelta(hours=1)
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        round_update_timetable(
            round_=round_,
            by=office,
            timetable=_timetable(
                round_, demand_opens_at=past - datetime.timedelta(days=1), demand_closes_at=past
            ),
        )
    assert excinfo.value.messages[0].startswith("The new demand declaration closes (")
    assert excinfo.value.messages[0].endswith(") is already past.")


def test_an_out_of_order_timetable_is_shown_next_to_the_field(client: Client) -> None:
    office = user_of("office")
    round_ = make_round(office=office)
    client.force_login(office)
    response = client.post(
        reverse("procurement:round-timetable", args=[round_.code]),
        _form_data(round_, opening_at=round_.bid_deadline - datetime.timedelta(hours=1)),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Must not be before “Bid deadline”." in body
    assert 'class="field-error"' in body


def test_the_form_disables_what_the_state_no_longer_allows(client: Client) -> None:
    round_, office = _bidding_round()
    client.force_login(office)
    body = client.get(reverse("procurement:round", args=[round_.code])).content.decode()
    assert 'name="timetable-demand_closes_at"' in body
    assert body.count("disabled") >= 2  # the two demand-window times


@pytest.mark.parametrize("who", ["hospital", "manufacturer", "other office", "anonymous"])
def test_only_the_rounds_office_can_move_its_timetable(client: Client, who: str) -> None:
    round_ = make_round()
    before = round_.bid_deadline
    if who == "hospital":
        client.force_login(hospital_user())
    elif who == "manufacturer":
        client.force_login(user_of("manufacturer"))
    elif who == "other office":
        client.force_login(user_of("office"))
    response = client.post(
        reverse("procurement:round-timetable", args=[round_.code]),
        _form_data(round_, bid_deadline=before + datetime.timedelta(days=1)),
    )
    expected = {"hospital": 403, "manufacturer": 403, "other office": 404, "anonymous": 302}[who]
    assert response.status_code == expected
    round_.refresh_from_db()
    assert round_.bid_deadline == before

"""Statutory minimum periods as rule-set values, re-checked whenever the timetable changes:
at creation, on the timetable form, and when bidding opens (publication)."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from procurement.models import Round, RuleSet
from procurement.optimiser.kinds import RULE_KINDS, Family, family_of
from procurement.periods import PERIODS, effective_periods, period_days, periods_errors
from procurement.services import (
    round_close_demand,
    round_create,
    round_open_bidding,
    round_update_timetable,
    rule_set_revise,
)
from tests.factories import user_of
from tests.procurement.factories import drug_item, make_round, rule_set

pytestmark = pytest.mark.django_db


def test_every_rule_kind_has_every_period_with_its_source() -> None:
    for kind in RULE_KINDS:
        values = effective_periods(RuleSet(kind=kind, periods={}))
        assert values == {
            "bid_preparation_days": 20,
            "amendment_notice_days": 15,
            "question_cutoff_days": 10,
            "objection_days": 3,
            # A count: national drug rules set none; the general law's 3 elsewhere.
            "min_bidders_per_item": 0 if family_of(kind) == Family.DRUG else 3,
        }
    for period in PERIODS.values():
        assert str(period.source)  # cited on the rule-set page and in the document


def test_a_rule_sets_own_value_wins_and_zero_switches_a_minimum_off() -> None:
    ruleset = RuleSet(kind="national_drug", periods={"bid_preparation_days": 0})
    assert period_days(ruleset, "bid_preparation_days") == 0
    assert period_days(ruleset, "amendment_notice_days") == 15


def test_bad_periods_are_reported_by_path() -> None:
    assert periods_errors(
        {"bid_preparation_days": -1, "nonsense": 3, "question_cutoff_days": True}
    ) == [
        ("$.bid_preparation_days", "must be a whole number of days from 0 to 365"),
        (
            "$.nonsense",
            "unknown period; expected one of bid_preparation_days, "
            "amendment_notice_days, question_cutoff_days, objection_days, min_bidders_per_item",
        ),
        ("$.question_cutoff_days", "must be a whole number of days from 0 to 365"),
    ]
    assert periods_errors([]) == [("$", "must be a JSON object of whole numbers of days")]


def _create(**times: datetime.datetime) -> Round:
    now = timezone.now()
    office = user_of("office")
    timetable = {
        "demand_opens_at": now,
        "demand_closes_at": now + datetime.timedelta(days=7),
        "bid_deadline": now + datetime.timedelta(days=27),
        "opening_at": now + datetime.timedelta(days=27, hours=1),
        "objection_ends_at": now + datetime.timedelta(days=34),
        **times,
    }
    return round_create(
        office=office.organization,  # type: ignore[arg-type]
        code="P-2026-1",
        name="期限测试",
        kind=Round.Kind.DRUGS,
        rule_set=rule_set(),
        regions=[],
        contract_starts_on=(now + datetime.timedelta(days=60)).date(),
        items=[drug_item()],
        now=now,
        **timetable,
    )


def test_a_round_whose_deadline_is_too_close_to_the_close_of_demand_is_refused() -> None:
    now = timezone.now()
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        _create(
            bid_deadline=now + datetime.timedelta(days=20),
            opening_at=now + datetime.timedelta(days=20, hours=1),
        )
    message = excinfo.value.messages[0]
    assert message.startswith("The bid deadline ")
    assert (
        "rule set National drug procurement, batch 4 v1 requires at least 20 days between "
        "publishing" in message
    )
    assert "Tendering and Bidding Law, Art. 24 (at least 20 days)" in message
    # Demand closes in 7 days: the deadline may be 27 days away, from the next minute.
    earliest = (now + datetime.timedelta(days=27, minutes=1)).replace(second=0, microsecond=0)
    assert message.endswith(
        f"Set the bid deadline to {timezone.localtime(earliest):%Y-%m-%d %H:%M} or later."
    )
    assert not Round.objects.exists()
    assert _create().code == "P-2026-1"  # 20 days after the close of demand: accepted


def test_moving_the_deadline_closer_than_the_minimum_is_refused() -> None:
    office = user_of("office")
    round_ = make_round(office=office)
    closer = round_.demand_closes_at + datetime.timedelta(days=19)
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        round_update_timetable(
            round_=round_,
            by=office,
            timetable={"bid_deadline": closer, "opening_at": closer + datetime.timedelta(hours=1)},
        )
    assert (
        "requires at least 20 days between publishing the procurement document"
        in (excinfo.value.messages[0])
    )


def test_opening_bidding_needs_the_minimum_before_the_deadline() -> None:
    office = user_of("office")
    round_ = make_round(office=office, open_demand=True)
    round_close_demand(round_=round_, by=office)
    late = round_.bid_deadline - datetime.timedelta(days=19)  # 19 days left at "late"
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        round_open_bidding(round_=round_, by=office, now=late)
    assert excinfo.value.messages[0].startswith(
        "Bidding cannot open now: rule set National drug procurement, batch 4 v1 requires at "
        "least 20 days between publishing the procurement document, which opening bidding does, "
        "and the bid deadline "
    )
    round_.refresh_from_db()
    assert round_.status == Round.Status.DEMAND_CLOSED
    round_open_bidding(round_=round_, by=office)
    assert round_.status == Round.Status.BIDDING_OPEN


def test_a_rule_set_with_the_minimum_switched_off_allows_a_short_round() -> None:
    ruleset = rule_set()
    rule_set_revise(
        rule_set=ruleset, parameters=ruleset.parameters, periods={"bid_preparation_days": 0}
    )
    now = timezone.now()
    round_ = _create(
        bid_deadline=now + datetime.timedelta(days=8),
        opening_at=now + datetime.timedelta(days=8, hours=1),
    )
    assert round_.rule_set.periods == {"bid_preparation_days": 0}


def test_a_frozen_rule_sets_new_periods_make_a_new_version() -> None:
    office = user_of("office")
    round_ = make_round(office=office, open_demand=True)
    round_close_demand(round_=round_, by=office)
    round_open_bidding(round_=round_, by=office)
    frozen = RuleSet.objects.get(pk=round_.rule_set_id)
    revised = rule_set_revise(
        rule_set=frozen, parameters=frozen.parameters, periods={"amendment_notice_days": 7}
    )
    assert revised.pk != frozen.pk and revised.version == 2
    frozen.refresh_from_db()
    assert frozen.periods == {} and revised.periods == {"amendment_notice_days": 7}


def test_the_rule_set_page_lists_the_periods_and_the_office_edits_them() -> None:
    office = user_of("office")
    ruleset = rule_set()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(office)
    url = reverse("procurement:rule-set", args=[ruleset.pk])
    body = client.get(url).content.decode()
    assert "Days from publication of the procurement document to the bid deadline" in body
    assert "Tendering and Bidding Law, Art. 24 (at least 20 days)" in body
    response = client.post(
        url,
        {
            "parameters": json.dumps(ruleset.parameters),
            "periods": json.dumps({"question_cutoff_days": 12}),
        },
    )
    assert response.status_code == 302
    ruleset.refresh_from_db()
    assert ruleset.periods == {"question_cutoff_days": 12}
    refused = client.post(
        url,
        {"parameters": json.dumps(ruleset.parameters), "periods": '{"question_cutoff_days": -2}'},
    )
    assert refused.status_code == 400
    assert (
        "Rule set parameter periods $.question_cutoff_days: must be a whole number of days "
        "from 0 to 365" in refused.content.decode()
    )

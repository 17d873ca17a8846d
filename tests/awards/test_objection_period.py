"""The objection period (公示期) is a rule-set duration counted from publication: objections
are accepted until it ends, finalizing is refused before it ends (with the end time in
China Standard Time), and the office may extend it but never shorten it."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from awards import services
from awards.models import AuditEntry
from procurement.models import Round, RoundTransition
from procurement.services import round_update_timetable
from tests.awards.factories import OpenedRound, opened_round
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db
CST = datetime.timezone(datetime.timedelta(hours=8))
PUBLISHED = datetime.datetime(2027, 1, 4, 9, 30, tzinfo=CST)  # a Monday morning
ENDS = PUBLISHED + datetime.timedelta(days=3)  # the default: 3 days (实施条例 Art. 54)
SECOND = datetime.timedelta(seconds=1)


def _published(capture, **fields) -> OpenedRound:  # type: ignore[no-untyped-def]
    built = opened_round(objection_days=None, **fields)
    with capture(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office, now=PUBLISHED)
    built.round.refresh_from_db()
    return built


def _object(built: OpenedRound, now: datetime.datetime) -> None:
    services.objection_file(
        round_=built.round,
        round_item_id=built.round_item.pk,
        by=built.makers[3],
        text="The price of the 0.1900 bid is abnormally low.",
        now=now,
    )


def test_the_period_runs_the_rule_sets_days_from_publication(
    django_capture_on_commit_callbacks,
) -> None:
    built = _published(django_capture_on_commit_callbacks)
    # The timetable planned 7 days from now; publication decides: 3 days from publishing.
    assert built.round.status == Round.Status.OBJECTION
    assert built.round.objection_ends_at == ENDS
    assert services.objection_days(built.round) == 3
    entry = AuditEntry.objects.get(round=built.round, action="objection_period_opened")
    assert entry.detail["days"] == 3 and entry.detail["ends_at"] == ENDS.isoformat()


def test_objections_until_the_end_and_finalizing_only_after_it(
    django_capture_on_commit_callbacks,
) -> None:
    built = _published(django_capture_on_commit_callbacks)
    _object(built, ENDS - SECOND)  # just before the end: accepted
    with pytest.raises(ValidationError) as refused:
        _object(built, ENDS)  # at the end: the period is over
    assert "2027-01-07 09:30" in str(refused.value)
    with pytest.raises(ValidationError):
        _object(built, ENDS + SECOND)

    objection = built.round.objections.get()
    services.objection_dismiss(objection=objection, by=built.office, answer="Checked: normal.")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as early:
        services.award_finalize(round_=built.round, by=built.office, now=ENDS - SECOND)
    # The end in China Standard Time (09:30 in Beijing is 01:30 UTC).
    assert "2027-01-07 09:30" in str(early.value)
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.OBJECTION
    services.award_finalize(round_=built.round, by=built.office, now=ENDS)
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.AWARDED


def test_finalizing_just_after_the_end(django_capture_on_commit_callbacks) -> None:
    built = _published(django_capture_on_commit_callbacks)
    services.award_finalize(round_=built.round, by=built.office, now=ENDS + SECOND)
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.AWARDED


def test_a_zero_day_period_is_a_rehearsal(django_capture_on_commit_callbacks) -> None:
    built = opened_round(objection_days=0)
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    services.award_finalize(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.AWARDED


def test_the_office_extends_but_never_shortens(django_capture_on_commit_callbacks) -> None:
    built = _published(django_capture_on_commit_callbacks)
    later = ENDS + datetime.timedelta(days=2)
    services.objection_period_extend(
        round_=built.round,
        by=built.office,
        until=later,
        reason="An objection needs an expert opinion.",
        now=PUBLISHED + datetime.timedelta(days=1),
    )
    built.round.refresh_from_db()
    assert built.round.objection_ends_at == later
    entry = AuditEntry.objects.get(round=built.round, action="objection_period_extended")
    assert entry.detail["reason"] == "An objection needs an expert opinion."
    assert entry.by == built.office
    history = RoundTransition.objects.filter(round=built.round).last()
    assert history is not None and "objection_ends_at" in history.note

    with translation.override("en"), pytest.raises(ValidationError, match="only be extended"):
        services.objection_period_extend(
            round_=built.round, by=built.office, until=ENDS, reason="Shorter.", now=PUBLISHED
        )
    # Nor through the timetable form's service.
    fields = {
        f: getattr(built.round, f)
        for f in (
            "demand_opens_at",
            "demand_closes_at",
            "bid_deadline",
            "opening_at",
            "objection_ends_at",
            "contract_starts_on",
        )
    }
    with translation.override("en"), pytest.raises(ValidationError, match="not shortened"):
        round_update_timetable(
            round_=built.round,
            by=built.office,
            timetable={**fields, "objection_ends_at": ENDS},
            now=PUBLISHED,
        )
    built.round.refresh_from_db()
    assert built.round.objection_ends_at == later
    with pytest.raises(ValidationError):
        services.award_finalize(round_=built.round, by=built.office, now=ENDS + SECOND)


def test_the_finalize_button_says_when(django_capture_on_commit_callbacks) -> None:
    built = opened_round(objection_days=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    client = Client()
    client.login(username=built.office.username, password=TEST_PASSWORD)
    response = client.post(reverse("awards:finalize", args=[built.round.pk]), follow=True)
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.OBJECTION
    when = timezone.localtime(built.round.objection_ends_at).strftime("%Y-%m-%d %H:%M")
    assert when in response.content.decode()
    page = client.get(reverse("awards:round", args=[built.round.pk])).content.decode()
    assert 'name="until"' in page  # the extension form

"""The round page says, at every state, what happens next, who acts, by when (China
Standard Time), and offers the office its own button for the step: after bidding closes
open the bids, after the opening evaluate, after the evaluation publish, during the
objection period what remains, after it finalize."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from awards import services
from procurement.models import Round
from tests.awards.factories import OpenedRound, opened_round
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _page(built: OpenedRound, user=None, language: str = "en") -> str:  # type: ignore[no-untyped-def]
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=(user or built.office).username, password=TEST_PASSWORD)
    response = client.get(reverse("procurement:round", args=[built.round.code]))
    assert response.status_code == 200
    return response.content.decode()


def _card(html: str) -> str:
    start = html.index('id="next-step"')
    return html[start : html.index("</section>", start)]


def _form_to(html: str, url: str) -> bool:
    return f'action="{url}"' in html


def test_after_bidding_closes_the_office_opens_the_bids_from_the_round_page() -> None:
    built = opened_round()
    Round.objects.filter(pk=built.round.pk).update(status=Round.Status.BIDDING_CLOSED)
    card = _card(_page(built))
    assert "What happens next" in card and "open the bids in public" in card
    when = timezone.localtime(built.round.opening_at).strftime("%Y-%m-%d %H:%M")
    assert when in card and "China Standard Time" in card
    assert _form_to(card, reverse("bidding:open", args=[built.round.code]))
    # A manufacturer reads the same step, without the office's button.
    maker = _card(_page(built, built.makers[0]))
    assert "open the bids in public" in maker
    assert not _form_to(maker, reverse("bidding:open", args=[built.round.code]))


def test_after_the_opening_evaluate_then_publish(django_capture_on_commit_callbacks) -> None:
    built = opened_round()
    card = _card(_page(built))
    assert "run the evaluation" in card
    assert _form_to(card, reverse("awards:evaluate", args=[built.round.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    card = _card(_page(built, language="zh-hans"))
    assert "公示拟中选结果" in card or "拟中选" in card
    assert _form_to(card, reverse("awards:objection-period", args=[built.round.pk]))


def test_during_and_after_the_objection_period(django_capture_on_commit_callbacks) -> None:
    built = opened_round(objection_days=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    services.objection_file(
        round_=built.round, round_item_id=built.round_item.pk, by=built.makers[3], text="Too low."
    )
    card = _card(_page(built))
    ends = timezone.localtime(built.round.objection_ends_at).strftime("%Y-%m-%d %H:%M")
    assert ends in card and "may object until" in card
    assert "What remains: 1 objection to answer." in card
    assert not _form_to(card, reverse("awards:finalize", args=[built.round.pk]))

    services.objection_dismiss(
        objection=built.round.objections.get(), by=built.office, answer="No."
    )
    Round.objects.filter(pk=built.round.pk).update(
        objection_ends_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    card = _card(_page(built))
    assert "finalize the award" in card
    assert _form_to(card, reverse("awards:finalize", args=[built.round.pk]))

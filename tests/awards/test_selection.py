"""Province selection: the draft in rank order, turns, what is free, backups, the
platform's assignment of picks left open, and the allocation that results."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification, Organization, Region
from awards import services
from awards.models import EvaluationRun, HospitalAllocation, ProvinceAllocation
from procurement.models import Round
from tests.awards.factories import OpenedRound, opened_round
from tests.factories import TEST_PASSWORD, user_of

pytestmark = pytest.mark.django_db

# Four provinces, three winners (0.1000, 0.1500, 0.1900): draft order 1, 1, 2, 3.
FOUR = (("11", 4000), ("31", 3000), ("44", 2000), ("51", 1000))


def _awarded(capture) -> OpenedRound:
    built = opened_round(demand=FOUR)
    with capture(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    services.award_finalize(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.AWARDED
    return built


def _region(code: str) -> Region:
    return Region.objects.get(code=code)


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def test_winners_choose_in_rank_order_and_the_platform_assigns_the_rest(
    django_capture_on_commit_callbacks,
) -> None:
    built = _awarded(django_capture_on_commit_callbacks)
    first, second, third = built.makers[:3]
    item = built.round_item.pk
    selection = services.selection_open(
        round_=built.round, by=built.office, closes_at=timezone.now() + datetime.timedelta(days=2)
    )
    board = services.draft_board(selection=selection, round_item_id=item)
    assert [p.manufacturer_id for p in board.picks] == [
        first.organization_id,
        first.organization_id,
        second.organization_id,
        third.organization_id,
    ]
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.selection_pick(
            selection=selection, round_item_id=item, by=second, region=_region("11")
        )
    assert exc.value.messages == ["It is not your turn yet."]

    services.selection_pick(selection=selection, round_item_id=item, by=first, region=_region("44"))
    services.selection_pick(selection=selection, round_item_id=item, by=first, region=_region("11"))
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.selection_pick(
            selection=selection, round_item_id=item, by=second, region=_region("11")
        )
    assert exc.value.messages == ["Beijing is not free any more."]
    # The second winner does not choose: its pick goes to the platform.
    services.selection_pick(selection=selection, round_item_id=item, by=second, region=None)
    services.selection_pick(selection=selection, round_item_id=item, by=third, region=_region("31"))
    board = services.draft_board(selection=selection, round_item_id=item)
    assert board.current is None
    assert [r.code for r in board.free] == ["51"]

    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.selection_backups_set(
            selection=selection, round_item_id=item, by=third, regions=[_region("31")]
        )
    assert exc.value.messages == [
        "Shanghai is your own province; a backup must be another winner's."
    ]
    services.selection_backups_set(
        selection=selection, round_item_id=item, by=third, regions=[_region("11")]
    )

    with django_capture_on_commit_callbacks(execute=True):
        run = services.selection_close(selection=selection, by=built.office)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.DONE, run.error
    assert run.is_official and run.is_selection
    owner = {
        a.region.code: (
            a.manufacturer_id,
            a.source,
            a.backup_bid.manufacturer_id if a.backup_bid else None,
        )
        for a in ProvinceAllocation.objects.filter(run=run).select_related("region", "backup_bid")
    }
    assert owner["44"][:2] == (first.organization_id, "winner's preference")
    assert owner["11"] == (first.organization_id, "winner's preference", third.organization_id)
    assert owner["31"][:2] == (third.organization_id, "winner's preference")
    assert owner["51"][:2] == (second.organization_id, "platform assignment (minimum cost)")
    # The hospital allocations follow the provinces (70% of each hospital's demand).
    sichuan = built.hospitals[3].organization_id
    allocation = HospitalAllocation.objects.get(run=run, hospital_id=sichuan)
    assert (allocation.manufacturer_id, allocation.quantity) == (second.organization_id, 700)
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.AWARDED


def test_nobody_choosing_keeps_the_final_allocation(django_capture_on_commit_callbacks) -> None:
    built = _awarded(django_capture_on_commit_callbacks)
    final = EvaluationRun.objects.get(is_official=True)
    services.selection_open(
        round_=built.round, by=built.office, closes_at=timezone.now() + datetime.timedelta(hours=1)
    )
    later = timezone.now() + datetime.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.selection_deadline_check(now=later) == 1
    assert services.selection_deadline_check(now=later) == 0
    run = EvaluationRun.objects.get(is_selection=True)
    assert run.same_as_id == final.pk  # same input: nothing new stored
    assert EvaluationRun.objects.get(is_official=True) == final


def test_selection_page_access_and_picking_from_the_browser(
    django_capture_on_commit_callbacks,
) -> None:
    built = _awarded(django_capture_on_commit_callbacks)
    services.selection_open(
        round_=built.round, by=built.office, closes_at=timezone.now() + datetime.timedelta(days=1)
    )
    url = reverse("awards:selection", args=[built.round.pk])
    assert _client(built.office).get(url).status_code == 200
    assert _client(built.makers[0]).get(url).status_code == 200
    assert _client(built.makers[3]).get(url).status_code == 404  # lost: not a winner
    assert _client(built.hospitals[0]).get(url).status_code == 403
    assert _client(user_of(Organization.Kind.OFFICE)).get(url).status_code == 404
    assert Client().get(url).status_code == 302

    page = _client(built.makers[0]).get(url).content.decode()
    assert "Choose" in page and "Still free" in page
    waiting = _client(built.makers[1]).get(url).content.decode()
    assert "Wait for your turn" in waiting
    response = _client(built.makers[0]).post(
        url, {"round_item": built.round_item.pk, "region": "44"}, follow=True
    )
    assert "You chose Guangdong." in response.content.decode()
    response = _client(built.makers[1]).post(
        url, {"round_item": built.round_item.pk, "region": "11"}, follow=True
    )
    assert "It is not your turn yet." in response.content.decode()
    close = reverse("awards:selection-close", args=[built.round.pk])
    assert _client(built.makers[0]).post(close).status_code == 403


def test_each_winner_is_told_when_it_is_its_turn_and_the_notice_is_done_once_picked(
    django_capture_on_commit_callbacks,
) -> None:
    from accounts.models import Notification

    built = _awarded(django_capture_on_commit_callbacks)
    first, second, third = built.makers[:3]
    item = built.round_item.pk
    selection = services.selection_open(
        round_=built.round, by=built.office, closes_at=timezone.now() + datetime.timedelta(days=2)
    )

    def turns() -> list[tuple[int, str, bool]]:
        return [
            (n.organization_id, n.dedupe_key.rsplit(":", 1)[1], n.done_at is not None)
            for n in Notification.objects.filter(kind=Notification.Kind.SELECTION_TURN).order_by(
                "pk"
            )
        ]

    assert turns() == [(first.organization_id, "0", False)]
    services.selection_pick(selection=selection, round_item_id=item, by=first, region=_region("44"))
    assert turns() == [(first.organization_id, "0", True), (first.organization_id, "1", False)]
    services.selection_pick(selection=selection, round_item_id=item, by=first, region=_region("11"))
    services.selection_pick(selection=selection, round_item_id=item, by=second, region=None)
    assert turns()[-2:] == [
        (second.organization_id, "2", True),
        (third.organization_id, "3", False),
    ]
    services.selection_pick(selection=selection, round_item_id=item, by=third, region=_region("31"))
    assert all(done for _, _, done in turns()) and len(turns()) == 4
    notice = Notification.objects.filter(organization_id=third.organization_id).latest("pk")
    with translation.override("en"):
        assert notice.subject_text.startswith("Your turn to choose a province for ")


def test_the_turn_notice_names_the_item_in_its_readers_language(
    django_capture_on_commit_callbacks, mailoutbox
) -> None:
    """Stored with both names: an English reader (page and e-mail) reads the English name,
    a Chinese reader the registered Chinese one."""
    built = _awarded(django_capture_on_commit_callbacks)
    item = built.round_item.item
    item.name, item.name_en = "阿托伐他汀钙片", "Atorvastatin calcium tablets"
    item.save(update_fields=["name", "name_en"])
    first = built.makers[0]
    first.language, first.email = "en", "tender@maker.example"
    first.save(update_fields=["language", "email"])
    with django_capture_on_commit_callbacks(execute=True):
        services.selection_open(
            round_=built.round,
            by=built.office,
            closes_at=timezone.now() + datetime.timedelta(days=2),
        )
    notice = Notification.objects.get(
        organization_id=first.organization_id, kind=Notification.Kind.SELECTION_TURN
    )
    with translation.override("en"):
        assert "Atorvastatin calcium tablets" in notice.subject_text
        assert "阿托伐他汀钙片" not in notice.body_text
    with translation.override("zh-hans"):
        assert "阿托伐他汀钙片" in notice.subject_text
        assert "Atorvastatin" not in notice.body_text
    mails = [m for m in mailoutbox if m.to == ["tender@maker.example"]]
    assert len(mails) == 1
    assert "Atorvastatin calcium tablets" in mails[0].subject

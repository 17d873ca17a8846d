"""The award pages in the order the work happens: allocations marked provisional until
province selection has finished (and in the objection period), the province draft that
updates itself while picks are pending, and server-side pages of the lists that grow
(objections, runs). The contracts' side is tests/contracts/test_award_order_pages.py."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Region
from awards import services
from awards.models import EvaluationRun, Objection, ProvinceSelection
from tests.awards.factories import OpenedRound, awarded_round, in_objection_period
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

# Four provinces, three winners (0.1000, 0.1500, 0.1900): draft order 1, 1, 2, 3.
FOUR = (("11", 4000), ("31", 3000), ("44", 2000), ("51", 1000))


def _client(user=None, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _htmx(user) -> Client:
    client = _client(user)
    client.defaults["HTTP_HX_REQUEST"] = "true"
    return client


def _awarded(capture, demand=FOUR) -> OpenedRound:
    return awarded_round(capture, demand=demand)


def _open_selection(built: OpenedRound, hours: int = 2) -> ProvinceSelection:
    closes = timezone.now() + datetime.timedelta(hours=hours)
    return services.selection_open(round_=built.round, by=built.office, closes_at=closes)


# --- 1. Provisional allocations ------------------------------------------------------------


def test_allocations_are_provisional_until_province_selection_has_finished(
    django_capture_on_commit_callbacks,
) -> None:
    built = _awarded(django_capture_on_commit_callbacks)
    hospital, maker = built.hospitals[0], built.makers[0]
    mine = reverse("awards:mine")

    for user in (hospital, maker):
        page = _client(user).get(mine).content.decode()
        assert "Provisional until province selection has finished" in page
        section = page.split('id="hospital-allocations"')[1]
        assert "Provisional</span>" in section and "Final</span>" not in section
    zh = _client(hospital, "zh-hans").get(mine).content.decode()
    assert "暂定" in zh
    results = _client().get(reverse("awards:results", args=[built.round.pk])).content
    assert "Provisional until province selection has finished" in results.decode()
    office_page = _client(built.office).get(reverse("awards:round", args=[built.round.pk]))
    assert "Provisional until province selection has finished" in office_page.content.decode()

    selection = _open_selection(built)
    assert "Provisional</span>" in _client(maker).get(mine).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.selection_close(selection=selection, by=built.office)
    for user in (hospital, maker):
        page = _client(user).get(mine).content.decode()
        assert "Provisional" not in page
        assert "Final</span>" in page.split('id="hospital-allocations"')[1]
    results = _client().get(reverse("awards:results", args=[built.round.pk])).content
    assert "Provisional" not in results.decode()


def test_the_allocations_api_says_which_figures_are_provisional(
    django_capture_on_commit_callbacks,
) -> None:
    from rest_framework.test import APIClient

    built = _awarded(django_capture_on_commit_callbacks)
    client = APIClient()
    client.force_authenticate(built.hospitals[0])
    url = reverse("api-allocations")
    assert [a["provisional"] for a in client.get(url).json()["results"]] == [True]
    selection = _open_selection(built)
    with django_capture_on_commit_callbacks(execute=True):
        services.selection_close(selection=selection, by=built.office)
    assert [a["provisional"] for a in client.get(url).json()["results"]] == [False]


def test_proposed_winners_are_provisional_in_the_objection_period(
    django_capture_on_commit_callbacks,
) -> None:
    built = in_objection_period(django_capture_on_commit_callbacks)
    page = _client(built.hospitals[0]).get(reverse("awards:mine")).content.decode()
    assert "Proposed: the winners are published for objections" in page
    assert "Provisional</span>" in page


# --- 2. The province draft updates itself --------------------------------------------------


def test_the_selection_page_polls_only_while_waiting_and_announces_new_picks(
    django_capture_on_commit_callbacks,
) -> None:
    built = _awarded(django_capture_on_commit_callbacks)
    first, second = built.makers[0], built.makers[1]
    item = built.round_item.pk
    selection = _open_selection(built)
    url = reverse("awards:selection", args=[built.round.pk])

    page = _client(second).get(url).content.decode()
    poll = re.search(r'hx-get="([^"]+)" hx-trigger="every 5s"', page)
    assert poll is not None
    poll_url = poll.group(1).replace("&amp;", "&")
    assert 'id="selection-news"' in page and 'aria-live="polite"' in page
    assert f"Wait for your turn: {first.organization.name_en} is choosing pick 1." in page
    waiting = _htmx(second)
    assert waiting.get(poll_url).status_code == 204  # nothing new

    region = Region.objects.get(code="44")
    services.selection_pick(selection=selection, round_item_id=item, by=first, region=region)
    news = waiting.get(poll_url)
    body = news.content.decode()
    assert news.status_code == 200
    assert f'<div id="draft-{item}" hx-swap-oob="true">' in body
    assert f"{built.round_item.item.code}: {first.organization.name_en} chose Guangdong." in body
    assert "it is your turn" not in body  # the first winner picks again
    new_poll = re.search(r'hx-get="([^"]+)"', body)
    assert new_poll is not None and new_poll.group(1) != poll.group(1)

    services.selection_pick(selection=selection, round_item_id=item, by=first, region=None)
    body = waiting.get(new_poll.group(1).replace("&amp;", "&")).content.decode()
    assert "left its remaining picks to the platform" in body
    assert "it is your turn to choose a province" in body
    assert f'id="id_item{item}_region"' in body  # the pick form, ids unique per item

    # Closed by the office: the next poll reloads the page, which then waits for the
    # allocation, and stops polling once it is done.
    services.selection_close(selection=selection, by=built.office)
    closed = waiting.get(poll_url)
    assert closed.status_code == 204 and closed["HX-Refresh"] == "true"
    page = _client(second).get(url).content.decode()
    assert "The platform is assigning the provinces left open" in page
    assert 'hx-trigger="every 5s"' in page
    selection.refresh_from_db()
    services.evaluation_execute(run_id=selection.result_run_id)
    page = _client(second).get(url).content.decode()
    assert "See the allocation" in page and "hx-trigger" not in page


def test_a_poll_with_a_garbled_version_reloads_the_page(
    django_capture_on_commit_callbacks,
) -> None:
    built = _awarded(django_capture_on_commit_callbacks)
    _open_selection(built)
    url = reverse("awards:selection", args=[built.round.pk])
    response = _htmx(built.makers[0]).get(url, {"v": "open|x:y"})
    assert response.status_code == 204 and response["HX-Refresh"] == "true"


# --- 3. Server-side pages ------------------------------------------------------------------


def test_objections_page_by_status(django_capture_on_commit_callbacks) -> None:
    built = in_objection_period(django_capture_on_commit_callbacks)
    maker = built.makers[3]
    run = EvaluationRun.objects.get(round=built.round, is_official=True)
    Objection.objects.bulk_create(
        Objection(
            round=built.round,
            run=run,
            round_item=built.round_item,
            organization=maker.organization,
            filed_by=maker,
            text=f"Objection number {n}",
            status=Objection.Status.OPEN if n < 55 else Objection.Status.DISMISSED,
            answer="" if n < 55 else "Dismissed: the rules were applied as published.",
        )
        for n in range(70)
    )
    url = reverse("awards:objections")
    page = _client(built.office).get(url).content.decode()
    assert "Rows 1–50 of 70" in page
    page = _client(built.office).get(url, {"status": "open", "page": "2"}).content.decode()
    assert "Rows 51–55 of 55" in page and 'href="?status=open&amp;page=1"' in page
    assert "Rows 1–50 of 70" in _client(maker).get(url).content.decode()
    # The award page lists the open ones first, twenty, and links to the round's list.
    page = _client(built.office).get(reverse("awards:round", args=[built.round.pk]))
    html = page.content.decode()
    assert html.count(">Answer</a>") == 20
    assert f'href="{url}?round={built.round.pk}">All 70 objections of this round' in html
    page = _client(built.office).get(url, {"round": built.round.pk, "status": "dismissed"})
    assert "Rows 1–15 of 15" in page.content.decode()
    assert "No objections." in _client(built.makers[0]).get(url).content.decode()


def test_the_award_page_lists_every_run_a_page_at_a_time(
    django_capture_on_commit_callbacks,
) -> None:
    built = _awarded(django_capture_on_commit_callbacks)
    official = EvaluationRun.objects.get(round=built.round, is_official=True)
    EvaluationRun.objects.bulk_create(
        EvaluationRun(
            round=built.round,
            rule_set=official.rule_set,
            rule_set_version=official.rule_set_version,
            is_scenario=True,
            status=EvaluationRun.Status.DONE,
            same_as=official,
        )
        for _ in range(55)
    )
    url = reverse("awards:round", args=[built.round.pk])
    page = _client(built.office).get(url).content.decode()
    assert "Rows 1–50 of 56" in page
    runs = re.findall(r'<a href="/awards/runs/(\d+)/">', page.split("All runs")[1])
    assert len(runs) == 50 and runs == sorted(runs, key=int, reverse=True)
    page = _client(built.office).get(url, {"page": 2}).content.decode()
    assert f'<a href="/awards/runs/{official.pk}/">' in page.split("All runs")[1]

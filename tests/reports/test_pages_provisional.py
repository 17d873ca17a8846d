"""The report pages say when their figures are provisional, by the rule the award pages,
the exports and the OCDS use (``awards.selectors.provisional_rounds``): a drug round
before province selection has finished, a consumables round before its hospitals' choice
run is done, proposed winners in the objection period (the office's page)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from awards.models import EvaluationRun
from procurement.models import Round
from tests.factories import TEST_PASSWORD
from tests.reports.factories import AwardedRound, small_awarded_round
from tests.reports.test_exports_provisional import (
    PROPOSED,
    SELECTION_PENDING,
    finish_province_selection,
)

pytestmark = pytest.mark.django_db

ON_THE_PAGE = "The figures on this page, its charts and its downloads:"
CHOICES_PENDING = (
    "Provisional until the hospitals' choices for the volume of losing products are "
    "applied: the suppliers of that volume may still change."
)


def _page(url: str, user=None, language: str = "en") -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _note(page: str) -> str | None:
    """The text of the page's provisional note, whitespace collapsed; None without one."""
    match = re.search(
        r'<div class="message warning" role="note" id="provisional-note">(.*?)</div>', page, re.S
    )
    if match is None:
        return None
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()).replace("&#x27;", "'")


def _urls(built: AwardedRound) -> list[tuple[str, object]]:
    return [
        (reverse("reports:public-round", args=[built.round.pk]), None),
        (reverse("reports:office-analysis", args=[built.round.pk]), built.office),
    ]


def test_before_province_selection_both_pages_say_the_figures_are_provisional_and_why() -> None:
    built = small_awarded_round(code="R-PG-P1")
    for url, user in _urls(built):
        note = _note(_page(url, user))
        assert note == f"Provisional {ON_THE_PAGE} {SELECTION_PENDING}", url
    index = _page(reverse("reports:public-index"))
    row = re.search(r"<tr><td><a [^>]*>R-PG-P1</a></td>.*?</tr>", index, re.S)
    assert row is not None and "Provisional" in row.group(0)


def test_once_province_selection_has_finished_no_page_says_provisional() -> None:
    built = small_awarded_round(code="R-PG-P2")
    finish_province_selection(built)
    for url, user in _urls(built):
        page = _page(url, user)
        assert _note(page) is None and "Provisional" not in page, url
    index = _page(reverse("reports:public-index"))
    assert "R-PG-P2" in index and "Provisional" not in index


def test_a_consumables_round_is_provisional_until_its_choice_run_is_done() -> None:
    built = small_awarded_round(code="R-PG-P3")
    Round.objects.filter(pk=built.round.pk).update(kind=Round.Kind.CONSUMABLES)
    for url, user in _urls(built):
        assert _note(_page(url, user)) is None, url  # nobody chose: the proposed run is final
    choice = EvaluationRun.objects.create(
        round=built.round,
        rule_set=built.run.rule_set,
        rule_set_version=built.run.rule_set_version,
        is_hospital_choice=True,
        status=EvaluationRun.Status.RUNNING,
    )
    for url, user in _urls(built):
        assert _note(_page(url, user)).endswith(CHOICES_PENDING), url
    EvaluationRun.objects.filter(pk=choice.pk).update(status=EvaluationRun.Status.DONE)
    for url, user in _urls(built):
        assert _note(_page(url, user)) is None, url


def test_in_the_objection_period_the_office_page_says_proposed() -> None:
    built = small_awarded_round(code="R-PG-P4")
    finish_province_selection(built)
    Round.objects.filter(pk=built.round.pk).update(status=Round.Status.OBJECTION)
    page = _page(reverse("reports:office-analysis", args=[built.round.pk]), built.office)
    assert _note(page).endswith(PROPOSED)


def test_the_note_is_in_chinese_for_chinese_readers() -> None:
    built = small_awarded_round(code="R-PG-P5")
    for url, user in _urls(built):
        note = _note(_page(url, user, language="zh-hans"))
        assert note is not None and note.startswith("暂定 本页及其图表和下载文件中的数据："), url
        assert "省份选择完成前为暂定" in note, url

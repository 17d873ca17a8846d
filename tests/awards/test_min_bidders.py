"""A rule-set minimum number of bidders per item, and the evaluation page's warning for
every item below it (issue 14, point 8: hip and lens items went to their only bidder
without a word)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from awards import services
from procurement.models import RuleSet
from procurement.periods import period_days
from tests.awards.factories import opened_round
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_drug_rules_ask_for_no_minimum_and_the_others_for_three() -> None:
    assert period_days(RuleSet(kind="national_drug", periods={}), "min_bidders_per_item") == 0
    assert period_days(RuleSet(kind="consumables_groups", periods={}), "min_bidders_per_item") == 3


def _run_page(capture, minimum: int | None, language: str = "en") -> str:
    built = opened_round()  # 5 bidders on its one item
    if minimum is not None:
        rule_set = built.round.rule_set
        rule_set.periods = {**rule_set.periods, "min_bidders_per_item": minimum}
        rule_set.save(update_fields=["periods"])
    with capture(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=built.office.username, password=TEST_PASSWORD)
    html = client.get(reverse("awards:run", args=[run.pk])).content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_item_below_the_minimum_is_named_on_the_evaluation_page(
    django_capture_on_commit_callbacks,
) -> None:
    page = _run_page(django_capture_on_commit_callbacks, 6)
    assert "Fewer bidders than the rule set's minimum" in page
    assert "The rule set asks for at least 6 bidders per item; these items had fewer." in page
    assert re.search(r"ATOR-T-2026-D1 \S.*?: 5 bidders, \d winners?\.", page)


@pytest.mark.parametrize("minimum", [None, 0, 5])
def test_no_warning_at_or_above_the_minimum_or_without_one(
    django_capture_on_commit_callbacks, minimum: int | None
) -> None:
    page = _run_page(django_capture_on_commit_callbacks, minimum)
    assert "Fewer bidders than the rule set's minimum" not in page


def test_the_warning_in_chinese(django_capture_on_commit_callbacks) -> None:
    page = _run_page(django_capture_on_commit_callbacks, 6, language="zh-hans")
    assert "投标企业数少于规则集的最低要求" in page
    assert "规则集要求每个品种至少 6 家企业投标；以下品种不足。" in page

"""Run messages (warnings, why an optimised award has no solution, the constraints the
comparison relaxes) and rule-set titles on the award pages, in the reader's language."""

from __future__ import annotations

import re
import string

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from awards import services
from awards.forms import ScenarioForm
from awards.models import BidResult, EvaluationRun
from awards.reasons import RUN_MESSAGES, render_message, render_message_part
from awards.services import storing
from procurement.models import RuleSet
from procurement.optimiser import problem_from_dict, solve
from procurement.optimiser.reasons import MESSAGE_CODES, MESSAGE_ENGLISH, message, message_record
from tests.awards.factories import opened_round
from tests.factories import TEST_PASSWORD
from tests.optimiser.test_optimised_award import award_problem

CJK = re.compile(r"[\u4e00-\u9fff]")
FALLBACK = "<the stored English text>"
# Sample values by parameter name, as the optimiser writes them.
SAMPLES: dict[str, object] = {
    "item": "ATOR-T",
    "bid": "B12",
    "supplier": "M3",
    "region": "110000",
    "count": 2,
    "units": 1234567,
    "excess": 1150,
    "capacity": 50,
    "share": "0.3",
    "seconds": "60",
    "items": ["ATOR-T", "CLO-T"],
    "penalty": "1.2345",
    "regions": 3,
    "ratio": "1.8",
    "total": 2000000,
    "variables": 32000,
    "threshold": 10000,
}


def _record(code: str) -> dict:
    names = {n for _, n, _, _ in string.Formatter().parse(MESSAGE_ENGLISH[code]) if n}
    return {**message_record(message(code, **{n: SAMPLES[n] for n in names})), "text": FALLBACK}


def test_every_run_message_code_of_the_optimiser_has_a_message() -> None:
    assert set(RUN_MESSAGES) == MESSAGE_CODES


def test_every_run_message_renders_in_both_languages() -> None:
    for code in MESSAGE_CODES:
        for language in ("en", "zh-hans"):
            with translation.override(language):
                text = render_message(_record(code))
            assert text != FALLBACK, (language, code)
            assert "%(" not in text and "{" not in text, text
            if code != "relaxed_to_count":  # a number in either language
                assert bool(CJK.search(text)) == (language == "zh-hans"), (code, text)


def test_figures_are_grouped_and_shares_are_percentages() -> None:
    record = message_record(message("supplier_share", supplier="M3", share="0.3", units=600000))
    with translation.override("zh-hans"):
        assert render_message(record) == "企业 M3 的中选量不超过全部 600,000 个单位的 30%"
    with translation.override("en"):
        assert render_message(record) == "supplier M3 at most 30% of all 600,000 units"
    shortfall = message_record(
        message("capacity_shortfall", item="X", bid="B1", excess=1150, capacity=50)
    )
    with translation.override("zh-hans"):
        assert render_message(shortfall) == (
            "品种 X：投标 B1 分配量超出其申报产能 50 共 1,150 个单位（产能不足）"
        )


def test_an_unknown_code_an_old_row_or_a_bad_parameter_shows_the_stored_english() -> None:
    with translation.override("zh-hans"):
        assert render_message({"code": "made_up", "params": {}, "text": FALLBACK}) == FALLBACK
        assert render_message("at least 4 winners for item X") == "at least 4 winners for item X"
        assert render_message({"code": "bid_capacity", "params": {}, "text": FALLBACK}) == (
            FALLBACK
        )
        assert render_message_part(None, "bid capacity") == "bid capacity"
        assert render_message_part({"code": "relax_bid_capacity", "params": {}}, "x") == "投标产能"


def test_a_stored_run_keeps_codes_params_and_the_english_text(db) -> None:
    document = award_problem(min_winners_per_item=4)
    result = solve(problem_from_dict(document))
    run = EvaluationRun()
    storing._fill_figures(run, result, {})
    assert run.explanation == [
        {
            "code": "min_winners_for_item",
            "params": {"count": 4, "item": "X"},
            "text": "at least 4 winners for item X",
        }
    ]
    assert run.warnings == []


def _client(user, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


@pytest.mark.django_db
def test_run_and_award_pages_show_messages_and_rule_set_titles_in_the_readers_language(
    django_capture_on_commit_callbacks,
) -> None:
    built = opened_round()
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    run.refresh_from_db()
    lost = BidResult.objects.get(run=run, manufacturer=built.makers[3].organization)
    maker = lost.manufacturer
    bid = f"B{lost.opened_bid_id}"
    shortfall = message("capacity_shortfall", item="ATOR-T", bid=bid, excess=1150, capacity=50)
    conflict = message("min_winners_for_item", count=4, item="ATOR-T")
    share = message("supplier_share", supplier=f"M{maker.pk}", share="0.3", units=14000)
    region = message("supply_region_single_source", units=7000, item="ATOR-T", region="11")
    cost = {
        "constraint": "at least 2 winners per item",
        "constraint_part": message("relax_min_winners", count=2).to_dict(),
        "relaxed_to": "1",
        "relaxed_to_part": message("relaxed_to_count", count=1).to_dict(),
        "cost_without": "100.00",
        "cost_of_constraint": "12.50",
    }
    EvaluationRun.objects.filter(pk=run.pk).update(
        warnings=[message_record(shortfall), "an English warning of an older run"],
        explanation=[message_record(conflict), message_record(share), message_record(region)],
        comparison={**run.comparison, "constraint_costs": [cost]},
    )
    run_url = reverse("awards:run", args=[run.pk])
    award_url = reverse("awards:round", args=[built.round.pk])

    page = _client(built.office, "zh-hans").get(run_url).content.decode()
    # Manufacturers and provinces by name, not by the optimiser's keys.
    assert (
        f"品种 ATOR-T：投标 {maker.name}（{bid}） 分配量超出其申报产能 50 共 1,150 个单位"
        "（产能不足）" in page
    )
    assert "an English warning of an older run" in page
    assert "品种 ATOR-T 至少 4 家中选" in page
    assert f"企业 {maker.name} 的中选量不超过全部 14,000 个单位的 30%" in page
    assert "由一家企业保障品种 ATOR-T 在省份 北京市 的全部 7,000 个单位约定采购量" in page
    english = _client(built.office, "en").get(run_url).content.decode()
    maker_en = maker.name_en or maker.name
    assert (
        f"item ATOR-T: bid {maker_en} ({bid}) is assigned 1,150 units more than its declared"
        in english
    )
    assert "at least 4 winners for item ATOR-T" in english
    assert "in province Beijing from one supplier" in english

    award = _client(built.office, "zh-hans").get(award_url).content.decode()
    assert "“每个品种至少 2 家中选”的成本（放宽为 1）" in award
    # Header, comparison table and all runs: the title, the stable name beside it.
    assert award.count("第四批国家组织药品集中采购 v1") >= 3
    assert '<code class="help">national-drug-batch-4</code>' in award
    # The scenario drop-down: titles too.
    batch7 = "第七批国家组织药品集中采购（抗菌药物） v1 (national-drug-batch-7-antimicrobial)"
    assert batch7 in award
    english = _client(built.office, "en").get(award_url).content.decode()
    assert "Cost of “at least 2 winners per item” (relaxed to 1)" in english
    assert "National drug procurement, batch 4 v1" in english


@pytest.mark.django_db
def test_an_office_rule_set_is_offered_under_its_own_name() -> None:
    built = opened_round()
    own = RuleSet.objects.create(
        name="our own rules",
        version=1,
        kind="national_drug",
        parameters=RuleSet.objects.get(name="national-drug-batch-4", version=1).parameters,
    )
    form = ScenarioForm(round_=built.round)
    with translation.override("en"):
        labels = {value.value: label for value, label in form.fields["rule_set"].choices if value}
    assert labels[own.pk] == "our own rules v1"

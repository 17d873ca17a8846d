"""Bid-result reasons, solver statuses and rule-set labels in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from awards import services
from awards.models import BidResult
from awards.problem import PLATFORM_REASON_CODES
from awards.reasons import (
    ALLOCATION_SOURCE_LABELS,
    SolverStatus,
    allocation_source_label,
    reason_codes,
    render_reason,
    solver_status_label,
)
from bidding.models import OpenedBid
from procurement.models import RuleSet
from procurement.optimiser.model import RunStatus
from procurement.optimiser.presets import KINDS, PRESETS
from procurement.optimiser.reasons import ALLOCATION_SOURCES, REASON_CODES
from procurement.rule_labels import PRESET_TITLES, RuleKind, rule_kind_label, rule_set_title
from tests.awards.factories import opened_round
from tests.factories import TEST_PASSWORD
from tests.optimiser.test_reasons import emitted_outcomes

CJK = re.compile(r"[\u4e00-\u9fff]")
FALLBACK = "<the stored English text>"


def _parts(*parts: tuple[str, dict]) -> list[dict]:
    return [{"code": code, "params": params} for code, params in parts]


def test_every_code_the_optimiser_or_the_platform_can_emit_has_a_message() -> None:
    assert reason_codes() == REASON_CODES | PLATFORM_REASON_CODES


def test_every_reason_the_optimiser_gives_renders_in_both_languages() -> None:
    outcomes = emitted_outcomes()
    assert len(outcomes) > 20
    for outcome in outcomes:
        parts = [p.to_dict() for p in outcome.reason_parts]
        for language in ("en", "zh-hans"):
            with translation.override(language):
                text = render_reason(parts, FALLBACK)
            assert text != FALLBACK, (language, outcome.reason)
            assert "%(" not in text and "{" not in text, text
            assert bool(CJK.search(text)) == (language == "zh-hans"), text


def test_every_platform_reason_renders_in_both_languages() -> None:
    params = {"not_evaluated": {"reasons": ["ciphertext_failed"], "validity": "tampered"}}
    for code in PLATFORM_REASON_CODES:
        for language in ("en", "zh-hans"):
            with translation.override(language):
                text = render_reason(_parts((code, params.get(code, {}))), FALLBACK)
            assert text != FALLBACK and bool(CJK.search(text)) == (language == "zh-hans")


def test_a_lost_bid_reads_naturally_in_chinese_and_english() -> None:
    parts = _parts(
        ("rank", {"rank": 2, "valid_bids": 3, "cap": 2, "bidders": 4}),
        ("ratio_to_lowest_above", {"ratio": "1.98", "lowest": "12345.6", "limit": "1.8"}),
        (
            "tied",
            {"price": "24444.288", "bids": ["B7"], "order": ["tie_break_rank", "bid_id"]},
        ),
    )
    with translation.override("zh-hans"):
        assert render_reason(parts) == (
            "在 3 个有效申报中排名第 2；4 家企业申报，最多 2 家入围；"
            "为最低申报价 12,345.6000 的 1.98 倍，超过 1.8 倍"
            "（与另外 1 个申报同为 24,444.2880，同价时依次按：公布的同价排序、申报编号）"
        )
    with translation.override("en"):
        assert render_reason(parts) == (
            "rank 2 of 3 valid bids; at most 2 winners for 4 bidders; "
            "1.98 times the lowest price 12,345.6000, above the limit of 1.8 times "
            "(tied at 24,444.2880 with 1 other bid; ties ordered by the published tie-break "
            "order, bid number)"
        )


def test_units_are_grouped_and_statuses_labelled_inside_a_reason() -> None:
    awarded = _parts(("optimiser_awarded", {"regions": 3, "units": 1234567, "price": "0.5"}))
    no_award = _parts(("optimiser_no_award", {"status": "infeasible"}))
    with translation.override("zh-hans"):
        assert render_reason(awarded) == (
            "经优化计算中选：3 个省份共 1,234,567 个最小计量单位，单价 0.5000"
        )
        assert render_reason(no_award) == "未中选：优化方案的求解结果为“无可行解：约束条件相互冲突”"
    with translation.override("en"):
        assert render_reason(awarded) == (
            "awarded by the optimiser: 1,234,567 units in 3 province(s) at 0.5000"
        )


def test_not_evaluated_names_the_opening_reasons() -> None:
    parts = _parts(("not_evaluated", {"reasons": ["ciphertext_failed"], "validity": "tampered"}))
    no_reasons = _parts(("not_evaluated", {"reasons": [], "validity": "tampered"}))
    with translation.override("zh-hans"):
        label = str(OpenedBid.Reason.CIPHERTEXT_FAILED.label)
        assert CJK.search(label)
        assert render_reason(parts) == f"未参与评审：{label}"
        assert render_reason(no_reasons) == "未参与评审：被篡改：未通过完整性校验"
    with translation.override("en"):
        assert render_reason(parts) == "not evaluated: Ciphertext failed authentication"


def test_an_unknown_code_falls_back_to_the_stored_english_text() -> None:
    known = ("rank", {"rank": 1, "valid_bids": 1, "cap": 1, "bidders": 1})
    with translation.override("zh-hans"):
        assert render_reason(_parts(known, ("from_a_later_version", {})), FALLBACK) == FALLBACK
        # A known code whose parameters do not fit its message is not guessed at either.
        assert render_reason(_parts(("rank", {"rank": 1})), FALLBACK) == FALLBACK
        assert render_reason(_parts(("above_ceiling", {"price": "x", "ceiling": "1"})), FALLBACK)
        assert render_reason([], FALLBACK) == FALLBACK  # rows written before reason_parts
        assert render_reason(None, FALLBACK) == FALLBACK
        assert render_reason(["not a part"], FALLBACK) == FALLBACK  # type: ignore[list-item]
        assert render_reason(_parts(known), FALLBACK) != FALLBACK


def test_solver_statuses_have_labels_for_every_status_the_optimiser_reports() -> None:
    assert set(SolverStatus.values) == set(RunStatus.__args__)  # type: ignore[attr-defined]
    with translation.override("zh-hans"):
        assert solver_status_label("optimal") == "最优解"
        assert solver_status_label("rule_only") == "按规则直接确定"
        assert solver_status_label("something-new") == "something-new"
    with translation.override("en"):
        assert solver_status_label("feasible") == "Feasible (stopped at the time limit)"


def test_every_allocation_source_has_a_label() -> None:
    assert set(ALLOCATION_SOURCE_LABELS) == ALLOCATION_SOURCES
    with translation.override("zh-hans"):
        assert allocation_source_label("winner's preference") == "中选企业自选"
        assert allocation_source_label("by hand") == "by hand"


def test_rule_kinds_and_ready_made_rule_sets_have_labels() -> None:
    assert set(RuleKind.values) == set(KINDS)
    assert set(PRESET_TITLES) == set(PRESETS)
    with translation.override("zh-hans"):
        assert rule_kind_label("consumables_groups") == "医用耗材 A/B 分组规则"
        assert rule_set_title("national-drug-batch-4") == "第四批国家组织药品集中采购"
        assert rule_set_title("our own rules") == "our own rules"
    with translation.override("en"):
        assert rule_kind_label("renewal") == "Renewal at the previous highest winning price"


def test_the_template_filters_render_a_stored_row_and_an_export_mapping() -> None:
    template = Template(
        "{% load award_reasons %}{{ row|bid_reason }}|{{ mapping|bid_reason }}|"
        "{{ status|solver_status }}|{{ source|allocation_source }}"
    )
    row = BidResult(
        reason="excluded after an upheld objection",
        reason_parts=_parts(("excluded_by_objection", {})),
    )
    mapping = {"reason": "old English", "reason_parts": []}
    context = Context(
        {"row": row, "mapping": mapping, "status": "unknown", "source": "optimised award"}
    )
    with translation.override("zh-hans"):
        assert template.render(context) == (
            "异议成立，已被排除|old English|未知：求解时限内未找到解|优化分配"
        )


# --- pages ----------------------------------------------------------------------------


def _client(user, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


@pytest.mark.django_db
def test_stored_results_carry_codes_and_pages_show_them_in_the_readers_language(
    django_capture_on_commit_callbacks,
) -> None:
    built = opened_round()  # 0.1000, 0.1500, 0.1900, 0.3000 and 0.6000 against 0.5000
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    run.refresh_from_db()
    above = BidResult.objects.get(run=run, manufacturer=built.makers[4].organization)
    assert above.outcome == "invalid"
    assert (
        above.reason == "0.6000 is above the maximum valid bid price 0.5000 of specification 10mg"
    )
    assert above.reason_parts == [
        {
            "code": "above_specification_ceiling",
            "params": {"ceiling": "0.5000", "price": "0.6000", "specification": "10mg"},
        }
    ]
    lost = BidResult.objects.get(run=run, manufacturer=built.makers[3].organization)
    assert [p["code"] for p in lost.reason_parts][:2] == ["rank", "ratio_to_lowest_above"]

    url = reverse("awards:run", args=[run.pk])
    page = _client(built.office, "zh-hans").get(url).content.decode()
    assert "申报单价 0.6000 高于规格 10mg 的最高有效申报价 0.5000" in page
    assert "为最低申报价 0.1000 的 3.00 倍，超过 1.8 倍" in page
    assert "0.6000 is above" not in page and "x the lowest" not in page
    assert run.source_run.solver_status == "optimal"
    assert "<dd>最优解 (<code>" in page
    assert "第四批国家组织药品集中采购 v1" in page
    assert "约定采购量（片）" in page and "单价（元/片）" in page
    assert '<th scope="col" class="num">约定采购量（片）</th>' in page

    english = _client(built.office, "en").get(url).content.decode()
    assert (
        "unit price 0.6000 is above the maximum valid bid price 0.5000 of specification 10mg"
        in english
    )
    assert "Agreed volume (tablet)" in english and "Unit price (yuan/tablet)" in english
    assert "National drug procurement, batch 4 v1" in english


@pytest.mark.django_db
def test_a_manufacturer_reads_why_it_lost_in_chinese_on_its_awards_page(
    django_capture_on_commit_callbacks,
) -> None:
    built = opened_round()
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    loser = built.makers[3]
    page = _client(loser, "zh-hans").get(reverse("awards:mine")).content.decode()
    assert "为最低申报价 0.1000 的 3.00 倍，超过 1.8 倍" in page
    assert '<th scope="col">计量单位</th>' in page and "<td>片</td>" in page
    english = _client(loser, "en").get(reverse("awards:mine")).content.decode()
    assert "3.00 times the lowest price 0.1000, above the limit of 1.8 times" in english


@pytest.mark.django_db
def test_rule_set_pages_label_the_kind_and_the_ready_made_name(office_user) -> None:
    rule_set = RuleSet.objects.get(name="consumables-joints", version=1)
    client = _client(office_user, "zh-hans")
    listing = client.get(reverse("procurement:rule-sets")).content.decode()
    assert "人工关节集中带量采购" in listing and "医用耗材 A/B 分组规则" in listing
    assert "consumables-joints" in listing  # the stable name stays visible
    detail = client.get(reverse("procurement:rule-set", args=[rule_set.pk])).content.decode()
    assert "<h1>人工关节集中带量采购 v1</h1>" in detail
    assert "医用耗材 A/B 分组规则 (<code>consumables_groups</code>)" in detail
    english = _client(office_user, "en").get(reverse("procurement:rule-sets")).content.decode()
    assert (
        "Joint prostheses (consumables)" in english and "Consumables in groups A and B" in english
    )


@pytest.fixture
def office_user(db):
    from accounts.models import Organization
    from procurement.services import rule_set_load_presets
    from tests.factories import user_of

    rule_set_load_presets()
    return user_of(Organization.Kind.OFFICE)

"""The manufacturer's report says why each item it did not win was lost, in the
report's language (the reason parts stored on its bid results)."""

from __future__ import annotations

import subprocess

import pytest

from awards.models import BidResult
from reports import services
from reports.models import ReportDocument
from tests.reports.factories import small_awarded_round

pytestmark = pytest.mark.django_db

SHIYAO = "石药集团欧意药业有限公司"  # 0.3000: lost
PFIZER = "辉瑞制药有限公司"  # 0.6000: above the ceiling


def _squeezed(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return "".join(out.stdout.decode().split())


def _report(built, maker: str, language: str) -> str:
    organization = built.makers[maker].organization
    services.party_reports_generate(
        round_id=built.round.pk,
        kind="manufacturer",
        organization_ids=[organization.pk],
        language=language,
    )
    document = ReportDocument.objects.get(organization=organization, language=language)
    return _squeezed(bytes(document.content))


def test_a_lost_or_invalid_item_carries_its_reason_in_both_languages() -> None:
    built = small_awarded_round(code="R-RSN-1")
    BidResult.objects.filter(run=built.run, manufacturer=built.makers[SHIYAO].organization).update(
        reason="rank 3 of 3 valid bids, cap 2 for 4 bidders",
        reason_parts=[
            {"code": "rank", "params": {"bidders": 4, "cap": 2, "rank": 3, "valid_bids": 3}}
        ],
    )
    BidResult.objects.filter(run=built.run, manufacturer=built.makers[PFIZER].organization).update(
        reason="0.6000 is above the maximum valid bid price 0.5000 of specification 10mg",
        reason_parts=[
            {
                "code": "above_specification_ceiling",
                "params": {"ceiling": "0.5000", "price": "0.6000", "specification": "10mg"},
            }
        ],
    )
    chinese = _report(built, SHIYAO, "zh-hans")
    assert "原因（未中选品种）" in chinese
    assert "在3个有效申报中排名第3；4家企业申报，最多2家入围" in chinese
    english = _report(built, SHIYAO, "en")
    assert "Reason(itemsnotwon)" in english
    assert "rank3of3validbids;atmost2winnersfor4bidders" in english

    invalid = _report(built, PFIZER, "zh-hans")
    assert "申报单价0.6000高于规格10mg的最高有效申报价0.5000" in invalid


def test_a_won_item_has_no_reason_and_an_old_row_shows_its_stored_english() -> None:
    built = small_awarded_round(code="R-RSN-2")
    qilu = built.makers["齐鲁制药有限公司"].organization
    BidResult.objects.filter(run=built.run, manufacturer=qilu).update(
        reason="rank 1 of 3 valid bids", reason_parts=[]
    )
    won = _report(built, "齐鲁制药有限公司", "en")
    assert "Reason(itemsnotwon)" in won and "rank1of3" not in won
    BidResult.objects.filter(run=built.run, manufacturer=built.makers[SHIYAO].organization).update(
        reason="an English reason stored before the codes existed", reason_parts=[]
    )
    old = _report(built, SHIYAO, "zh-hans")
    assert "anEnglishreasonstoredbeforethecodesexisted" in old

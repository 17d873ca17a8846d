"""The award-result PDF as an official announcement (拟中选结果公示 / 中选结果), read back
page by page: document number, preamble, objection period, issuer and seal; and an
opening-record annex that stays legible whatever the length of the names: every price
and receipt hash intact, no two words printed over each other, headers not split."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone, translation

from accounts.models import Organization
from awards.models import AuditEntry
from bidding.models import OpenedBid
from common.money import format_unit_price
from reports import services
from reports.announcement import announcement_number
from tests.pdf_layout import overlapping_words, page_words
from tests.reports.factories import AwardedRound, small_awarded_round

pytestmark = pytest.mark.django_db
LONG_NAME = "华东医药集团股份有限公司（浙江杭州）国际化生产与研发中心第二分厂"
LONG_NAME_EN = "Huadong Medicine Group International Manufacturing and Research Centre Plant No. 2"


def _render(built: AwardedRound, language: str, tmp_path: Path) -> Path:
    pdf = services.award_result_render(round_=built.round, run=built.run, language=language)
    path = tmp_path / f"{built.round.code}-{language}.pdf"
    path.write_bytes(pdf)
    return path


def _pages(path: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")


def _with_long_names(built: AwardedRound) -> None:
    maker = OpenedBid.objects.filter(round_item__round=built.round).first()
    assert maker is not None
    Organization.objects.filter(pk=maker.manufacturer_id).update(
        name=LONG_NAME, name_en=LONG_NAME_EN
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_final_announcement_reads_back_intact(language: str, tmp_path: Path) -> None:
    built = small_awarded_round(code="R-ANN-1")
    _with_long_names(built)
    path = _render(built, language, tmp_path)
    pages = _pages(path)
    text = "\n".join(pages)
    zh = language == "zh-hans"
    number = announcement_number(built.round, proposed=False, serial=0)
    assert number == "R-ANN-1-JG-01" and number in pages[0]
    assert ("中选结果" if zh else "Announcement of the award results") in pages[0]
    assert "拟中选结果公示" not in pages[0] and "proposed winners\n" not in pages[0]
    assert ("异议期" if zh else "Objection period") in pages[0]
    assert ("（盖章）" if zh else "(Seal)") in pages[0]
    with translation.override(language):
        office = built.round.office.display_name
    assert office.replace(" ", "") in "".join(pages[0].split())
    assert ("开标" if zh else "opened in public") in pages[0]

    # The annex: every opened bid's prices and its receipt hash, whole.
    annex = text[text.index("附件：开标记录" if zh else "Annex: opening record") :]
    bids = OpenedBid.objects.filter(round_item__round=built.round)
    assert bids.count() >= 5
    tokens = set(annex.split())
    for bid in bids:
        assert format_unit_price(bid.unit_price) in tokens, bid.unit_price
        assert format_unit_price(bid.unit_comparable_price) in tokens
        # Printed in four lines of 16 hexadecimal digits, in order.
        parts = [bid.receipt_hash[i : i + 16] for i in range(0, 64, 16)]
        assert all(p in tokens for p in parts), bid.receipt_hash
        positions = [annex.index(p) for p in parts]
        assert positions == sorted(positions), bid.receipt_hash
    # Headers are not split inside a word ("Manufactur er").
    assert "Manufactur\n" not in annex and not re.search(r"Manufactur\s+er\b", text)

    # Nothing is printed over anything else, on any page.
    for n, words in enumerate(page_words(path), 1):
        assert not overlapping_words(words), (n, overlapping_words(words)[:5])


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_proposed_winners_announcement(language: str, tmp_path: Path) -> None:
    built = small_awarded_round(code="R-ANN-2", status="objection")
    published = timezone.now()
    AuditEntry.objects.create(
        round=built.round, action="objection_period_opened", by=None, detail={}
    )
    path = _render(built, language, tmp_path)
    first = _pages(path)[0]
    zh = language == "zh-hans"
    assert "R-ANN-2-GS-01" in first
    assert ("拟中选结果公示" if zh else "Announcement of the proposed winners") in first
    ends = timezone.localtime(built.round.objection_ends_at).strftime("%Y-%m-%d %H:%M")
    assert ends in first
    assert timezone.localtime(published).strftime("%Y-%m-%d") in first
    assert f"/awards/rounds/{built.round.pk}/objections/new/" in "".join(first.split())
    for words in page_words(path):
        assert not overlapping_words(words)

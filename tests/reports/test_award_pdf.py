"""The award-result PDF: read back, figures equal the database's, fonts, idempotence."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.db import transaction

from awards.models import ProvinceAllocation
from common.pdf import sha256
from reports import services
from reports.models import ReportDocument
from tests.reports.factories import AwardedRound, large_awarded_round, small_awarded_round

# Every test here reads the database, the module-scoped PDFs too: the marker makes
# pytest-django set up the test database even when only those tests are selected.
pytestmark = pytest.mark.django_db


def _squeezed(path: Path) -> str:
    """The text without any white space (cells wrap names over lines)."""
    return "".join(_text(path, layout=False).split())


def _text(path: Path, *, layout: bool = True) -> str:
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def small(django_db_setup, django_db_blocker, tmp_path_factory) -> tuple[AwardedRound, dict]:
    """The small round's PDFs, rendered once for the module (rows removed afterwards)."""
    # One outer transaction for the module, rolled back at the end; each test's own
    # transaction nests inside it as a savepoint (works the same on SQLite and PostgreSQL).
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            built = small_awarded_round(code="R-PDF-1")
            docs = {
                lang: services.award_result_generate(round_id=built.round.pk, language=lang)
                for lang in ("zh-hans", "en")
            }
            folder = tmp_path_factory.mktemp("award")
            files = {}
            for lang, doc in docs.items():
                assert doc is not None
                path = folder / f"{lang}.pdf"
                path.write_bytes(bytes(doc.content))
                files[lang] = path
            facts = {
                "files": files,
                "docs": {lang: (d.sha256, d.pages, d.pk) for lang, d in docs.items()},
                "allocations": list(
                    ProvinceAllocation.objects.filter(run=built.run).values_list(
                        "unit_price", "quantity"
                    )
                ),
            }
            yield built, facts
        finally:
            transaction.set_rollback(True)


def test_chinese_names_and_prices_read_back(small) -> None:
    _built, facts = small
    text = _text(facts["files"]["zh-hans"])
    squeezed = _squeezed(facts["files"]["zh-hans"])
    for name in (
        "第七批国家组织集中带量采购（测试）",
        "国家组织药品联合采购办公室（测试）",
        "齐鲁制药有限公司",
        "浙江华海药业股份有限公司",
        "阿托伐他汀钙片（齐鲁）",
        "微创医疗器械（上海）有限公司",
        "Firehawk 冠脉雷帕霉素靶向洗脱支架",
        "北京市",
    ):
        assert "".join(name.split()) in squeezed, name
    for unit_price, _quantity in facts["allocations"]:
        assert f"{unit_price:,.4f}" in text
    assert "R-PDF-1" in text


def test_summary_figures_equal_the_hand_computed_ones_in_english(small) -> None:
    _built, facts = small
    text = _text(facts["files"]["en"])
    assert "Announcement of the award results" in text
    assert "Estimated annual savings (yuan)" in text
    assert "1,849,350.00" in text  # 6,850.00 + 1,842,500.00
    assert "1,958,000.00" in text  # amount at reference prices
    assert "108,650.00" in text  # amount at award prices
    assert "94.45%" in text  # volume-weighted cut vs reference (plain mean would be 90.06%)
    assert "74.88%" in text  # volume-weighted cut vs the maximum valid bid price
    assert "90.06%" not in text
    # the charts are SVG with real text (svg.fonttype none), so their labels read back
    for title in (
        "Price before and after, per item",
        "Estimated savings by province",
        "Winner count distribution",
    ):
        assert title in text, title
    # per item: savings and cuts
    assert "1,842,500.00" in text and "6,850.00" in text
    assert "85.63%" in text and "94.49%" in text
    # winner rows: cut of 700 against 2,850 = 75.44%; agreed volume 7,000
    assert "75.44%" in text and "7,000" in text


def test_the_opening_record_lists_every_bid_with_its_receipt_hash(small) -> None:
    built, facts = small
    text = _squeezed(facts["files"]["en"])
    assert "Annex:openingrecord" in text
    for opened in built.opened_bids:
        # Four lines of 16 hexadecimal digits in the cell, in order.
        parts = [opened.receipt_hash[i : i + 16] for i in range(0, 64, 16)]
        positions = [text.index(part) for part in parts]
        assert positions == sorted(positions), opened.receipt_hash
    assert "Abovethemaximumvalidbidprice" in text
    assert "0.6000" in text  # the invalid bid is listed too


def test_the_cjk_font_is_embedded(small) -> None:
    _built, facts = small
    for path in facts["files"].values():
        out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
        lines = out.stdout.splitlines()[2:]
        assert lines
        for line in lines:  # every font (charts included) is the embedded CJK font
            assert "Noto-Sans-CJK-SC" in line, line
            assert " yes yes yes " in line, line  # embedded, subset, unicode map


def test_stored_hash_is_the_hash_of_the_stored_bytes(small) -> None:
    _built, facts = small
    for lang, (digest, pages, _pk) in facts["docs"].items():
        data = facts["files"][lang].read_bytes()
        assert sha256(data) == digest
        assert data.startswith(b"%PDF-")
        assert pages >= 3  # cover, summary and items, annex


def test_page_numbers_and_a4(small) -> None:
    _built, facts = small
    path = facts["files"]["en"]
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "595.276 x 841.89 pts (A4)" in info.stdout or "(A4)" in info.stdout
    pages = [p for p in _text(path).split("\f") if p.strip()]
    assert f"Page 1 / {len(pages)}" in pages[0]


@pytest.mark.django_db
def test_regenerating_unchanged_data_keeps_the_bytes_and_adds_no_row() -> None:
    built = small_awarded_round(code="R-PDF-2")
    first = services.award_result_generate(round_id=built.round.pk, language="en")
    second = services.award_result_generate(round_id=built.round.pk, language="en")
    assert first is not None and second is not None
    assert second.pk == first.pk and second.sha256 == first.sha256
    assert second.generated_at == first.generated_at
    assert ReportDocument.objects.filter(round=built.round).count() == 1


@pytest.mark.django_db
def test_changed_data_replace_the_bytes_and_the_hash() -> None:
    built = small_awarded_round(code="R-PDF-3")
    first = services.award_result_generate(round_id=built.round.pk, language="en")
    built.round.office.name_en = "Renamed procurement office"
    built.round.office.save()
    second = services.award_result_generate(round_id=built.round.pk, language="en")
    assert first is not None and second is not None
    assert second.pk == first.pk and second.sha256 != first.sha256
    assert "Renamed procurement office" in _pdf_text(bytes(second.content))
    assert ReportDocument.objects.filter(round=built.round).count() == 1


def _pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


@pytest.mark.django_db
def test_a_round_not_yet_awarded_is_not_published() -> None:
    built = small_awarded_round(code="R-PDF-4", status="objection")
    assert services.award_result_generate(round_id=built.round.pk, language="en") is None
    assert not ReportDocument.objects.filter(round=built.round).exists()


@pytest.fixture(scope="module")
def large_pdf(django_db_setup, django_db_blocker, tmp_path_factory) -> tuple[Path, int]:
    # Only the rendered file is needed: build, render, and roll the rows back at once.
    with django_db_blocker.unblock(), transaction.atomic():
        built = large_awarded_round(60, code="R-PDF-60")
        doc = services.award_result_generate(round_id=built.round.pk, language="en")
        assert doc is not None
        path = tmp_path_factory.mktemp("large") / "large.pdf"
        path.write_bytes(bytes(doc.content))
        pages = doc.pages
        transaction.set_rollback(True)
    return path, pages


def _pages(path: Path) -> list[str]:
    text = _text(path, layout=False)
    return [" ".join(p.split()) for p in text.split("\f") if p.strip()]


def test_a_60_item_round_repeats_the_table_headers_on_every_page(large_pdf) -> None:
    path, page_count = large_pdf
    pages = _pages(path)
    assert page_count == len(pages) and page_count > 10
    first = next(i for i, p in enumerate(pages) if "Winners by item" in p)
    annex = next(i for i, p in enumerate(pages) if "Annex: opening record" in p)
    assert annex - first >= 5, "the winners tables span several pages"
    assert len(pages) - annex >= 3, "the opening record of 360 bids spans several pages"
    for number, page in enumerate(pages[first:annex], start=first + 1):
        assert "Unit comparable price (yuan)" in page, f"page {number} has no winners header"
        assert "Agreed volume (tablet)" in page, number  # the item's unit of count
    for number, page in enumerate(pages[annex:], start=annex + 1):
        assert "Receipt hash (SHA-256)" in page, f"page {number} has no opening-record header"
        assert f"Page {number} / {len(pages)}" in page
    text = " ".join(pages)
    for i in range(60):
        assert f"D{i:02d}-R-PDF-60" in text


@pytest.mark.django_db
def test_a_winner_with_two_rows_in_one_province_names_it_once() -> None:
    """A hospital's choice for a losing product adds a second allocation row for a winner in
    a province it already supplies; the winners table lists the province once and adds the
    volumes."""
    from reports.selectors import award_result_data

    built = small_awarded_round(code="R-PDF-DUP")
    row = ProvinceAllocation.objects.filter(run=built.run).order_by("pk").first()
    assert row is not None
    before = award_result_data(round_=built.round, run=built.run)
    row.pk = None
    row.quantity = 7
    row.source = "hospital's choice for a losing product"
    row.save()
    after = award_result_data(round_=built.round, run=built.run)

    def winners(data):
        return [w for section in data["sections"] for w in section.winners]

    assert all(len(w.provinces) == len(set(w.provinces)) for w in winners(after))
    assert sum(w.agreed_volume for w in winners(after)) == (
        sum(w.agreed_volume for w in winners(before)) + 7
    )
    assert [w.provinces for w in winners(after)] == [w.provinces for w in winners(before)]

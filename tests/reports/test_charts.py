"""Charts: SVG with text kept as text in the CJK font, deterministic bytes."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation

from reports import charts

ROWS = [
    ("A 阿托伐他汀钙片", Decimal("0.8"), Decimal("0.115")),
    ("B 冠脉支架", Decimal("13000"), Decimal("716.6667")),
]


def test_chinese_labels_stay_text_in_the_cjk_font() -> None:
    svg = charts.price_before_after_svg(ROWS)
    assert svg.startswith("<svg")
    assert "阿托伐他汀钙片" in svg and "冠脉支架" in svg  # text, not glyph paths
    assert "Noto Sans CJK SC" in svg


def test_the_same_data_give_the_same_svg() -> None:
    assert charts.price_before_after_svg(ROWS) == charts.price_before_after_svg(ROWS)
    provinces = [("北京市", Decimal("1234900.00")), ("上海市", Decimal("614450.00"))]
    assert charts.savings_by_province_svg(provinces) == charts.savings_by_province_svg(provinces)


def test_titles_follow_the_language() -> None:
    with translation.override("en"):
        assert "Winner count distribution" in charts.winner_count_svg([(0, 1), (1, 2), (2, 5)])


def test_nothing_to_draw_gives_no_chart() -> None:
    assert charts.price_before_after_svg([]) == ""
    assert charts.savings_by_province_svg([("北京市", None)]) == ""
    assert charts.winner_count_svg([]) == ""


def test_a_chart_label_without_a_glyph_fails_the_pdf(monkeypatch) -> None:
    import pytest

    from common.pdf import MissingGlyphsError
    from reports import services

    svg = charts.price_before_after_svg([("试管 \N{TEST TUBE}", Decimal("2"), Decimal("1"))])
    with pytest.raises(MissingGlyphsError, match=r"U\+1F9EA"):
        services._check_glyphs(svg, "", "")

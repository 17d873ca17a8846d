"""PDF rendering: Chinese text read back, CJK font embedded, headers repeated, bytes stable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.template import Context, Template

from common.pdf import MissingGlyphsError, missing_glyphs, render_pdf, sha256

ROWS = 160


def _document() -> str:
    rows = "".join(
        f"<tr><td>齐安制药股份有限公司 {i}</td><td class='num'>0.{i:04d}</td></tr>"
        for i in range(ROWS)
    )
    return Template(
        "{% extends 'pdf/base.html' %}{% block body %}<h1>阿托伐他汀钙片 中选结果</h1>"
        "<table><thead><tr><th>生产企业</th><th>单价（元）</th></tr></thead><tbody>{{ rows|safe }}"
        "</tbody></table>{% endblock %}"
    ).render(Context({"rows": rows, "LANGUAGE_CODE": "zh-hans"}))


@pytest.fixture(scope="module")
def pdf_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "doc.pdf"
    path.write_bytes(render_pdf(_document()))
    return path


def test_chinese_text_reads_back(pdf_file: Path) -> None:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_file), "-"], capture_output=True, text=True, check=True
    )
    assert "阿托伐他汀钙片 中选结果" in text.stdout
    assert "齐安制药股份有限公司 159" in text.stdout
    assert "0.0159" in text.stdout


def test_the_cjk_font_is_embedded_and_no_other_font_is_used(pdf_file: Path) -> None:
    fonts = subprocess.run(
        ["pdffonts", str(pdf_file)], capture_output=True, text=True, check=True
    ).stdout
    lines = fonts.splitlines()[2:]
    assert lines, fonts
    for line in lines:
        assert "Noto-Sans-CJK-SC" in line, line
        assert " yes yes yes " in line, line  # embedded, subset, unicode map


def test_table_headers_repeat_on_every_page(pdf_file: Path) -> None:
    pages = subprocess.run(
        ["pdftotext", str(pdf_file), "-"], capture_output=True, text=True, check=True
    )
    page_texts = [p for p in pages.stdout.split("\f") if p.strip()]
    assert len(page_texts) >= 3
    for page in page_texts:
        assert "生产企业" in page and "单价（元）" in page
    assert f"1 / {len(page_texts)}" in page_texts[0]


def test_same_html_gives_the_same_bytes() -> None:
    assert sha256(render_pdf(_document())) == sha256(render_pdf(_document()))


def test_a_character_without_a_glyph_fails_the_build() -> None:
    assert missing_glyphs("集采 Jicai 0.10 元") == []
    with pytest.raises(MissingGlyphsError, match=r"U\+1F9EA"):
        render_pdf("<html><body><p>试管 \N{TEST TUBE}</p></body></html>")

"""Bilingual names: English when English is active and there is an English name."""

from __future__ import annotations

from django.utils.translation import override

from common.i18n import in_english, localized


def test_the_english_name_when_english_is_active() -> None:
    with override("en"):
        assert in_english()
        assert localized("阿托伐他汀钙片", "Atorvastatin calcium tablets") == (
            "Atorvastatin calcium tablets"
        )
        assert localized("阿托伐他汀钙片", "") == "阿托伐他汀钙片"  # no English name yet


def test_the_chinese_name_otherwise() -> None:
    with override("zh-hans"):
        assert not in_english()
        assert localized("阿托伐他汀钙片", "Atorvastatin calcium tablets") == "阿托伐他汀钙片"

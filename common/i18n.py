"""The bilingual names every model carries: Chinese always, English when there is one."""

from __future__ import annotations

from django.utils.translation import get_language


def in_english() -> bool:
    """The active language is English (Chinese is the default)."""
    return (get_language() or "").startswith("en")


def localized(chinese: str, english: str) -> str:
    """The name in the active language: the English one when English is active and the
    English name is not blank, the Chinese one otherwise."""
    return english if english and in_english() else chinese

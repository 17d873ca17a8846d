"""The bilingual names every model carries: Chinese always, English when there is one."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language


def in_english() -> bool:
    """The active language is English (Chinese is the default)."""
    return (get_language() or "").startswith("en")


def localized(chinese: str, english: str) -> str:
    """The name in the active language: the English one when English is active and the
    English name is not blank, the Chinese one otherwise."""
    return english if english and in_english() else chinese


def bilingual(chinese: str, english: str) -> dict[str, str]:
    """A stored message parameter (a notice's) carrying both names, so the message is
    read in its reader's language: ``localized_params`` picks one when it is shown."""
    return {"zh": chinese, "en": english}


def localized_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every ``bilingual`` value replaced by its name in the active
    language (the English one when English is active and it is not blank)."""
    return {
        key: localized(value.get("zh", ""), value.get("en", ""))
        if isinstance(value, dict) and set(value) == {"zh", "en"}
        else value
        for key, value in params.items()
    }


@dataclass(frozen=True)
class Names:
    """A registered (Chinese) name and its English rendering.

    ``str()`` is the name in the active language; ``secondary`` is the registered Chinese
    name when English is shown (so an English reader can match it to the registration),
    blank otherwise."""

    chinese: str
    english: str = ""

    def __str__(self) -> str:
        return localized(self.chinese, self.english)

    @property
    def secondary(self) -> str:
        if in_english() and self.english and self.english != self.chinese:
            return self.chinese
        return ""


def display_name(value: object) -> SafeString:
    """HTML: the name in the active language, with the registered Chinese as secondary
    text on English pages (``<span class="secondary" lang="zh-Hans">``)."""
    names = value if isinstance(value, Names) else getattr(value, "names", None)
    if not isinstance(names, Names):
        return conditional_escape(str(value))
    # A number stays on the line of its unit in narrow table cells ("40 mg", "7 tablets").
    shown = _NUMBER_SPACE.sub("\\1\u00a0", str(names))
    if names.secondary:
        return format_html(
            '{} <span class="secondary" lang="zh-Hans">{}</span>', shown, names.secondary
        )
    return conditional_escape(shown)


_NUMBER_SPACE = re.compile(r"(\d) (?=[^\W\d])")


def join_names(names: Iterable[str]) -> str:
    """A list of names joined as the active language does: "、" in Chinese, ", " in English."""
    return (", " if in_english() else "、").join(str(n) for n in names)

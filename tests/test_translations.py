"""Every message in the code and templates has a Simplified Chinese translation.

Messages are extracted from the source into a temporary folder (Django's makemessages,
the same command `make messages` runs) and compared with the committed catalog, so a new
string without a translation fails here rather than showing English to a Chinese user.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polib  # type: ignore[import-untyped]
import pytest
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
SKIP_DIRS = (".git", ".venv", "locale", "static", "staticfiles", "media", "tests", "bench", "docs")
SKIP_DIRS += (
    "scripts",
    "test-artifacts",
    "node_modules",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
)
IGNORE = [".venv/*", "static/*", "tests/*", "bench/*", "scripts/*", "staticfiles/*", "docs/*"]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> polib.POFile:
    # makemessages writes next to the nearest locale folder, so it runs on a copy of the
    # sources: the committed catalog is never touched by the test.
    copy = tmp_path_factory.mktemp("source") / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(*SKIP_DIRS, "*.pyc", "*.png", "*.pdf", "*.sqlite3"),
    )
    (copy / "locale").mkdir()
    cwd = os.getcwd()
    os.chdir(copy)
    try:
        with override_settings(LOCALE_PATHS=[str(copy / "locale")]):
            call_command("makemessages", locale=["zh_Hans"], ignore_patterns=IGNORE, verbosity=0)
    finally:
        os.chdir(cwd)
    return polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))


def test_every_message_in_the_source_has_a_chinese_translation(extracted: polib.POFile) -> None:
    committed = {
        (e.msgctxt, e.msgid): e
        for e in polib.pofile(str(CATALOG / "django.po"))
        if e.translated() and "fuzzy" not in e.flags
    }
    missing = [e.msgid for e in extracted if (e.msgctxt, e.msgid) not in committed]
    assert missing == [], "translate these in locale/zh_Hans (python scripts/i18n.py update)"


def test_the_catalog_has_no_untranslated_or_fuzzy_entries() -> None:
    po = polib.pofile(str(CATALOG / "django.po"))
    assert [e.msgid for e in po if not e.obsolete and not e.translated()] == []
    assert [e.msgid for e in po if "fuzzy" in e.flags] == []


def test_compiled_catalog_matches_the_source() -> None:
    po = polib.pofile(str(CATALOG / "django.po"))
    mo = polib.mofile(str(CATALOG / "django.mo"))
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in mo}
    stale = [
        e.msgid for e in po if e.translated() and compiled.get((e.msgctxt, e.msgid)) != e.msgstr
    ]
    assert stale == [], "run: python scripts/i18n.py update"

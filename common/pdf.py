"""PDF rendering: WeasyPrint from HTML templates, CJK fonts embedded.

A PDF with a missing glyph is a failed build: before rendering, every character of the
document's text is checked against the character map of the CJK font (Noto Sans CJK SC,
Debian package ``fonts-noto-cjk``), and ``MissingGlyphsError`` names what is missing.
Output is deterministic: the same HTML gives the same bytes (no creation date is written),
so a document's SHA-256 identifies its content.

Any app renders its documents here (contracts, award results, party reports).
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

FONT_FAMILY = "Noto Sans CJK SC"
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE)


class MissingGlyphsError(RuntimeError):
    """The document uses characters the embedded font cannot draw."""


class FontNotInstalledError(RuntimeError):
    """The CJK font is not installed (Debian package fonts-noto-cjk)."""


@functools.cache
def font_file() -> Path:
    """Path of the regular CJK font, as fontconfig resolves it."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        raise FontNotInstalledError("fontconfig (fc-match) is not installed")
    found = subprocess.run(  # noqa: S603 - fixed arguments, no user input
        [fc_match, "-f", "%{file}", f"{FONT_FAMILY}:regular"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if "NotoSansCJK" not in found:
        raise FontNotInstalledError(
            f"{FONT_FAMILY} is not installed (fontconfig offers {found!r}); "
            "install the Debian package fonts-noto-cjk"
        )
    return Path(found)


@functools.cache
def _covered_code_points() -> frozenset[int]:
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(font_file()), lazy=True)
    # Face 2 of NotoSansCJK-Regular.ttc is the Simplified Chinese (SC) face.
    faces = [f for f in collection.fonts if "SC" in f["name"].getDebugName(1)] or collection.fonts[
        :1
    ]
    cmap = faces[0].getBestCmap()
    return frozenset(cmap)


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` the CJK font has no glyph for (white space and controls aside)."""
    covered = _covered_code_points()
    missing = {
        ch
        for ch in text
        if ord(ch) not in covered and not ch.isspace() and unicodedata.category(ch)[0] != "C"
    }
    return sorted(missing)


def html_text(document: str) -> str:
    """The visible text of an HTML document (tags, scripts and styles removed, entities decoded)."""
    return html.unescape(_TAGS.sub(" ", document))


def render_pdf(document: str) -> bytes:
    """Render HTML to PDF bytes, refusing documents with characters the font cannot draw."""
    missing = missing_glyphs(html_text(document))
    if missing:
        shown = ", ".join(f"{ch!r} U+{ord(ch):04X}" for ch in missing[:20])
        raise MissingGlyphsError(f"no glyph in {FONT_FAMILY} for: {shown}")
    from weasyprint import HTML

    pdf: bytes = HTML(string=document, base_url=str(settings.BASE_DIR)).write_pdf()
    return pdf


def render_template_pdf(template_name: str, context: dict[str, Any], *, language: str) -> bytes:
    """Render a Django template to PDF in ``language`` (zh-hans or en)."""
    with translation.override(language):
        document = render_to_string(template_name, {**context, "LANGUAGE_CODE": language})
    return render_pdf(document)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

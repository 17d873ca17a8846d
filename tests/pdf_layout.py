"""Reading a PDF's layout back: every word's box on every page (``pdftotext -bbox``), to
check that nothing is printed over anything else and nothing runs off the page."""

from __future__ import annotations

import re
import subprocess
from html import unescape
from pathlib import Path


def page_words(path: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Every word's box on every page (pdftotext -bbox)."""
    html = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = []
    for page in html.split("<page ")[1:]:
        width = float(re.match(r'width="([\d.]+)"', page).group(1))  # type: ignore[union-attr]
        # Nothing runs off the page (a table wider than the text block is cut off).
        edge = [w for w in re.findall(r'xMax="([\d.]+)"', page) if float(w) > width - 20]
        assert not edge, f"{len(edge)} words reach the right edge of the page"
        pages.append(
            [
                (float(a), float(b), float(c), float(d), unescape(w))
                for a, b, c, d, w in re.findall(
                    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                    r"([^<]*)</word>",
                    page,
                )
            ]
        )
    return pages


def overlapping_words(words: list[tuple[float, float, float, float, str]]) -> list[tuple[str, str]]:
    """Pairs of words whose boxes overlap by more than a hair (printed over each other)."""
    found = []
    for i, (x0, y0, x1, y1, w) in enumerate(words):
        for a0, b0, a1, b1, v in words[i + 1 :]:
            dx = min(x1, a1) - max(x0, a0)
            dy = min(y1, b1) - max(y0, b0)
            if dx > 0.8 and dy > 0.8:
                found.append((w, v))
    return found

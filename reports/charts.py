"""Charts as SVG text (matplotlib, Agg backend), for pages and for embedding in PDFs.

Text stays text (``svg.fonttype: none``) in the CJK font, so Chinese labels render in the
browser and in WeasyPrint, and the PDF's glyph check sees them. Output is deterministic
(fixed hash salt, no date) so a PDF that embeds a chart keeps the same bytes for the same
data. Floats appear here only as bar lengths: the numbers printed anywhere come from the
Decimal tables, never from a chart.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from common.pdf import FONT_FAMILY

# Typed loosely: matplotlib types rcParams keys as a Literal of every setting name.
STYLE: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "jicai-reports",
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY, "DejaVu Sans"],
    "font.size": 8,
    "axes.unicode_minus": False,
}
BEFORE = "#9aa5b1"
AFTER = "#1f6f43"


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    # Drop the XML prolog and DOCTYPE so the SVG can sit inline in HTML.
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def price_before_after_svg(
    items: Sequence[tuple[str, Decimal | None, Decimal | None]], *, title: str = ""
) -> str:
    """Horizontal bars per item (label, price before, price after), volume-weighted.

    Log scale because items differ by orders of magnitude (a tablet at 0.1 yuan, a stent
    at 700).
    """
    from django.utils.translation import gettext as _

    rows = [(label, b, a) for label, b, a in items if a is not None]
    if not rows:
        return ""
    with plt.rc_context(STYLE):
        height = 1.2 + 0.28 * len(rows)
        fig, ax = plt.subplots(figsize=(6.8, height))
        ys = list(range(len(rows)))
        before = [float(b) if isinstance(b, Decimal) else 0.0 for _, b, _a in rows]
        after = [float(a) for _, _b, a in rows]
        ax.barh([y - 0.2 for y in ys], before, height=0.4, color=BEFORE, label=_("Price before"))
        ax.barh([y + 0.2 for y in ys], after, height=0.4, color=AFTER, label=_("Price after"))
        ax.set_yticks(ys, [label for label, _b, _a in rows])
        ax.invert_yaxis()
        if all(v > 0 for v in after):
            ax.set_xscale("log")
        ax.set_xlabel(_("Yuan per unit (log scale)"))
        ax.set_title(title or _("Price before and after, per item"))
        ax.legend(loc="lower right")
        return _svg(fig)


def savings_by_province_svg(rows: Sequence[tuple[str, Decimal | None]]) -> str:
    """Vertical bars: estimated savings (yuan) per province."""
    from django.utils.translation import gettext as _

    data = [(name, value) for name, value in rows if value is not None]
    if not data:
        return ""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.8, 3.2))
        ax.bar(range(len(data)), [float(v) for _, v in data], color=AFTER)
        ax.set_xticks(range(len(data)), [name for name, _ in data], rotation=60, ha="right")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.set_ylabel(_("Estimated savings (yuan)"))
        ax.set_title(_("Estimated savings by province"))
        return _svg(fig)


def winner_count_svg(rows: Sequence[tuple[int, int]]) -> str:
    """Vertical bars: number of items by number of winners."""
    from django.utils.translation import gettext as _

    if not rows:
        return ""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.5, 2.8))
        ax.bar([w for w, _ in rows], [n for _, n in rows], color=AFTER)
        ax.set_xticks([w for w, _ in rows])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(_("Winners per item"))
        ax.set_ylabel(_("Items"))
        ax.set_title(_("Winner count distribution"))
        return _svg(fig)

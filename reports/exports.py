"""Spreadsheet exports (.xlsx): every table of the analysis, the same numbers as the pages.

Figures that may still change are marked as the award pages mark them
(``awards.selectors.provisional_rounds``: proposed winners in the objection period, or
a drug round's provinces before province selection has finished): the summary says
"Provisional" and why, and every row of every table carries a "Figures" column
(Provisional / Final), so a sheet copied on its own still says so.

Money and prices are written as exact decimals (openpyxl stores a ``Decimal`` as its
decimal text, never through a float) with number formats for display; headers carry the
units. Labels are message ids, translated in the active language.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pandas as pd
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from common.spreadsheets import workbook_bytes
from reports.selectors import Analysis

MONEY_FORMAT = "#,##0.00"
PRICE_FORMAT = "#,##0.0000"
PERCENT_FORMAT = "0.00"
COUNT_FORMAT = "#,##0"

# column -> (header with unit, number format)
COLUMNS: dict[str, tuple[Any, str | None]] = {
    "item_code": (_("Item code"), None),
    "item_name": (_("Item"), None),
    "unit": (_("Unit of count"), None),
    "region": (_("Province"), None),
    "hospital": (_("Hospital"), None),
    "manufacturer": (_("Manufacturer"), None),
    "winners": (_("Winners (count)"), COUNT_FORMAT),
    "quantity": (_("Agreed volume (units)"), COUNT_FORMAT),
    "price_before": (_("Price before (yuan/unit)"), PRICE_FORMAT),
    "price_after": (_("Price after (yuan/unit)"), PRICE_FORMAT),
    "cut_vs_reference_pct": (_("Cut vs reference price (%)"), PERCENT_FORMAT),
    "cut_vs_ceiling_pct": (_("Cut vs max. price (%)"), PERCENT_FORMAT),
    "amount_before": (_("Amount before (yuan)"), MONEY_FORMAT),
    "amount_after": (_("Amount after (yuan)"), MONEY_FORMAT),
    "savings": (_("Estimated savings (yuan)"), MONEY_FORMAT),
    "items": (_("Items (count)"), COUNT_FORMAT),
    "figures": (_("Figures"), None),
}

SHEETS: tuple[tuple[str, Any], ...] = (
    ("items", _("By item")),
    ("provinces", _("By province")),
    ("manufacturers", _("By manufacturer")),
    ("hospitals", _("By hospital")),
    ("winner_counts", _("Winner count distribution")),
)


def _cell(value: object) -> object:
    """A cell value: exact decimals and Python ints (numpy integers converted), None empty."""
    if value is None or isinstance(value, int | Decimal | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return int(value)  # type: ignore[call-overload]


def _status(provisional: str) -> str:
    return str(_("Provisional") if provisional else _("Final"))


def _write(ws: Any, frame: pd.DataFrame, status: str) -> None:
    columns = [*frame.columns, "figures"]
    ws.append([str(COLUMNS[c][0]) if c in COLUMNS else c for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for record in frame.itertuples(index=False):
        ws.append([*(_cell(v) for v in record), status])
    for index, column in enumerate(columns, start=1):
        number_format = COLUMNS.get(column, (None, None))[1]
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = max(12, len(str(ws.cell(1, index).value)) + 2)
        if number_format:
            for row in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                row[0].number_format = number_format
    ws.freeze_panes = "A2"


def analysis_workbook(
    *, analysis: Analysis, facts: Mapping[str, object], provisional: str = ""
) -> bytes:
    """The analysis as an .xlsx document: a summary sheet, then one sheet per table.

    ``provisional`` is why the figures may still change (``provisional_rounds``), empty
    when they are final."""
    wb = Workbook()
    summary = wb.active
    summary.title = str(_("Summary"))[:31]
    for label, value in facts.items():
        summary.append([label, _cell(value)])
    status = _status(provisional)
    summary.append([str(_("Figures")), status])
    if provisional:
        summary.append([str(_("Why provisional")), provisional])
        summary.cell(summary.max_row - 1, 2).font = Font(bold=True)
    for key in (
        "quantity",
        "cut_vs_ceiling_pct",
        "cut_vs_reference_pct",
        "amount_before",
        "amount_after",
        "savings",
    ):
        label, number_format = COLUMNS[key]
        summary.append([str(label), _cell(analysis.totals.get(key))])
        if number_format:
            summary.cell(summary.max_row, 2).number_format = number_format
    summary.column_dimensions["A"].width = 40
    summary.column_dimensions["B"].width = 24
    for attribute, title in SHEETS:
        frame = getattr(analysis, attribute)
        if frame is None:
            continue
        _write(wb.create_sheet(str(title)[:31]), frame, status)
    return workbook_bytes(wb)

"""The bid sheet as a spreadsheet: the round's template (one row per line of the
manufacturer's sheet) and reading a filled one back into the sheet's own form data.

The file never reaches the database: it is read in the request, and what it holds goes
through the web sheet's review page (every line shown, carried in the page's hidden
fields) to the same sealing service (``bid_sheet_submit``), which seals every line or
none. A row-numbered error stops the upload before anything is shown for sealing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from django.utils.translation import gettext as _

from bidding.forms import BidSheet
from bidding.selectors import SheetItem, SheetRow
from common.spreadsheets import (
    ROW,
    Column,
    ColumnKind,
    RowError,
    read_spreadsheet,
    sort_errors,
    unneutralise_text,
)

# A sheet has one row per specification (drugs) or own product (consumables); a national
# round is ~60 items of a few specifications each.
MAX_ROWS = 2_000
MAX_BYTES = 2 * 1024 * 1024

ITEM = Column("item_code", ("品种编码", "item code"), ColumnKind.CODE)
SPECIFICATION = Column("specification_code", ("规格编码", "specification code"), ColumnKind.CODE)
PRODUCT = Column(
    "product", ("产品批准文号", "product approval number"), allow_blank=True, required=False
)
PRICE = Column("unit_price", ("单价", "unit price"), allow_blank=True)  # yuan per unit
CAPACITY = Column("annual_capacity", ("年供应能力", "annual capacity"), allow_blank=True)
COLUMNS = (ITEM, SPECIFICATION, PRODUCT, PRICE, CAPACITY)
# Shown in the template for the bidder's information; not read back.
INFORMATION = {
    "item_name": "品种名称 (item name)",
    "specification": "规格 (specification)",
    "unit": "最小单位 (unit)",
    "ceiling": "最高有效申报价 (maximum valid bid price)",
}


def template_rows(items: list[SheetItem]) -> pd.DataFrame:
    """The template: one row per line of the sheet, with the product filled in where the
    manufacturer has one eligible product for it; price and capacity left to fill."""
    rows = []
    for item in items:
        for row in item.rows:
            product = row.fixed_product or (row.products[0] if len(row.products) == 1 else None)
            rows.append(
                {
                    ITEM.display_header: row.round_item.item.code,
                    INFORMATION["item_name"]: row.round_item.item.display_name,
                    SPECIFICATION.display_header: row.ceiling.specification.code,
                    INFORMATION["specification"]: row.ceiling.specification.label,
                    INFORMATION["unit"]: row.round_item.item.display_unit,
                    INFORMATION["ceiling"]: f"{row.ceiling.max_valid_bid_price:.4f}",
                    PRODUCT.display_header: product.approval_number if product else "",
                    PRICE.display_header: "",
                    CAPACITY.display_header: "",
                }
            )
    return pd.DataFrame(rows)


@dataclass
class Upload:
    """What a filled template says, as the web sheet's form data, and its errors."""

    data: dict[str, str] = field(default_factory=dict)
    row_of: dict[str, int] = field(default_factory=dict)  # sheet row key -> file row
    errors: list[RowError] = field(default_factory=list)


def _match(items: list[SheetItem], item: str, spec: str, product: str) -> SheetRow | None:
    for sheet_item in items:
        for row in sheet_item.rows:
            if row.round_item.item.code.upper() != item:
                continue
            if row.ceiling.specification.code.upper() != spec:
                continue
            if row.fixed_product is not None and row.fixed_product.approval_number != product:
                continue
            return row
    return None


def upload_read(items: list[SheetItem], *, data: bytes, filename: str) -> Upload:
    """The filled template as form data for ``BidSheet.build``; a row left without price
    and capacity is not part of the submission. Raises ``SpreadsheetRefused`` for a file
    that cannot be read at all."""
    sheet = read_spreadsheet(
        data,
        filename=filename,
        columns=COLUMNS,
        max_bytes=MAX_BYTES,
        unique_by=("item_code", "specification_code", "product"),
        max_rows=MAX_ROWS,
    )
    upload = Upload(errors=list(sheet.errors))
    frame = sheet.frame
    for record in frame.to_dict("records"):
        row_number = int(record[ROW])
        price = str(record.get("unit_price") or "").strip()
        capacity = str(record.get("annual_capacity") or "").strip()
        product_text = unneutralise_text(str(record.get("product") or "").strip())
        if not price and not capacity:
            continue
        row = _match(
            items,
            str(record.get("item_code") or ""),
            str(record.get("specification_code") or ""),
            product_text,
        )
        if row is None:
            upload.errors.append(RowError(row_number, ITEM.display_header, _not_on_sheet()))
            continue
        if row.key in upload.row_of:
            continue  # a duplicate row: reported by read_spreadsheet
        product = next((p for p in row.products if p.approval_number == product_text), None)
        if product is None and not product_text and len(row.products) == 1:
            product = row.products[0]
        if product is None:
            message = (
                _no_such_product(product_text)
                if row.products
                else _("You have no eligible product registered for this specification.")
            )
            upload.errors.append(RowError(row_number, PRODUCT.display_header, message))
            continue
        upload.row_of[row.key] = row_number
        upload.data[f"{row.key}-product"] = str(product.pk)
        upload.data[f"{row.key}-unit_price"] = price
        upload.data[f"{row.key}-annual_capacity"] = capacity
    upload.errors = sort_errors(upload.errors)
    return upload


def _not_on_sheet() -> str:
    return _("this item and specification (and product) are not on your bid sheet.")


def _no_such_product(text: str) -> str:
    if not text:
        return _("give the approval number of the product you bid.")
    return _("%(number)s is not one of your eligible products for this specification.") % {
        "number": text
    }


def form_errors(sheet: BidSheet, upload: Upload) -> list[str]:
    """The sheet's own checks (ceiling, eligibility, capacity...) on the uploaded rows, by
    the file's row number."""
    errors = []
    for key, form in sheet.forms.items():
        row = upload.row_of.get(key)
        for name, messages in form.errors.items():
            column = {
                "product": PRODUCT.display_header,
                "unit_price": PRICE.display_header,
                "annual_capacity": CAPACITY.display_header,
            }.get(name, "")
            errors += [RowError(row, column, str(m)) for m in messages]
    return [str(e) for e in sort_errors(errors)]

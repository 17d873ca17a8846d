"""Ceilings (maximum valid bid prices, per specification) and reference prices: by form,
or from a spreadsheet (preview, then all rows or none)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import Specification
from common.spreadsheets import ROW, Column, ColumnKind, RowError
from common.uploads import (
    MAX_ROWS_IN_REQUEST,
    ImportOutcome,
    action_for,
    outcome_commit,
    outcome_of,
    run_reader,
)
from procurement.models import Ceiling, Round, RoundItem
from procurement.services.lifecycle import round_require_editable

CEILING_COLUMNS = [
    Column("item_code", ("品种编码", "item code"), kind=ColumnKind.CODE),
    Column("specification_code", ("规格编码", "specification code"), kind=ColumnKind.CODE),
    Column(
        "max_valid_bid_price",
        ("最高有效申报价", "maximum valid bid price", "ceiling"),
        kind=ColumnKind.DECIMAL,
    ),
    Column(
        "reference_price",
        ("参考价", "reference price"),
        kind=ColumnKind.DECIMAL,
        required=False,
        allow_blank=True,
    ),
]


def ceiling_import(
    *, round_: Round, data: bytes, filename: str, max_bytes: int, commit: bool
) -> ImportOutcome:
    """Maximum valid bid prices (and reference prices) per item and specification.

    Concurrency: the commit locks the round row (``select_for_update``) and checks it is
    still editable, so it cannot interleave with opening bidding (which needs every
    ceiling and freezes them).
    """
    sheet = run_reader(
        data=data,
        filename=filename,
        columns=CEILING_COLUMNS,
        max_bytes=max_bytes,
        unique_by=("item_code", "specification_code"),
        max_rows=MAX_ROWS_IN_REQUEST,
    )
    if isinstance(sheet, str):
        return ImportOutcome.refused(sheet)
    round_require_editable(round_)
    round_items = {
        ri.item.code: ri
        for ri in round_.items.select_related("item").prefetch_related(
            "item__specifications", "ceilings"
        )
    }
    outcome, resolved = outcome_of(
        sheet,
        lambda record: _ceiling_row(
            record, label=sheet.column_label, round_=round_, round_items=round_items
        ),
        describe=lambda r: (
            f"{r['round_item'].item.code} {r['specification'].label}: {r['price']:,.4f}"
        ),
        valid_only=True,
    )
    if commit and outcome.ok:
        with transaction.atomic():
            round_require_editable(Round.objects.select_for_update().get(pk=round_.pk))
            outcome_commit(
                outcome,
                resolved,
                write=lambda r: round_item_set_prices(
                    round_item=r["round_item"],
                    ceilings={r["specification"]: r["price"]},
                    reference_price=r["reference"],
                ),
            )
    return outcome


def _ceiling_row(
    record: dict[str, Any],
    *,
    label: Any,
    round_: Round,
    round_items: dict[str, RoundItem],
) -> tuple[dict[str, Any], list[RowError]]:
    """One row resolved to its round item and specification, with its action; or its error."""
    row = int(record[ROW])
    round_item = round_items.get(record["item_code"])
    if round_item is None:
        message = _("item code “%(code)s” is not in round %(round)s.") % {
            "code": record["item_code"],
            "round": round_.code,
        }
        return {}, [RowError(row, label("item_code"), message)]
    specification = next(
        (s for s in round_item.item.specifications.all() if s.code == record["specification_code"]),
        None,
    )
    if specification is None:
        message = _("“%(spec)s” is not a specification of item %(item)s.") % {
            "spec": record["specification_code"],
            "item": round_item.item.code,
        }
        return {}, [RowError(row, label("specification_code"), message)]
    current = next(
        (c for c in round_item.ceilings.all() if c.specification_id == specification.pk), None
    )
    price = record["max_valid_bid_price"]
    reference = record.get("reference_price")
    differs = current is not None and (
        current.max_valid_bid_price != price
        or (reference is not None and round_item.reference_price != reference)
    )
    action = action_for(current, differs=differs)
    return {
        ROW: row,
        "action": action,
        "round_item": round_item,
        "specification": specification,
        "price": price,
        "reference": reference,
    }, []


@transaction.atomic
def round_item_set_prices(
    *,
    round_item: RoundItem,
    ceilings: dict[Specification, Decimal],
    reference_price: Decimal | None = None,
) -> None:
    """Set maximum valid bid prices (per specification) and the reference price.

    Refused once the procurement document is published (``round_require_editable``).
    """
    round_require_editable(round_item.round)
    round_item_write_prices(
        round_item=round_item, ceilings=ceilings, reference_price=reference_price
    )


def round_item_write_prices(
    *,
    round_item: RoundItem,
    ceilings: dict[Specification, Decimal],
    reference_price: Decimal | None = None,
) -> None:
    """Write ceilings and the reference price without the state guard: for
    ``round_item_set_prices`` and for the amendment service (``tender``), which holds the
    round's lock and publishes the change as a numbered amendment."""
    for specification, price in ceilings.items():
        if specification.item_id != round_item.item_id:
            raise ValidationError(
                _("Specification %(spec)s does not belong to item %(item)s.")
                % {"spec": specification.code, "item": round_item.item.code}
            )
        if price <= 0 or price != price.quantize(Decimal("0.0001")):
            raise ValidationError(
                _(
                    "The maximum valid bid price must be positive, with at most 4 decimal "
                    "places: %(price)s."
                )
                % {"price": price}
            )
        Ceiling.objects.update_or_create(
            round_item=round_item,
            specification=specification,
            defaults={"max_valid_bid_price": price},
        )
    if reference_price is not None:
        if reference_price < 0:
            raise ValidationError(_("The reference price cannot be negative."))
        round_item.reference_price = reference_price
        round_item.save(update_fields=["reference_price"])


@transaction.atomic
def round_prices_set(
    *,
    round_: Round,
    prices: dict[RoundItem, tuple[Decimal | None, dict[Specification, Decimal]]],
) -> None:
    """Set reference prices and ceilings of several round items at once (all or none).

    Concurrency: locks the round row first, like ``ceiling_import``.
    """
    locked = Round.objects.select_for_update().get(pk=round_.pk)
    round_require_editable(locked)
    for round_item, (reference, ceilings) in prices.items():
        round_item_set_prices(round_item=round_item, ceilings=ceilings, reference_price=reference)

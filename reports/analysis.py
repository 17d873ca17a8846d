"""Price-cut analysis: pure pandas, no Django (DataFrames in, DataFrames out).

Money never becomes a float: prices and amounts are ``Decimal`` in object-dtype columns,
quantities are Python ``int``. Every figure is a volume-weighted ratio of exact sums, so a
group's figure is its rows' totals, never an average of averages.

Input: one row per allocation (item x province x winner, or item x hospital x winner):

=================  ==========================================================
column             meaning
=================  ==========================================================
item_code          procurement item code
item_name          item name (display)
unit               unit of count (display)
region             province name (display)
hospital           hospital name (display; only for the hospital table)
manufacturer       winning manufacturer name (display)
quantity           agreed volume in units of count (int)
award_price        award price per unit of count (Decimal)
reference_price    pre-procurement reference price per unit (Decimal or None)
ceiling            maximum valid bid price per unit (Decimal)
=================  ==========================================================

Definitions (docs/reports.md):

* amount after = sum(quantity x award_price)
* amount before = sum(quantity x reference_price), over rows with a reference price
* price before = amount before / quantity with a reference price (volume-weighted)
* price after = amount after / quantity (volume-weighted)
* cut vs reference (%) = (amount before - amount after of the same rows) / amount before x 100
* cut vs ceiling (%) = (sum(q x ceiling) - amount after) / sum(q x ceiling) x 100
* estimated savings = sum(quantity x (reference_price - award_price))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import pandas as pd

from common.money import round_fen, round_percent, round_price

ZERO = Decimal(0)

INPUT_COLUMNS = (
    "item_code",
    "item_name",
    "unit",
    "region",
    "hospital",
    "manufacturer",
    "quantity",
    "award_price",
    "reference_price",
    "ceiling",
)

# Output columns of every grouped table, after the group keys.
FIGURE_COLUMNS = (
    "winners",
    "quantity",
    "price_before",
    "price_after",
    "cut_vs_reference_pct",
    "cut_vs_ceiling_pct",
    "amount_before",
    "amount_after",
    "savings",
)


money = round_fen  # amounts: to the fen, half up (common.money)
price = round_price  # average unit prices: to 4 places, half up


def percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator == 0:
        return None
    return round_percent(numerator / denominator * 100)


def _dsum(values: Iterable[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), ZERO)


def allocations_frame(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """A DataFrame of allocation rows with the input columns (missing ones empty)."""
    frame = pd.DataFrame(list(rows), columns=list(INPUT_COLUMNS), dtype=object)
    return frame


def _with_amounts(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    q = [int(v) for v in out["quantity"]]
    out["amount_after"] = [Decimal(n) * p for n, p in zip(q, out["award_price"], strict=True)]
    out["amount_ceiling"] = [Decimal(n) * c for n, c in zip(q, out["ceiling"], strict=True)]
    has_ref = [r is not None and not pd.isna(r) for r in out["reference_price"]]
    out["has_reference"] = has_ref
    out["amount_before"] = [
        Decimal(n) * r if h else None
        for n, r, h in zip(q, out["reference_price"], has_ref, strict=True)
    ]
    out["amount_after_ref"] = [
        a if h else None for a, h in zip(out["amount_after"], has_ref, strict=True)
    ]
    out["quantity_ref"] = [n if h else 0 for n, h in zip(q, has_ref, strict=True)]
    out["quantity"] = q
    return out


def _figures(group: pd.DataFrame) -> dict[str, object]:
    quantity = int(sum(group["quantity"]))
    quantity_ref = int(sum(group["quantity_ref"]))
    after = _dsum(group["amount_after"])
    ceiling = _dsum(group["amount_ceiling"])
    before = _dsum(group["amount_before"])
    after_ref = _dsum(group["amount_after_ref"])
    savings = before - after_ref
    return {
        "winners": int(group["manufacturer"].nunique()),
        "quantity": quantity,
        "price_before": price(before / quantity_ref) if quantity_ref else None,
        "price_after": price(after / quantity) if quantity else None,
        "cut_vs_reference_pct": percent(savings, before),
        "cut_vs_ceiling_pct": percent(ceiling - after, ceiling),
        "amount_before": money(before) if quantity_ref else None,
        "amount_after": money(after),
        "savings": money(savings) if quantity_ref else None,
    }


def cut_table(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Figures per group of ``by`` (e.g. ``["item_code", "item_name"]``), sorted by the keys."""
    columns = [*by, *FIGURE_COLUMNS]
    if frame.empty:
        return pd.DataFrame(columns=columns, dtype=object)
    amounts = _with_amounts(frame)
    records = []
    for keys, group in amounts.groupby(list(by), sort=True, dropna=False):
        key_values = keys if isinstance(keys, tuple) else (keys,)
        records.append({**dict(zip(by, key_values, strict=True)), **_figures(group)})
    return pd.DataFrame.from_records(records, columns=columns).astype(object)


def cut_totals(frame: pd.DataFrame) -> dict[str, object]:
    """The whole round's figures (volume-weighted over every allocation row)."""
    if frame.empty:
        return {
            "winners": 0,
            "quantity": 0,
            "price_before": None,
            "price_after": None,
            "cut_vs_reference_pct": None,
            "cut_vs_ceiling_pct": None,
            "amount_before": None,
            "amount_after": money(ZERO),
            "savings": None,
        }
    return _figures(_with_amounts(frame))


def item_table(frame: pd.DataFrame) -> pd.DataFrame:
    return cut_table(frame, ["item_code", "item_name", "unit"])


def province_table(frame: pd.DataFrame) -> pd.DataFrame:
    return cut_table(frame, ["region"])


def manufacturer_table(frame: pd.DataFrame) -> pd.DataFrame:
    return cut_table(frame, ["manufacturer"])


def hospital_table(frame: pd.DataFrame) -> pd.DataFrame:
    return cut_table(frame, ["region", "hospital"])


def winner_count_distribution(winners_per_item: Sequence[int]) -> pd.DataFrame:
    """How many items have 0, 1, 2, ... winners (every count up to the maximum listed)."""
    counts = pd.Series(list(winners_per_item), dtype="int64").value_counts()
    top = int(max(winners_per_item, default=0))
    return pd.DataFrame(
        {
            "winners": list(range(top + 1)),
            "items": [int(counts.get(n, 0)) for n in range(top + 1)],
        }
    )

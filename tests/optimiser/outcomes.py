"""Whole outcomes of a solved problem as plain rows, for tests that assert every field.

A test compares a whole table, so a field the rule sets wrongly (a rank, an award price,
a comparable price, a group, a volume share, a term, a backup) fails it, not only a
reason text. Money is compared as its text (``0.9000``), exactly as the result shows it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from procurement.optimiser import problem_from_dict, solve
from procurement.optimiser.model import Result


def run(document: dict[str, Any]) -> Result:
    return solve(problem_from_dict(document))


def text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


class BidRow(NamedTuple):
    status: str
    rank: int | None
    award_price: str | None
    comparable_price: str | None
    reason: str
    group: str | None = None


class ItemRow(NamedTuple):
    winners: tuple[str, ...]
    bidders: int
    valid_bids: int
    winner_cap: int | None
    share: str | None
    term: int | None
    agreed_volume: int
    cost: str


class AllocationRow(NamedTuple):
    bid: str
    quantity: int
    unit_price: str
    delivery_cost: str
    cost: str
    backup: str | None
    source: str


def bids(result: Result) -> dict[str, BidRow]:
    return {
        b.bid: BidRow(
            b.status,
            b.rank,
            text(b.award_price),
            text(b.unit_comparable_price),
            b.reason,
            b.group,
        )
        for b in result.bids
    }


def item(result: Result, item_id: str = "X") -> ItemRow:
    found = next(i for i in result.items if i.item == item_id)
    return ItemRow(
        found.winners,
        found.bidders,
        found.valid_bids,
        found.winner_cap,
        text(found.agreed_volume_share),
        found.term_years,
        found.agreed_volume,
        format(found.cost, "f"),
    )


def allocations(result: Result, item_id: str = "X") -> dict[str, AllocationRow]:
    """Drug rules: one supplier per region, so the region is the key."""
    rows: dict[str, AllocationRow] = {}
    for a in result.allocations:
        if a.item != item_id:
            continue
        assert a.region not in rows, f"two suppliers for region {a.region}"
        rows[a.region] = AllocationRow(
            a.bid,
            a.quantity,
            format(a.unit_price, "f"),
            format(a.delivery_cost, "f"),
            format(a.cost, "f"),
            a.backup_bid,
            a.source,
        )
    return rows

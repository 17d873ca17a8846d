"""Helpers shared by the optimiser tests: small problem documents built in code."""

from __future__ import annotations

import copy
from typing import Any

from procurement.optimiser.presets import PRESETS


def rule_set(preset: str, **overrides: Any) -> dict[str, Any]:
    p = PRESETS[preset]
    parameters = p.copy_parameters()
    parameters.update(copy.deepcopy(overrides))
    return {"kind": p.kind, "name": p.name, "version": p.version, "parameters": parameters}


def problem(
    preset: str,
    bids: list[dict[str, Any]],
    *,
    ceiling: str = "1.0000",
    demand: list[dict[str, Any]] | None = None,
    item: dict[str, Any] | None = None,
    extra_items: list[dict[str, Any]] | None = None,
    parameters: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """One item ``X`` with the given bids (``item`` defaults to ``X``)."""
    base_item = {
        "id": "X",
        "name": "test item",
        "max_valid_bid_price": ceiling,
        "demand": demand if demand is not None else [],
    }
    base_item.update(item or {})
    for bid in bids:
        bid.setdefault("item", "X")
        bid.setdefault("supplier", f"S-{bid['id']}")
    return {
        "format": "jicai.optimiser.problem/1",
        "rule_set": rule_set(preset, **(parameters or {})),
        "items": [base_item, *(extra_items or [])],
        "bids": bids,
        **top,
    }


def bids_at(*prices: str) -> list[dict[str, Any]]:
    """Bids B1, B2, ... at the given unit prices."""
    return [{"id": f"B{i}", "unit_price": p} for i, p in enumerate(prices, start=1)]


def provinces(n: int, quantity: int = 1000) -> list[dict[str, Any]]:
    return [{"region": f"P{k:02d}", "quantity": quantity} for k in range(1, n + 1)]

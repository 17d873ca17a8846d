"""Shape checks of the problem document's long lists, without a generic validator.

A national round has ~10^6 hospital lines and ~25,000 region costs; the generic JSON
Schema validator spends about a minute on them, these loops about a second. Each check is
at least as strict as the schema (``schema/problem.schema.json``): whatever it refuses is
handed to the schema validator for the message, so messages are the schema's own, and an
entry it wrongly refused would only cost time, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from procurement.optimiser.jsonpaths import schema_errors

_MAX_QUANTITY = 10**12
_MONEY = re.compile(r"\d{1,12}(\.\d{1,6})?")

Check = Callable[[Any], bool]


def is_id(value: Any) -> bool:
    return type(value) is str and 0 < len(value) <= 100


def is_quantity(value: Any) -> bool:
    return type(value) is int and 0 <= value <= _MAX_QUANTITY


def is_money(value: Any) -> bool:
    if type(value) is str:
        return _MONEY.fullmatch(value) is not None
    return type(value) is int and 0 <= value <= 999_999_999_999


def _is_bool(value: Any) -> bool:
    return type(value) is bool


def _is_str(value: Any) -> bool:
    return type(value) is str


def _is_ids(value: Any) -> bool:
    return type(value) is list and all(is_id(v) for v in value)


def _is_rank(value: Any) -> bool:
    return type(value) is int and value >= 0


def _is_use(value: Any) -> bool:
    return type(value) is int and 0 <= value <= 1_000_000


def _record(fields: Mapping[str, Check], required: frozenset[str]) -> Check:
    """A check of an object with exactly these fields (``additionalProperties: false``)."""
    allowed = frozenset(fields)

    def check(value: Any) -> bool:
        if type(value) is not dict or not required <= value.keys() <= allowed:
            return False
        return all(fields[k](v) for k, v in value.items())

    return check


def _brand_volume_ok(brand: Any) -> bool:
    """A product's bid, or a product nobody bid, with its quantity (the schema's check)."""
    if type(brand) is not dict or len(brand) != 2 or "quantity" not in brand:
        return False
    label = brand.get("bid", brand.get("product"))
    return is_id(label) and is_quantity(brand["quantity"])


def _brand_volumes_ok(value: Any) -> bool:
    return type(value) is list and all(_brand_volume_ok(b) for b in value)


_HOSPITAL_KEYS = frozenset({"id", "quantity", "brand_volumes", "reassign_to"})


def hospital_ok(hospital: Any) -> bool:
    """The common hospital line (an id and a quantity, perhaps with empty lists of brand
    volumes and reassignments) on a short path; any other line field by field."""
    if type(hospital) is not dict:
        return False
    if len(hospital) == 2 or (
        len(hospital) == 4
        and hospital.get("brand_volumes") == []
        and hospital.get("reassign_to") == []
    ):
        hid, quantity = hospital.get("id"), hospital.get("quantity")
        return (
            type(hid) is str
            and 0 < len(hid) <= 100
            and type(quantity) is int
            and 0 <= quantity <= _MAX_QUANTITY
        )
    return _hospital_record(hospital)


_hospital_record = _record(
    {
        "id": is_id,
        "quantity": is_quantity,
        "brand_volumes": _brand_volumes_ok,
        "reassign_to": _is_ids,
    },
    frozenset({"id", "quantity"}),
)

bid_ok = _record(
    {
        "id": is_id,
        "supplier": is_id,
        "item": is_id,
        "unit_price": is_money,
        "specification": is_id,
        "unit_comparable_price": is_money,
        "capacity": is_quantity,
        "eligible": _is_bool,
        "ineligible_reason": _is_str,
        "region_preferences": _is_ids,
        "backup_preferences": _is_ids,
        "tie_break_rank": _is_rank,
        "intended_volume": is_quantity,
        "accepts_price_adjustment": _is_bool,
        "fixed_award_cost": is_money,
    },
    frozenset({"id", "supplier", "item", "unit_price"}),
)

region_cost_ok = _record(
    {
        "bid": is_id,
        "region": is_id,
        "per_unit": is_money,
        "fixed": is_money,
        "capacity_use_per_unit": _is_use,
    },
    frozenset({"bid", "region"}),
)

_region_demand_record = _record(
    {"region": is_id, "quantity": is_quantity, "hospitals": lambda v: type(v) is list},
    frozenset({"region", "quantity"}),
)


@cache
def _definition_schema(name: str) -> dict[str, Any]:
    from procurement.optimiser.io import load_schema  # io imports this module

    schema = load_schema("problem")
    return {"$defs": schema["$defs"], "$ref": f"#/$defs/{name}"}


def _errors_of(name: str, prefix: str, value: Any) -> list[tuple[str, str]]:
    return [
        (prefix + path[1:], message)
        for path, message in schema_errors(_definition_schema(name), value)
    ]


def long_list_errors(document: Any) -> list[tuple[str, str]]:
    """Schema errors of the bids, region costs, demand lines and hospitals (the lists the
    generic validator is spared: ``io._schema_without_long_lists``)."""
    errors: list[tuple[str, str]] = []
    for key, name, check in (
        ("bids", "bid", bid_ok),
        ("region_costs", "region_cost", region_cost_ok),
    ):
        entries = document.get(key)
        if type(entries) is not list:
            continue  # the generic validator reports a list that is not one
        for i, entry in enumerate(entries):
            if not check(entry):
                errors.extend(_errors_of(name, f"$.{key}[{i}]", entry))
    items = document.get("items")
    for i, item in enumerate(items if type(items) is list else []):
        demand = item.get("demand") if type(item) is dict else None
        for j, line in enumerate(demand if type(demand) is list else []):
            prefix = f"$.items[{i}].demand[{j}]"
            hospitals = line.get("hospitals") if type(line) is dict else None
            if not _region_demand_record(line):
                # its hospitals are checked below, one by one
                shown = {**line, "hospitals": []} if type(hospitals) is list else line
                errors.extend(_errors_of("region_demand", prefix, shown))
            if type(hospitals) is not list:
                continue
            if all(map(hospital_ok, hospitals)):
                continue
            for k, hospital in enumerate(hospitals):
                if not hospital_ok(hospital):
                    errors.extend(_errors_of("hospital", f"{prefix}.hospitals[{k}]", hospital))
    return errors

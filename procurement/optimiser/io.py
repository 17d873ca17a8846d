"""The documented JSON format: problem dicts in, result dicts out.

``problem_from_dict`` checks the document against ``schema/problem.schema.json``, then
the cross-references a schema cannot express (a bid's item exists, demand regions are
known, hospital volumes add up, the rule set's parameters fit its kind), and raises one
``ProblemError`` listing every problem as (JSON path, what was expected). Tuples come out
sorted by id, so the parsed problem and its SHA-256 input hash do not depend on the order
of lists in the file.
"""

from __future__ import annotations

import copy
import gc
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from procurement.optimiser import kinds
from procurement.optimiser.canonical import (  # re-exported: the format's public functions
    CanonicalProblem,
    canonical_json,
    load_problem_json,
    problem_canonical,
    problem_to_dict,
    problem_to_json,
    with_input_hash,
)
from procurement.optimiser.fastcheck import long_list_errors
from procurement.optimiser.jsonpaths import schema_errors
from procurement.optimiser.model import (
    RESULT_FORMAT,
    Bid,
    BrandVolume,
    HospitalDemand,
    Item,
    Problem,
    RegionCost,
    RegionDemand,
    Result,
    RuleSet,
    Specification,
    Supplier,
    brand_volume_order,
    hospital_line,
)
from procurement.optimiser.presets import validate_rule_set

__all__ = [
    "SHOWN_ERRORS",
    "CanonicalProblem",
    "ProblemError",
    "canonical_json",
    "load_problem_json",
    "load_schema",
    "path_sort_key",
    "problem_canonical",
    "problem_from_dict",
    "problem_from_json",
    "problem_to_dict",
    "problem_to_json",
    "result_to_dict",
    "with_input_hash",
]

#: The message of a ``ProblemError`` lists this many errors; ``errors`` holds them all.
SHOWN_ERRORS = 50


class ProblemError(ValueError):
    """A problem document that cannot be solved as written; ``errors`` says where and why.

    Errors come in document order (``$.bids[2]`` before ``$.bids[10]``).
    """

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = sorted(set(errors), key=lambda e: (path_sort_key(e[0]), e[1]))
        lines = [f"{path}: {message}" for path, message in self.errors[:SHOWN_ERRORS]]
        if len(self.errors) > SHOWN_ERRORS:
            lines.append(f"... and {len(self.errors) - SHOWN_ERRORS} more")
        text = "\n".join(lines)
        super().__init__(f"{len(self.errors)} error(s) in the problem:\n{text}")


def path_sort_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """``$.bids[10].id`` sorts after ``$.bids[2].id``: list indexes compare as numbers."""
    parts = re.findall(r"\[(\d+)\]|\.?([^.\[]+)", path)
    return tuple((0, int(index)) if index else (1, name) for index, name in parts)


@cache
def load_schema(name: str) -> dict[str, Any]:
    """``problem`` or ``result``: the JSON Schema shipped in this package."""
    text = resources.files("procurement.optimiser").joinpath(f"schema/{name}.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _duplicates(values: list[str]) -> list[str]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


@cache
def _schema_without_long_lists() -> dict[str, Any]:
    """The problem schema with bids, region costs and demand lines accepted as lists;
    ``fastcheck.long_list_errors`` checks their entries instead. A national round has
    ~10^6 hospital lines and ~25,000 region costs, on which a generic JSON Schema
    validator spends about a minute; the dedicated loops spend about a second."""
    schema = copy.deepcopy(load_schema("problem"))
    schema["$defs"]["item"]["properties"]["demand"] = {"type": "array"}
    schema["properties"]["bids"] = {"type": "array"}
    schema["properties"]["region_costs"] = {"type": "array"}
    return schema


@contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic garbage collection while a national problem's ~10^7 objects are made:
    they hold no cycles, and each generation-2 pass would walk all of them again (it
    cost 40% of reading a national round). The collector is left as it was found."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def problem_from_dict(document: Any) -> Problem:
    """Parse and check a problem document; raise ``ProblemError`` with every error found."""
    with _bulk():
        return _problem_from_dict(document)


def _problem_from_dict(document: Any) -> Problem:
    errors = schema_errors(_schema_without_long_lists(), document)
    if type(document) is dict:
        errors += long_list_errors(document)
    if errors:
        raise ProblemError(errors)
    rule = document["rule_set"]
    errors.extend(
        (f"$.rule_set.parameters{path[1:]}" if path != "$kind" else "$.rule_set.kind", message)
        for path, message in validate_rule_set(rule["kind"], rule["parameters"])
    )
    errors.extend(_reference_errors(document))
    if errors:
        raise ProblemError(errors)
    return _build(document)


def _item_reference_errors(
    at: str,
    item: Mapping[str, Any],
    doc: Mapping[str, Any],
    known_regions: set[str] | None,
    bids: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    kind = doc["rule_set"]["kind"]
    entry = kinds.RULE_KINDS.get(kind)  # an unknown kind is reported by validate_rule_set
    required_fields = entry.item_requires if entry is not None else ()
    specs = [s["id"] for s in item.get("specifications", [])]
    for dup in _duplicates(specs):
        errors.append((f"{at}.specifications", f"specification id {dup!r} is used twice"))
    rep = item.get("representative_specification")
    if rep is not None and rep not in specs:
        errors.append(
            (f"{at}.representative_specification", f"expected one of {specs}, got {rep!r}")
        )
    if len(specs) > 1 and rep is None:
        errors.append(
            (
                f"{at}.representative_specification",
                "required when an item has more than one specification",
            )
        )
    for needed in required_fields:
        if needed not in item:
            errors.append((f"{at}.{needed}", f"required by the {kind} rule kind"))
    errors.extend(_winner_count_errors(at, item, doc["rule_set"]["parameters"]))
    for dup in _duplicates([d["region"] for d in item["demand"]]):
        errors.append((f"{at}.demand", f"region {dup!r} appears twice"))
    for j, demand in enumerate(item["demand"]):
        dat = f"{at}.demand[{j}]"
        if known_regions is not None and demand["region"] not in known_regions:
            errors.append((f"{dat}.region", f"unknown region {demand['region']!r}"))
        errors.extend(_hospital_reference_errors(dat, item["id"], demand, bids))
    return errors


def _bid_reference_errors(
    at: str,
    bid: Mapping[str, Any],
    items: Mapping[str, Mapping[str, Any]],
    known_suppliers: set[str] | None,
) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    item = items.get(bid["item"])
    if item is None:
        errors.append((f"{at}.item", f"unknown item {bid['item']!r}"))
        return errors
    if known_suppliers is not None and bid["supplier"] not in known_suppliers:
        errors.append((f"{at}.supplier", f"unknown supplier {bid['supplier']!r}"))
    specs = [s["id"] for s in item.get("specifications", [])]
    spec = bid.get("specification")
    if spec is not None and spec not in specs:
        errors.append(
            (
                f"{at}.specification",
                f"expected one of {specs} of item {item['id']!r}, got {spec!r}",
            )
        )
    if spec is None and len(specs) > 1 and "unit_comparable_price" not in bid:
        errors.append(
            (
                f"{at}.specification",
                "required (or unit_comparable_price) when the item has several specifications",
            )
        )
    item_regions = {d["region"] for d in item["demand"]}
    for key in ("region_preferences", "backup_preferences"):
        for j, region in enumerate(bid.get(key, [])):
            if region not in item_regions:
                errors.append((f"{at}.{key}[{j}]", f"no demand for item in region {region!r}"))
        for dup in _duplicates(bid.get(key, [])):
            errors.append((f"{at}.{key}", f"region {dup!r} is listed twice"))
    return errors


def _reference_errors(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    regions = doc.get("regions")
    known_regions = set(regions) if regions is not None else None
    for dup in _duplicates(regions or []):
        errors.append(("$.regions", f"region {dup!r} is listed twice"))
    suppliers = doc.get("suppliers")
    known_suppliers = {s["id"] for s in suppliers} if suppliers is not None else None
    for dup in _duplicates([s["id"] for s in suppliers or []]):
        errors.append(("$.suppliers", f"supplier id {dup!r} is used twice"))
    items = {item["id"]: item for item in doc["items"]}
    for dup in _duplicates([item["id"] for item in doc["items"]]):
        errors.append(("$.items", f"item id {dup!r} is used twice"))
    bids = {bid["id"]: bid for bid in doc["bids"]}
    for dup in _duplicates([bid["id"] for bid in doc["bids"]]):
        errors.append(("$.bids", f"bid id {dup!r} is used twice"))
    for i, item in enumerate(doc["items"]):
        errors.extend(_item_reference_errors(f"$.items[{i}]", item, doc, known_regions, bids))
    for i, bid in enumerate(doc["bids"]):
        errors.extend(_bid_reference_errors(f"$.bids[{i}]", bid, items, known_suppliers))

    pairs = [(c["bid"], c["region"]) for c in doc.get("region_costs", [])]
    for dup in _duplicates([f"{b} / {r}" for b, r in pairs]):
        errors.append(("$.region_costs", f"bid / region {dup} is listed twice"))
    for i, cost in enumerate(doc.get("region_costs", [])):
        bid = bids.get(cost["bid"])
        if bid is None:
            errors.append((f"$.region_costs[{i}].bid", f"unknown bid {cost['bid']!r}"))
            continue
        item = items.get(bid["item"])
        if item is not None and cost["region"] not in {d["region"] for d in item["demand"]}:
            errors.append(
                (
                    f"$.region_costs[{i}].region",
                    f"no demand for item {item['id']!r} in region {cost['region']!r}",
                )
            )
    return errors


def _hospital_reference_errors(
    dat: str, item_id: str, demand: Mapping[str, Any], bids: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """A demand line's hospitals: ids unique, quantities adding up, brand volumes and
    reassignments naming bids on the item. Lines with only an id and a quantity (nearly
    all of a national round's 10^6) take the short path."""
    errors: list[tuple[str, str]] = []
    hospitals = demand.get("hospitals", [])
    ids = [h["id"] for h in hospitals]
    if len(set(ids)) != len(ids):
        for dup in _duplicates(ids):
            errors.append((f"{dat}.hospitals", f"hospital id {dup!r} is used twice"))
    total = sum(h["quantity"] for h in hospitals)
    if hospitals and total != demand["quantity"]:
        errors.append(
            (
                f"{dat}.quantity",
                f"expected the sum of its hospitals' quantities ({total}), "
                f"got {demand['quantity']}",
            )
        )
    for k, hospital in enumerate(hospitals):
        if len(hospital) == 2 or (
            not hospital.get("brand_volumes") and not hospital.get("reassign_to")
        ):
            continue  # an id and a quantity only
        hat = f"{dat}.hospitals[{k}]"
        brands = hospital.get("brand_volumes", [])
        if brands and sum(b["quantity"] for b in brands) != hospital["quantity"]:
            brand_total = sum(b["quantity"] for b in brands)
            errors.append(
                (
                    f"{hat}.quantity",
                    f"expected the sum of its brand volumes ({brand_total}), "
                    f"got {hospital['quantity']}",
                )
            )
        for dup in _duplicates([b["product"] for b in brands if "product" in b]):
            errors.append((f"{hat}.brand_volumes", f"product {dup!r} is listed twice"))
        for m, brand in enumerate(brands):
            if "bid" not in brand:
                continue  # a product nobody bid: its volume is always moved
            other = bids.get(brand["bid"])
            if other is None or other["item"] != item_id:
                errors.append(
                    (
                        f"{hat}.brand_volumes[{m}].bid",
                        f"expected a bid on item {item_id!r}, got {brand['bid']!r}",
                    )
                )
        for m, target in enumerate(hospital.get("reassign_to", [])):
            other = bids.get(target)
            if other is None or other["item"] != item_id:
                errors.append(
                    (
                        f"{hat}.reassign_to[{m}]",
                        f"expected a bid on item {item_id!r}, got {target!r}",
                    )
                )
    return errors


def _winner_count_errors(
    at: str, item: Mapping[str, Any], parameters: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """An item's own minimum number of winners must not exceed its maximum (its own, or
    the rule set's)."""
    low = item.get("min_winners", parameters.get("min_winners_per_item"))
    high = item.get("max_winners", parameters.get("max_winners_per_item"))
    if not isinstance(low, int) or not isinstance(high, int) or low <= high:
        return []
    if "max_winners" in item:
        return [
            (f"{at}.max_winners", f"must be at least the item's minimum number of winners ({low})")
        ]
    return [(f"{at}.min_winners", f"must be at most the maximum number of winners ({high})")]


def _hospitals(lines: Sequence[Mapping[str, Any]]) -> tuple[HospitalDemand, ...]:
    """A region's hospitals, sorted by id (a list already in order is not sorted again)."""
    line = hospital_line
    built = [
        line(h["id"], h["quantity"])
        if len(h) == 2 or (not h.get("brand_volumes") and not h.get("reassign_to"))
        else HospitalDemand(
            id=h["id"],
            quantity=h["quantity"],
            brand_volumes=tuple(
                sorted(
                    (
                        BrandVolume(b.get("bid"), b["quantity"], b.get("product"))
                        for b in h.get("brand_volumes", [])
                    ),
                    key=brand_volume_order,
                )
            ),
            reassign_to=tuple(h.get("reassign_to", [])),
        )
        for h in lines
    ]
    ids = [h.id for h in built]
    if ids != sorted(ids):  # timsort: one linear pass over a list already in order
        built.sort(key=lambda h: h.id)
    return tuple(built)


def _item_from_dict(item: Mapping[str, Any]) -> Item:
    demand = [
        RegionDemand(d["region"], d["quantity"], _hospitals(d.get("hospitals", ())))
        for d in item["demand"]
    ]
    specs = tuple(
        sorted(
            (
                Specification(
                    id=s["id"],
                    strength=_dec(s.get("strength")),
                    fill_volume=_dec(s.get("fill_volume")),
                    pack_count=s.get("pack_count", 1),
                    dosage_form=s.get("dosage_form"),
                    oral_solid=s.get("oral_solid", True),
                    max_valid_bid_price=_dec(s.get("max_valid_bid_price")),
                )
                for s in item.get("specifications", [])
            ),
            key=lambda s: s.id,
        )
    )
    return Item(
        id=item["id"],
        name=item["name"],
        max_valid_bid_price=Decimal(item["max_valid_bid_price"]),
        demand=tuple(sorted(demand, key=lambda d: d.region)),
        specifications=specs,
        representative_specification=item.get("representative_specification"),
        reference_price=_dec(item.get("reference_price")),
        previous_highest_winning_price=_dec(item.get("previous_highest_winning_price")),
        min_winners=item.get("min_winners"),
        max_winners=item.get("max_winners"),
        unmet_penalty_price=_dec(item.get("unmet_penalty_price")),
    )


def _build(doc: Mapping[str, Any]) -> Problem:
    rule = doc["rule_set"]
    items = [_item_from_dict(item) for item in doc["items"]]
    bids = tuple(
        sorted(
            (
                Bid(
                    id=b["id"],
                    supplier=b["supplier"],
                    item=b["item"],
                    unit_price=Decimal(b["unit_price"]),
                    specification=b.get("specification"),
                    unit_comparable_price=_dec(b.get("unit_comparable_price")),
                    capacity=b.get("capacity"),
                    eligible=b.get("eligible", True),
                    ineligible_reason=b.get("ineligible_reason", ""),
                    region_preferences=tuple(b.get("region_preferences", [])),
                    backup_preferences=tuple(b.get("backup_preferences", [])),
                    tie_break_rank=b.get("tie_break_rank"),
                    intended_volume=b.get("intended_volume"),
                    accepts_price_adjustment=b.get("accepts_price_adjustment", False),
                    fixed_award_cost=Decimal(b.get("fixed_award_cost", "0")),
                )
                for b in doc["bids"]
            ),
            key=lambda b: b.id,
        )
    )
    region_ids = doc.get("regions")
    if region_ids is None:
        region_ids = sorted({d.region for item in items for d in item.demand})
    problem = Problem(
        rule_set=RuleSet(
            kind=rule["kind"],
            parameters=_freeze(rule["parameters"]),
            name=rule.get("name", ""),
            version=rule.get("version", ""),
        ),
        items=tuple(sorted(items, key=lambda i: i.id)),
        bids=bids,
        regions=tuple(sorted(region_ids)),
        suppliers=tuple(
            sorted(
                (
                    Supplier(s["id"], s.get("name", ""), s.get("capacity"))
                    for s in doc.get("suppliers", [])
                ),
                key=lambda s: s.id,
            )
        ),
        region_costs=tuple(
            sorted(
                (
                    RegionCost(
                        bid=c["bid"],
                        region=c["region"],
                        per_unit=Decimal(c.get("per_unit", "0")),
                        fixed=Decimal(c.get("fixed", "0")),
                        capacity_use_per_unit=c.get("capacity_use_per_unit", 1),
                    )
                    for c in doc.get("region_costs", [])
                ),
                key=lambda c: (c.bid, c.region),
            )
        ),
    )
    return Problem(**{**problem.__dict__, "input_hash": problem_canonical(problem).input_hash})


def problem_from_json(data: bytes | str) -> Problem:
    """``problem_from_dict(load_problem_json(data))``; raises ``ProblemError``, or
    ``ValueError`` for text that is not JSON."""
    with _bulk():
        return _problem_from_dict(load_problem_json(data))


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def result_to_dict(result: Result, *, include_timing: bool = True) -> dict[str, Any]:
    """The result document. Everything but ``timing`` is a function of the input alone."""
    document: dict[str, Any] = {
        "format": RESULT_FORMAT,
        "rule_set": {
            "kind": result.rule_set.kind,
            "name": result.rule_set.name,
            "version": result.rule_set.version,
        },
        "run": _run_to_dict(result),
        "totals": _totals_to_dict(result),
        "items": [
            {
                "id": i.item,
                "winners": list(i.winners),
                "bidders": i.bidders,
                "valid_bids": i.valid_bids,
                "winner_cap": i.winner_cap,
                "agreed_volume_share": _s(i.agreed_volume_share),
                "pooled_demand": i.pooled_demand,
                "agreed_volume": i.agreed_volume,
                "term_years": i.term_years,
                "cost": str(i.cost),
                "savings_vs_reference": _s(i.savings_vs_reference),
                "savings_vs_ceiling": str(i.savings_vs_ceiling),
                "notes": list(i.notes),
            }
            for i in result.items
        ],
        "bids": [
            {
                "id": b.bid,
                "item": b.item,
                "supplier": b.supplier,
                "status": b.status,
                "reason": b.reason,
                "reason_parts": [r.to_dict() for r in b.reason_parts],
                "rank": b.rank,
                "unit_comparable_price": _s(b.unit_comparable_price),
                "award_price": _s(b.award_price),
                "group": b.group,
            }
            for b in result.bids
        ],
        **_allocations_to_dict(result),
    }
    if result.unmet_allowed:  # only when the problem lets demand go unmet
        document["unmet_demand"] = [
            {
                "item": u.item,
                "region": u.region,
                "quantity": u.quantity,
                "penalty_price": str(u.penalty_price),
                "penalty": str(u.penalty),
            }
            for u in result.unmet
        ]
    if include_timing:
        document["timing"] = {"solve_seconds": round(result.solve_seconds, 3)}
    return document


def _run_to_dict(result: Result) -> dict[str, Any]:
    run = result.run
    document: dict[str, Any] = {
        "status": run.status,
        "input_hash": run.input_hash,
        "solver": run.solver,
        "objective": _s(run.objective),
        "bound": _s(run.bound),
        "gap": _s(run.gap),
        "explanation": list(run.explanation),
        "explanation_parts": [m.to_dict() for m in run.explanation_parts],
        "warnings": list(run.warnings),
        "warning_parts": [m.to_dict() for m in run.warning_parts],
    }
    if run.solver_reason_parts:  # only for the automatic backend: other documents unchanged
        document["solver_reason"] = run.solver_reason
        document["solver_reason_parts"] = [m.to_dict() for m in run.solver_reason_parts]
    return document


def _totals_to_dict(result: Result) -> dict[str, Any]:
    totals = result.totals
    document: dict[str, Any] = {
        "cost": str(totals.cost),
        "reference_cost": _s(totals.reference_cost),
        "ceiling_cost": str(totals.ceiling_cost),
        "savings_vs_reference": _s(totals.savings_vs_reference),
        "savings_vs_ceiling": str(totals.savings_vs_ceiling),
    }
    if totals.unmet_penalty is not None:
        document["unmet_penalty"] = str(totals.unmet_penalty)
    return document


def _allocations_to_dict(result: Result) -> dict[str, Any]:
    return {
        "allocations": [
            {
                "item": a.item,
                "bid": a.bid,
                "supplier": a.supplier,
                "region": a.region,
                "quantity": a.quantity,
                "unit_price": str(a.unit_price),
                "delivery_cost": str(a.delivery_cost),
                "cost": str(a.cost),
                "backup_bid": a.backup_bid,
                "source": a.source,
            }
            for a in result.allocations
        ],
        "hospital_allocations": [
            {
                "item": h.item,
                "bid": h.bid,
                "region": h.region,
                "hospital": h.hospital,
                "quantity": h.quantity,
            }
            for h in result.hospital_allocations
        ],
    }

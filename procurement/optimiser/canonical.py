"""The canonical problem document: its dict, its bytes and input hash, the readable file.

``problem_to_dict`` is the canonical document (defaults written out, lists sorted);
its SHA-256 over ``canonical_json`` is the input hash. ``problem_canonical`` gives the
same bytes and hash in one pass, fast enough for national rounds (10^6 demand lines);
``problem_to_json`` writes a readable file and ``load_problem_json`` reads one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import orjson

from procurement.optimiser.model import (
    PROBLEM_FORMAT,
    BrandVolume,
    HospitalDemand,
    Item,
    Problem,
)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


def canonical_json(document: Any) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8 text: the form that is hashed."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class CanonicalProblem:
    """The canonical bytes of a problem (``canonical_json(problem_to_dict(problem))`` as
    UTF-8) and their SHA-256, the problem's input hash."""

    data: bytes
    input_hash: str


def problem_canonical(problem: Problem) -> CanonicalProblem:
    """The canonical bytes and input hash of a problem in one pass.

    Byte for byte what ``canonical_json(problem_to_dict(problem))`` gives, without
    building the dict of every hospital line: hospitals are written straight to bytes and
    the rest is serialised by orjson. A rule set whose parameters hold a binary float
    (which orjson would write differently, e.g. ``1e-05``), or text orjson refuses, takes
    the exact slow path instead.
    """
    if not _has_float(problem.rule_set.parameters):
        document = _problem_document(problem, _hospitals_fragment)
        try:
            data = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            data = canonical_json(problem_to_dict(problem)).encode("utf-8")
    else:
        data = canonical_json(problem_to_dict(problem)).encode("utf-8")
    return CanonicalProblem(data, hashlib.sha256(data).hexdigest())


def with_input_hash(problem: Problem) -> Problem:
    """The problem with ``input_hash`` set, as ``problem_from_dict`` sets it."""
    return replace(problem, input_hash=problem_canonical(problem).input_hash)


def problem_to_json(problem: Problem) -> bytes:
    """The problem document as readable JSON (UTF-8, two-space indent, one hospital per
    line), for ``problem_from_json`` or a file; equal to ``problem_to_dict`` read back."""
    document = _problem_document(problem, _hospitals_lines)
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


# A number that orjson would not read exactly: with a fraction or an exponent, or an
# integer of 19 digits or more (orjson turns one beyond 64 bits into a binary float).
_INEXACT_NUMBER = re.compile(
    rb"[:\[,]\s*-?(?:\d{19,}|\d+(?:\.\d+(?:[eE][+-]?\d+)?|[eE][+-]?\d+))\s*[,\]}]"
)


def load_problem_json(data: bytes | str) -> Any:
    """Read a problem file. A JSON number with a fraction is kept as its exact decimal
    text (``0.0526`` becomes ``"0.0526"``), never as a binary float, so prices may be
    written as numbers in a file; whole numbers stay integers.

    orjson reads a document with no fractional number and no integer of 19 digits or
    more (what ``problem_to_json`` writes); any other is read by the standard library
    with ``parse_float=str`` (slower).
    ``_INEXACT_NUMBER`` finds every such number outside strings (a number there stands
    after ``:``, ``[`` or ``,``), and sometimes text inside a string, which only costs the
    slower path."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not _INEXACT_NUMBER.search(raw) and raw.lstrip()[:1] in (b"{", b"["):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # e.g. an integer beyond 64 bits: the standard library reads it
    return json.loads(raw, parse_float=str)


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, Mapping):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_float(v) for v in value)
    return False


_SIMPLE_HOSPITAL = b'{"brand_volumes":[],"id":%b,"quantity":%d,"reassign_to":[]}'


def _hospital_bytes(hospitals: Sequence[HospitalDemand]) -> list[bytes]:
    dumps = orjson.dumps
    return [
        _SIMPLE_HOSPITAL % (dumps(h.id), h.quantity)
        if not h.brand_volumes and not h.reassign_to
        else dumps(_hospital_dict(h), option=orjson.OPT_SORT_KEYS)
        for h in hospitals
    ]


def _hospitals_fragment(hospitals: Sequence[HospitalDemand]) -> orjson.Fragment:
    return orjson.Fragment(b"[" + b",".join(_hospital_bytes(hospitals)) + b"]")


def _hospitals_lines(hospitals: Sequence[HospitalDemand]) -> orjson.Fragment | list[Any]:
    """One hospital per line; a hospital with no brand volumes and no reassignment is
    written without those empty lists (they are optional), which also keeps it on the
    reader's short path."""
    if not hospitals:
        return []
    dumps = orjson.dumps
    lines = [
        b'{"id":%b,"quantity":%d}' % (dumps(h.id), h.quantity)
        if not h.brand_volumes and not h.reassign_to
        else dumps(_hospital_dict(h), option=orjson.OPT_SORT_KEYS)
        for h in hospitals
    ]
    return orjson.Fragment(b"[\n" + b",\n".join(lines) + b"\n]")


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _brand_volume_dict(brand: BrandVolume) -> dict[str, Any]:
    # A bid's entry is written exactly as before unbid products existed, so the canonical
    # document (and the input hash) of a problem without them is unchanged.
    if brand.bid is not None:
        return {"bid": brand.bid, "quantity": brand.quantity}
    return {"product": brand.product, "quantity": brand.quantity}


def _hospital_dict(h: HospitalDemand) -> dict[str, Any]:
    return {
        "id": h.id,
        "quantity": h.quantity,
        "brand_volumes": [_brand_volume_dict(b) for b in h.brand_volumes],
        "reassign_to": list(h.reassign_to),
    }


def _hospital_dicts(hospitals: Sequence[HospitalDemand]) -> list[dict[str, Any]]:
    return [_hospital_dict(h) for h in hospitals]


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    """The canonical document of a parsed problem (defaults written out, lists sorted)."""
    return _problem_document(problem, _hospital_dicts)


def _item_document(
    item: Item, hospitals_of: Callable[[Sequence[HospitalDemand]], Any]
) -> dict[str, Any]:
    return _drop_none(
        {
            "id": item.id,
            "name": item.name,
            "max_valid_bid_price": str(item.max_valid_bid_price),
            "reference_price": _s(item.reference_price),
            "previous_highest_winning_price": _s(item.previous_highest_winning_price),
            "representative_specification": item.representative_specification,
            "min_winners": item.min_winners,
            "max_winners": item.max_winners,
            "unmet_penalty_price": _s(item.unmet_penalty_price),
            "specifications": [
                _drop_none(
                    {
                        "id": s.id,
                        "strength": _s(s.strength),
                        "fill_volume": _s(s.fill_volume),
                        "pack_count": s.pack_count,
                        "dosage_form": s.dosage_form,
                        "oral_solid": s.oral_solid,
                        "max_valid_bid_price": _s(s.max_valid_bid_price),
                    }
                )
                for s in item.specifications
            ],
            "demand": [
                {
                    "region": d.region,
                    "quantity": d.quantity,
                    "hospitals": hospitals_of(d.hospitals),
                }
                for d in item.demand
            ],
        }
    )


def _problem_document(
    problem: Problem, hospitals_of: Callable[[Sequence[HospitalDemand]], Any]
) -> dict[str, Any]:
    """The canonical document, each region's hospitals rendered by ``hospitals_of``."""
    return {
        "format": PROBLEM_FORMAT,
        "rule_set": {
            "kind": problem.rule_set.kind,
            "name": problem.rule_set.name,
            "version": problem.rule_set.version,
            "parameters": _thaw(problem.rule_set.parameters),
        },
        "regions": list(problem.regions),
        # Absent, not empty, when no supplier was listed: an empty list would make every
        # bid's supplier unknown when the document is read back.
        **(
            {
                "suppliers": [
                    _drop_none({"id": s.id, "name": s.name, "capacity": s.capacity})
                    for s in problem.suppliers
                ]
            }
            if problem.suppliers
            else {}
        ),
        "items": [_item_document(item, hospitals_of) for item in problem.items],
        "bids": [
            _drop_none(
                {
                    "id": b.id,
                    "supplier": b.supplier,
                    "item": b.item,
                    "unit_price": str(b.unit_price),
                    "specification": b.specification,
                    "unit_comparable_price": _s(b.unit_comparable_price),
                    "capacity": b.capacity,
                    "eligible": b.eligible,
                    "ineligible_reason": b.ineligible_reason,
                    "region_preferences": list(b.region_preferences),
                    "backup_preferences": list(b.backup_preferences),
                    "tie_break_rank": b.tie_break_rank,
                    "intended_volume": b.intended_volume,
                    "accepts_price_adjustment": b.accepts_price_adjustment,
                    "fixed_award_cost": str(b.fixed_award_cost),
                }
            )
            for b in problem.bids
        ],
        "region_costs": [
            {
                "bid": c.bid,
                "region": c.region,
                "per_unit": str(c.per_unit),
                "fixed": str(c.fixed),
                "capacity_use_per_unit": c.capacity_use_per_unit,
            }
            for c in problem.region_costs
        ],
    }

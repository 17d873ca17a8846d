"""An evaluation cut into chunks of items, solved apart and merged into the result that
``solve`` gives in one process, byte for byte.

Only for the kinds whose items are independent (``fans_out``): the rule layer decides
item by item and the allocation (``allocation._each_item``) allocates item by item. The
optimised award couples its items through the suppliers' shared capacity (and its
national constraints), so it is always solved whole.

The pieces, all pure:

* ``item_chunks(problem, n)``: the items, in id order, in at most ``n`` contiguous chunks
  balanced by bids and demand lines;
* ``sub_problem(problem, items)``: the problem of a chunk (its items, their bids and
  region costs; every region and supplier kept), whose canonical bytes a worker reads and
  whose input hash keys the chunk's cached part;
* ``solve.solve_items(sub_problem, digits)``: the chunk's ``Part``, with the money scale
  ``digits`` computed once on the whole problem (``whole_digits``): a chunk computing its
  own could scale prices differently and move a solver's tie;
* ``part_to_bytes`` / ``part_from_bytes``: a part as compact JSON, exact decimal text;
* ``solve.merge_parts(problem, parts)``: the result, the same merge ``solve`` uses.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import orjson

from procurement.optimiser.canonical import problem_canonical
from procurement.optimiser.io import problem_from_json
from procurement.optimiser.kinds import Family, family_of
from procurement.optimiser.model import (
    Allocation,
    BidOutcome,
    ItemOutcome,
    Problem,
    Result,
    hospital_allocation,
)
from procurement.optimiser.reasons import ReasonPart
from procurement.optimiser.solve import (
    Part,
    decide_items,
    merge_parts,
    money_scale_digits,
    solve_items,
)

PART_FORMAT = "jicai-evaluation-part/1"


def fans_out(problem: Problem) -> bool:
    """Whether the problem's items may be solved apart (every kind but the optimised
    award, whose items share the suppliers' capacity)."""
    return family_of(problem.rule_set.kind) != Family.OPTIMISED


def whole_digits(problem: Problem) -> int:
    """The money scale of the whole problem, as ``solve`` computes it (the rule layer is
    cheap: about 4% of a national ``solve``)."""
    return money_scale_digits(problem, decide_items(problem))


def _weights(problem: Problem) -> list[int]:
    bids: dict[str, int] = {}
    for bid in problem.bids:
        bids[bid.item] = bids.get(bid.item, 0) + 1
    return [
        1 + bids.get(item.id, 0) + sum(max(1, len(d.hospitals)) for d in item.demand)
        for item in problem.items
    ]


def item_chunks(problem: Problem, n: int) -> list[tuple[str, ...]]:
    """The item ids in id order, cut into at most ``n`` contiguous, non-empty chunks of
    about equal weight (1 + bids + demand lines per item). Deterministic."""
    ids = [item.id for item in problem.items]
    if n <= 1 or len(ids) <= 1:
        return [tuple(ids)] if ids else []
    weights = _weights(problem)
    total = sum(weights)
    chunks: list[tuple[str, ...]] = []
    start, acc = 0, 0
    for k, weight in enumerate(weights):
        acc += weight
        remaining_items = len(ids) - (k + 1)
        remaining_chunks = n - len(chunks) - 1
        # close the chunk at its share of the weight, or when each later chunk needs an item
        boundary = total * (len(chunks) + 1) / n
        if (
            remaining_chunks > 0
            and remaining_items > 0
            and (acc >= boundary or remaining_items == remaining_chunks)
        ):
            chunks.append(tuple(ids[start : k + 1]))
            start = k + 1
    chunks.append(tuple(ids[start:]))
    return chunks


def sub_problem(problem: Problem, item_ids: Sequence[str]) -> Problem:
    """The problem of some of the items: those items, their bids and those bids' region
    costs; the rule set, regions and suppliers unchanged. Its input hash is its own."""
    wanted = set(item_ids)
    bids = tuple(b for b in problem.bids if b.item in wanted)
    bid_ids = {b.id for b in bids}
    return replace(
        problem,
        items=tuple(i for i in problem.items if i.id in wanted),
        bids=bids,
        region_costs=tuple(c for c in problem.region_costs if c.bid in bid_ids),
        input_hash="",
    )


def sub_problem_bytes(problem: Problem, item_ids: Sequence[str]) -> tuple[bytes, str]:
    """A chunk's problem as canonical bytes, compressed, and its input hash."""
    canonical = problem_canonical(sub_problem(problem, item_ids))
    return zlib.compress(canonical.data, 1), canonical.input_hash


def sub_problem_from_bytes(data: bytes) -> Problem:
    return problem_from_json(zlib.decompress(data))


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _reason(record: dict[str, Any]) -> ReasonPart:
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in record["params"].items()}
    return ReasonPart(record["code"], MappingProxyType(params))


def part_to_bytes(part: Part) -> bytes:
    """A part as compact JSON (decimals as their exact text; the hospital rows as columns,
    up to ~10^6 of them), compressed."""
    hospitals = part.hospitals
    document = {
        "format": PART_FORMAT,
        "items": [
            [
                i.item,
                list(i.winners),
                i.bidders,
                i.valid_bids,
                i.winner_cap,
                _s(i.agreed_volume_share),
                i.pooled_demand,
                i.agreed_volume,
                i.term_years,
                str(i.cost),
                _s(i.savings_vs_reference),
                str(i.savings_vs_ceiling),
                list(i.notes),
            ]
            for i in part.items
        ],
        "bids": [
            [
                b.bid,
                b.item,
                b.supplier,
                b.status,
                [r.to_dict() for r in b.reason_parts],
                _s(b.unit_comparable_price),
                b.rank,
                _s(b.award_price),
                b.group,
            ]
            for b in part.bids
        ],
        "allocations": [
            [
                a.item,
                a.bid,
                a.supplier,
                a.region,
                a.quantity,
                str(a.unit_price),
                str(a.delivery_cost),
                str(a.cost),
                a.backup_bid,
                a.source,
            ]
            for a in part.allocations
        ],
        "hospitals": {
            "item": [h.item for h in hospitals],
            "bid": [h.bid for h in hospitals],
            "region": [h.region for h in hospitals],
            "hospital": [h.hospital for h in hospitals],
            "quantity": [h.quantity for h in hospitals],
        },
        "used_solver": part.used_solver,
        "all_optimal": part.all_optimal,
        "warnings": [w.to_dict() for w in part.warnings],
        "seconds": part.seconds,
    }
    return zlib.compress(orjson.dumps(document), 1)


def part_from_bytes(data: bytes) -> Part:
    document = orjson.loads(zlib.decompress(data))
    if document.get("format") != PART_FORMAT:
        raise ValueError(f"not an evaluation part: {document.get('format')!r}")
    h = document["hospitals"]
    return Part(
        items=tuple(
            ItemOutcome(
                item=i[0],
                winners=tuple(i[1]),
                bidders=i[2],
                valid_bids=i[3],
                winner_cap=i[4],
                agreed_volume_share=_d(i[5]),
                pooled_demand=i[6],
                agreed_volume=i[7],
                term_years=i[8],
                cost=Decimal(i[9]),
                savings_vs_reference=_d(i[10]),
                savings_vs_ceiling=Decimal(i[11]),
                notes=tuple(i[12]),
            )
            for i in document["items"]
        ),
        bids=tuple(
            BidOutcome(
                bid=b[0],
                item=b[1],
                supplier=b[2],
                status=b[3],
                reason_parts=tuple(_reason(r) for r in b[4]),
                unit_comparable_price=_d(b[5]),
                rank=b[6],
                award_price=_d(b[7]),
                group=b[8],
            )
            for b in document["bids"]
        ),
        allocations=tuple(
            Allocation(
                item=a[0],
                bid=a[1],
                supplier=a[2],
                region=a[3],
                quantity=a[4],
                unit_price=Decimal(a[5]),
                delivery_cost=Decimal(a[6]),
                cost=Decimal(a[7]),
                backup_bid=a[8],
                source=a[9],
            )
            for a in document["allocations"]
        ),
        hospitals=tuple(
            hospital_allocation(*row)
            for row in zip(
                h["item"], h["bid"], h["region"], h["hospital"], h["quantity"], strict=True
            )
        ),
        used_solver=document["used_solver"],
        all_optimal=document["all_optimal"],
        warnings=tuple(_reason(w) for w in document["warnings"]),
        seconds=document["seconds"],
    )


def solve_in_chunks(problem: Problem, n: int) -> Result:
    """What a fanned-out evaluation computes, in one process: ``n`` chunks, each read
    back from its stored bytes, solved, written and read again as a worker would, then
    merged (tests and benchmarks compare it with ``solve``)."""
    if not fans_out(problem):
        raise ValueError("the optimised award couples its items: it is solved whole")
    digits = whole_digits(problem)
    parts = []
    for chunk in item_chunks(problem, n):
        data, _ = sub_problem_bytes(problem, chunk)
        parts.append(
            part_from_bytes(part_to_bytes(solve_items(sub_problem_from_bytes(data), digits)))
        )
    return merge_parts(problem, parts)

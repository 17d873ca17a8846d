"""The rule layer: validity, ranking, winner caps, price conditions, volume share, term.

Every decision is explained per bid in numbers, as reason parts (``reasons.py``: codes
with parameters) whose English reads "rank 6 of 9 valid bids, cap 5 for 10 bidders;
2.31 x the lowest 0.0526, limit 1.8". The figures (caps, thresholds,
shares, terms, tie-break order) come from the rule set's parameters, never from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from catalog.comparable_price import (
    ComparablePriceCoefficients,
    unit_comparable_price,
)
from catalog.comparable_price import Specification as PriceSpecification
from procurement.optimiser.model import Bid, BidOutcome, BidStatus, Item, Specification
from procurement.optimiser.reasons import ReasonPart, part

PRICE = Decimal("0.0001")


@dataclass(frozen=True)
class ItemDecision:
    """The rule layer's verdict on one item."""

    item: Item
    outcomes: tuple[BidOutcome, ...]
    winners: tuple[Bid, ...]
    award_prices: Mapping[str, Decimal]
    bidders: int
    valid_bids: int
    winner_cap: int | None
    agreed_volume_share: Decimal | None
    term_years: int | None
    notes: tuple[str, ...] = ()
    groups: Mapping[str, str] = field(default_factory=dict)


# A rule kind's rule layer for one item: (item, its bids, the rule set's parameters).
ItemDecider = Callable[[Item, Sequence[Bid], Mapping[str, Any]], ItemDecision]


def money(value: Decimal) -> str:
    """A price as it was given (``0.4200`` stays ``0.4200``), never in exponent form."""
    return format(value, "f")


def _shown(value: Decimal, places: int, side: Callable[[Decimal], bool]) -> Decimal:
    """``value`` half up to ``places`` decimals, two more at a time while rounding would
    put it on the other side of its limit (``side``): a reason never contradicts its verdict."""
    shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    while side(shown) != side(value):
        places += 2
        shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return shown


def _ratio_shown(ratio: Decimal, limit: Decimal) -> Decimal:
    """Two decimals, or four (or more) when two would hide which side of the limit it is on."""
    return _shown(ratio, 2, lambda shown: shown > limit)


def _percent_number(share: Decimal) -> Decimal:
    return (share * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _percent(share: Decimal) -> str:
    return f"{_percent_number(share)}%"


def _table(values: Sequence[Any], n: int) -> Any:
    """Entry for count ``n`` (1-based); the last entry applies to every larger count."""
    return values[min(n, len(values)) - 1]


def _to_price_spec(spec: Specification) -> PriceSpecification:
    return PriceSpecification(
        strength=spec.strength,
        fill_volume=spec.fill_volume,
        pack_count=spec.pack_count,
        dosage_form=spec.dosage_form,
        oral_solid=spec.oral_solid,
    )


def comparable_price(bid: Bid, item: Item, coefficients: ComparablePriceCoefficients) -> Decimal:
    """The bid's unit comparable price on the item's representative specification."""
    if bid.unit_comparable_price is not None:
        return bid.unit_comparable_price
    specs = {s.id: s for s in item.specifications}
    rep = item.representative_specification
    if bid.specification is None or rep is None or bid.specification == rep:
        return bid.unit_price
    return unit_comparable_price(
        bid.unit_price,
        _to_price_spec(specs[bid.specification]),
        _to_price_spec(specs[rep]),
        coefficients,
    )


def _validity(
    bid: Bid, item: Item, ucp: Decimal, ceiling_override: Decimal | None = None
) -> ReasonPart | None:
    """The reason the bid is invalid, or None when it is valid."""
    if not bid.eligible:
        if bid.ineligible_reason:
            return part("not_eligible_detail", detail=bid.ineligible_reason)
        return part("not_eligible")
    spec = next((s for s in item.specifications if s.id == bid.specification), None)
    if spec is not None and spec.max_valid_bid_price is not None:
        if bid.unit_price > spec.max_valid_bid_price:
            return part(
                "above_specification_ceiling",
                price=bid.unit_price,
                ceiling=spec.max_valid_bid_price,
                specification=spec.id,
            )
        return None
    if ucp > item.max_valid_bid_price:
        return part("above_ceiling", price=ucp, ceiling=item.max_valid_bid_price)
    return None


def _sort_key(bid: Bid, ucp: Decimal, order: Sequence[str]) -> tuple[Any, ...]:
    key: list[Any] = [ucp]
    for criterion in order:
        if criterion == "tie_break_rank":
            rank = bid.tie_break_rank
            key.append((rank is None, rank or 0))
        elif criterion == "capacity_desc":
            key.append(-(bid.capacity or 0))
        elif criterion == "bid_id":
            key.append(bid.id)
    key.append(bid.id)
    return tuple(key)


@dataclass
class _Ranking:
    """Valid bids in rank order (one per supplier) plus the outcomes already decided."""

    ranked: list[Bid]
    ucp: dict[str, Decimal]
    outcomes: dict[str, BidOutcome]
    bidders: int
    tie_notes: dict[str, tuple[ReasonPart, ...]]


def _rank(
    item: Item,
    bids: Sequence[Bid],
    parameters: Mapping[str, Any],
    coefficients: ComparablePriceCoefficients,
    *,
    ceiling: Decimal | None = None,
) -> _Ranking:
    order = list(parameters.get("tie_break", ["bid_id"]))
    ucp = {b.id: comparable_price(b, item, coefficients) for b in bids}
    outcomes: dict[str, BidOutcome] = {}
    valid: list[Bid] = []
    for bid in bids:
        reason = _validity(bid, item, ucp[bid.id], ceiling)
        if reason is None:
            valid.append(bid)
        else:
            outcomes[bid.id] = _outcome(bid, "invalid", (reason,), ucp[bid.id])
    valid.sort(key=lambda b: _sort_key(b, ucp[b.id], order))
    ranked: list[Bid] = []
    best_of_supplier: dict[str, Bid] = {}
    for bid in valid:
        if bid.supplier in best_of_supplier:
            better = best_of_supplier[bid.supplier]
            outcomes[bid.id] = _outcome(
                bid,
                "lost",
                (
                    part(
                        "ranked_by_lower_bid",
                        supplier=bid.supplier,
                        bid=better.id,
                        price=ucp[better.id],
                    ),
                ),
                ucp[bid.id],
            )
        else:
            best_of_supplier[bid.supplier] = bid
            ranked.append(bid)
    tie_notes: dict[str, tuple[ReasonPart, ...]] = {}
    full_order = order if "bid_id" in order else [*order, "bid_id"]
    for bid in ranked:
        tied = [o.id for o in ranked if o.id != bid.id and ucp[o.id] == ucp[bid.id]]
        if tied:
            tie_notes[bid.id] = (part("tied", price=ucp[bid.id], bids=tied, order=full_order),)
    count_mode = parameters.get("bidder_count", "eligible_bidders")
    if count_mode == "valid_bidders":
        bidders = len({b.supplier for b in valid})
    else:
        bidders = len({b.supplier for b in bids if b.eligible})
    return _Ranking(ranked, ucp, outcomes, bidders, tie_notes)


def _outcome(
    bid: Bid,
    status: BidStatus,
    reason: Sequence[ReasonPart],
    ucp: Decimal | None,
    *,
    rank: int | None = None,
    award_price: Decimal | None = None,
    group: str | None = None,
) -> BidOutcome:
    return BidOutcome(
        bid=bid.id,
        item=bid.item,
        supplier=bid.supplier,
        status=status,
        reason_parts=tuple(reason),
        unit_comparable_price=ucp,
        rank=rank,
        award_price=award_price,
        group=group,
    )


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _price_conditions(
    ucp: Decimal,
    lowest: Decimal,
    ceiling: Decimal,
    conditions: Mapping[str, Any],
) -> tuple[list[ReasonPart], list[ReasonPart]]:
    """(conditions met, conditions failed), each as a reason part in numbers."""
    met: list[ReasonPart] = []
    failed: list[ReasonPart] = []
    max_ratio = _optional_decimal(conditions.get("max_ratio_to_lowest"))
    max_price = _optional_decimal(conditions.get("max_unit_price"))
    min_cut = _optional_decimal(conditions.get("min_cut_from_ceiling"))
    if max_ratio is not None:
        ratio = ucp / lowest if lowest > 0 else Decimal(1)
        within = ratio <= max_ratio
        (met if within else failed).append(
            part(
                "ratio_to_lowest_within" if within else "ratio_to_lowest_above",
                ratio=_ratio_shown(ratio, max_ratio),
                lowest=lowest,
                limit=max_ratio,
            )
        )
    if max_price is not None:
        if ucp <= max_price:
            met.append(part("unit_price_within", price=ucp, max_price=max_price))
        else:
            failed.append(part("unit_price_above", price=ucp, max_price=max_price))
    if min_cut is not None:
        cut = (ceiling - ucp) / ceiling if ceiling > 0 else Decimal(0)
        enough = cut >= min_cut
        (met if enough else failed).append(
            part(
                "cut_from_ceiling_met" if enough else "cut_from_ceiling_short",
                cut=_shown(cut * 100, 1, lambda shown: shown >= min_cut * 100),
                ceiling=ceiling,
                needed=_percent_number(min_cut),
            )
        )
    return met, failed


def _volume_and_term(
    parameters: Mapping[str, Any], winners: int
) -> tuple[Decimal | None, int | None]:
    if winners == 0:
        return None, None
    share = Decimal(_table(parameters["volume_share_by_winners"], winners))
    term = int(_table(parameters["term_years_by_winners"], winners))
    return share, term


def decide_national_drug_item(
    item: Item, bids: Sequence[Bid], parameters: Mapping[str, Any]
) -> ItemDecision:
    """National drug rule (batches 2 to 9): a candidate inside the cap wins on a condition."""
    return _decide_drug_item(item, bids, parameters, anchor_price=False, price_adjustment=False)


def decide_national_drug_batch10_item(
    item: Item, bids: Sequence[Bid], parameters: Mapping[str, Any]
) -> ItemDecision:
    """Batch 10: a candidate failing every condition may win at the adjusted price."""
    return _decide_drug_item(item, bids, parameters, anchor_price=False, price_adjustment=True)


def decide_national_drug_anchor_item(
    item: Item, bids: Sequence[Bid], parameters: Mapping[str, Any]
) -> ItemDecision:
    """Batch 11: a candidate within a multiple of the anchor price wins too."""
    return _decide_drug_item(item, bids, parameters, anchor_price=True, price_adjustment=False)


def _decide_drug_item(
    item: Item,
    bids: Sequence[Bid],
    parameters: Mapping[str, Any],
    *,
    anchor_price: bool,
    price_adjustment: bool,
) -> ItemDecision:
    """National drug rule with its batch 10 (``price_adjustment``) and batch 11
    (``anchor_price``) variants."""
    coefficients = ComparablePriceCoefficients.from_parameters(
        parameters.get("comparable_price", {})
    )
    ranking = _rank(item, bids, parameters, coefficients)
    ranked, ucp, outcomes = ranking.ranked, ranking.ucp, ranking.outcomes
    notes: list[str] = []
    if not ranked:
        notes.append("no valid bid: the item is not awarded")
        return ItemDecision(
            item, _ordered(bids, outcomes), (), {}, ranking.bidders, 0, None, None, None,
            tuple(notes),
        )  # fmt: skip
    cap = int(_table(parameters["winner_cap_by_bidders"], max(ranking.bidders, 1)))
    lowest = ucp[ranked[0].id]
    conditions = parameters["price_conditions"]
    anchor, anchor_limit = (
        _anchor(ranked[:cap], ucp, lowest, parameters, notes) if anchor_price else (None, None)
    )
    winners: list[Bid] = []
    award: dict[str, Decimal] = {}
    pending_adjustment: list[tuple[int, Bid, tuple[ReasonPart, ...]]] = []
    for rank, bid in enumerate(ranked, start=1):
        price = ucp[bid.id]
        tie = ranking.tie_notes.get(bid.id, ())
        position = part("rank", rank=rank, valid_bids=len(ranked), cap=cap, bidders=ranking.bidders)
        if rank > cap:
            outcomes[bid.id] = _outcome(bid, "lost", (position, *tie), price, rank=rank)
            continue
        met, failed = _price_conditions(price, lowest, item.max_valid_bid_price, conditions)
        if anchor is not None and anchor_limit is not None:
            ratio = price / anchor
            within = ratio <= anchor_limit
            (met if within else failed).insert(
                0,
                part(
                    "ratio_to_anchor_within" if within else "ratio_to_anchor_above",
                    ratio=_ratio_shown(ratio, anchor_limit),
                    anchor=anchor,
                    limit=anchor_limit,
                ),
            )
        if met:
            winners.append(bid)
            award[bid.id] = price
            outcomes[bid.id] = _outcome(
                bid, "won", (position, met[0], *tie), price, rank=rank, award_price=price
            )
        elif price_adjustment and bid.accepts_price_adjustment:
            pending_adjustment.append((rank, bid, (position, *failed, *tie)))
        else:
            declined = (part("adjusted_price_declined"),) if price_adjustment else ()
            outcomes[bid.id] = _outcome(
                bid, "lost", (position, *failed, *declined, *tie), price, rank=rank
            )
    if pending_adjustment:
        _award_adjusted(pending_adjustment, parameters, lowest, ucp, award, outcomes, winners)
        winners.sort(key=lambda b: ranked.index(b))
    share, term = _volume_and_term(parameters, len(winners))
    return ItemDecision(
        item=item,
        outcomes=_ordered(bids, outcomes),
        winners=tuple(winners),
        award_prices=award,
        bidders=ranking.bidders,
        valid_bids=len(ranked),
        winner_cap=cap,
        agreed_volume_share=share,
        term_years=term,
        notes=tuple(notes),
    )


def _anchor(
    shortlisted: Sequence[Bid],
    ucp: Mapping[str, Decimal],
    lowest: Decimal,
    parameters: Mapping[str, Any],
    notes: list[str],
) -> tuple[Decimal, Decimal]:
    """Batch 11's anchor price (a share of the shortlisted bids' average, never below the
    lowest) and the highest ratio to it a winner may have; the note says how it was set."""
    prices = [ucp[b.id] for b in shortlisted]
    average = sum(prices, Decimal(0)) / len(prices)
    average_share = Decimal(parameters["anchor"]["average_share"])
    anchor = max((average_share * average).quantize(PRICE, ROUND_HALF_UP), lowest)
    notes.append(
        f"anchor price {money(anchor)} = max({_percent(average_share)} of the shortlisted "
        f"average {money(average.quantize(PRICE, ROUND_HALF_UP))}, the lowest {money(lowest)})"
    )
    return anchor, Decimal(parameters["anchor"]["max_ratio_to_anchor"])


def _award_adjusted(
    pending: Sequence[tuple[int, Bid, tuple[ReasonPart, ...]]],
    parameters: Mapping[str, Any],
    lowest: Decimal,
    ucp: Mapping[str, Decimal],
    award: dict[str, Decimal],
    outcomes: dict[str, BidOutcome],
    winners: list[Bid],
) -> None:
    """Batch 10: bids that failed the price conditions but accepted the adjusted price win
    at it (the ratio limit times the lowest, or the highest price already awarded)."""
    if parameters.get("adjusted_price") == "ratio_to_lowest":
        ratio_limit = Decimal(parameters["price_conditions"]["max_ratio_to_lowest"])
        adjusted = (ratio_limit * lowest).quantize(PRICE, ROUND_HALF_UP)
        basis = part("won_at_adjusted_price_ratio", price=adjusted, limit=ratio_limit)
    else:
        adjusted = max(award.values()) if award else lowest
        basis = part("won_at_adjusted_price_highest", price=adjusted)
    for rank, bid, parts in pending:
        winners.append(bid)
        award[bid.id] = adjusted
        outcomes[bid.id] = _outcome(
            bid, "won", (*parts, basis), ucp[bid.id], rank=rank, award_price=adjusted
        )


def _ordered(bids: Sequence[Bid], outcomes: Mapping[str, BidOutcome]) -> tuple[BidOutcome, ...]:
    return tuple(outcomes[b.id] for b in bids if b.id in outcomes)


def intended_volumes(item: Item, bids: Sequence[Bid]) -> dict[str, int]:
    """Each product's intended volume: hospitals' brand volumes, else the bid's own figure.

    The volume of a product nobody bid belongs to no bidder, so it counts for none.
    """
    declared: dict[str, int] = {b.id: 0 for b in bids}
    any_brand = False
    for demand in item.demand:
        for hospital in demand.hospitals:
            for brand in hospital.brand_volumes:
                any_brand = True
                if brand.bid is not None:
                    declared[brand.bid] = declared.get(brand.bid, 0) + brand.quantity
    if not any_brand:
        return {b.id: b.intended_volume or 0 for b in bids}
    return declared


def decide_consumables_item(
    item: Item, bids: Sequence[Bid], parameters: Mapping[str, Any]
) -> ItemDecision:
    """Consumables: split bidders into groups A and B by intended volume, price rule per group."""
    coefficients = ComparablePriceCoefficients()
    ranking = _rank(item, bids, parameters, coefficients)
    volumes = intended_volumes(item, bids)
    by_volume = sorted(ranking.ranked, key=lambda b: (-volumes.get(b.id, 0), b.id))
    total = sum(volumes.get(b.id, 0) for b in by_volume)
    threshold = Decimal(parameters["group_a_volume_share"]) * total
    groups: dict[str, str] = {}
    running = 0
    for bid in by_volume:
        groups[bid.id] = "A" if running < threshold or running == 0 else "B"
        running += volumes.get(bid.id, 0)
    max_ratio = Decimal(parameters["max_ratio_to_lowest"])
    outcomes = ranking.outcomes
    winners: list[Bid] = []
    award: dict[str, Decimal] = {}
    notes = [
        f"group A: the largest suppliers holding the first "
        f"{_percent(Decimal(parameters['group_a_volume_share']))} of {total} intended units"
    ]
    for group in ("A", "B"):
        members = [b for b in ranking.ranked if groups[b.id] == group]
        if not members:
            continue
        cap_table = parameters.get("winner_cap_by_bidders")
        cap = int(_table(cap_table, len(members))) if cap_table else len(members)
        lowest = ranking.ucp[members[0].id]
        for rank, bid in enumerate(members, start=1):
            price = ranking.ucp[bid.id]
            position = part("group_rank", group=group, rank=rank, members=len(members), cap=cap)
            tie = ranking.tie_notes.get(bid.id, ())
            ratio = price / lowest if lowest > 0 else Decimal(1)
            text = part(
                "group_ratio_within" if ratio <= max_ratio else "group_ratio_above",
                ratio=_ratio_shown(ratio, max_ratio),
                lowest=lowest,
                limit=max_ratio,
            )
            if rank <= cap and ratio <= max_ratio:
                winners.append(bid)
                award[bid.id] = price
                outcomes[bid.id] = _outcome(
                    bid,
                    "won",
                    (position, text, *tie),
                    price,
                    rank=rank,
                    award_price=price,
                    group=group,
                )
            else:
                why = (position,) if rank > cap else (position, text)
                outcomes[bid.id] = _outcome(
                    bid, "lost", (*why, *tie), price, rank=rank, group=group
                )
    winners.sort(key=lambda b: _sort_key(b, ranking.ucp[b.id], parameters["tie_break"]))
    return ItemDecision(
        item=item,
        outcomes=_ordered(bids, outcomes),
        winners=tuple(winners),
        award_prices=award,
        bidders=ranking.bidders,
        valid_bids=len(ranking.ranked),
        winner_cap=None,
        agreed_volume_share=Decimal(1) if winners else None,
        term_years=int(parameters["term_years"]) if winners else None,
        notes=tuple(notes),
        groups=groups,
    )


def decide_renewal_item(
    item: Item, bids: Sequence[Bid], parameters: Mapping[str, Any]
) -> ItemDecision:
    """Renewal: any valid quote not above the previous highest winning price wins."""
    ranking = _rank(item, bids, parameters, ComparablePriceCoefficients())
    limit = item.previous_highest_winning_price
    assert limit is not None  # checked by io._reference_errors for this kind
    winners: list[Bid] = []
    award: dict[str, Decimal] = {}
    for rank, bid in enumerate(ranking.ranked, start=1):
        price = ranking.ucp[bid.id]
        if price <= limit:
            winners.append(bid)
            award[bid.id] = price
            ranking.outcomes[bid.id] = _outcome(
                bid,
                "won",
                (part("not_above_previous_highest", price=price, previous=limit),),
                price,
                rank=rank,
                award_price=price,
            )
        else:
            ranking.outcomes[bid.id] = _outcome(
                bid,
                "lost",
                (part("above_previous_highest", price=price, previous=limit),),
                price,
                rank=rank,
            )
    return ItemDecision(
        item=item,
        outcomes=_ordered(bids, ranking.outcomes),
        winners=tuple(winners),
        award_prices=award,
        bidders=ranking.bidders,
        valid_bids=len(ranking.ranked),
        winner_cap=None,
        agreed_volume_share=Decimal(1) if winners else None,
        term_years=int(parameters["term_years"]) if winners else None,
    )


def valid_bids_for_optimisation(
    item: Item, bids: Sequence[Bid], parameters: Mapping[str, Any]
) -> ItemDecision:
    """Optimised award: the rule layer only checks validity; the solver picks winners."""
    ranking = _rank(
        item, bids, {**parameters, "tie_break": ["bid_id"]}, ComparablePriceCoefficients()
    )
    for rank, bid in enumerate(ranking.ranked, start=1):
        ranking.outcomes[bid.id] = _outcome(
            bid, "lost", (part("awaiting_optimiser"),), ranking.ucp[bid.id], rank=rank
        )
    return ItemDecision(
        item=item,
        outcomes=_ordered(bids, ranking.outcomes),
        winners=tuple(ranking.ranked),
        award_prices={b.id: ranking.ucp[b.id] for b in ranking.ranked},
        bidders=ranking.bidders,
        valid_bids=len(ranking.ranked),
        winner_cap=None,
        agreed_volume_share=None,
        term_years=None,
    )

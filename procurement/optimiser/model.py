"""Typed, frozen inputs and outputs of the award optimiser.

Money is ``Decimal`` (yuan), quantities are ``int`` (smallest units: tablets, vials,
stents, sets). Every tuple is kept in the canonical order that ``io`` produces
(sorted by id), so two equal problems are equal dataclasses and give equal results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from procurement.optimiser.reasons import ReasonPart, format_message, format_reason

BidStatus = Literal["won", "lost", "invalid"]
RunStatus = Literal["optimal", "feasible", "infeasible", "unknown", "rule_only"]

PROBLEM_FORMAT = "jicai.optimiser.problem/1"
RESULT_FORMAT = "jicai.optimiser.result/1"


def _frozen_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class RuleSet:
    """A named, versioned rule set: a rule kind plus its parameters (plain JSON data)."""

    kind: str
    parameters: Mapping[str, Any] = field(default_factory=_frozen_mapping)
    name: str = ""
    version: str = ""


@dataclass(frozen=True)
class Specification:
    id: str
    strength: Decimal | None = None
    fill_volume: Decimal | None = None
    pack_count: int = 1
    dosage_form: str | None = None
    oral_solid: bool = True
    max_valid_bid_price: Decimal | None = None


@dataclass(frozen=True)
class BrandVolume:
    """A hospital's intended volume of one product, for consumables.

    Either the product's ``bid``, or, for a product nobody bid, the product's own label
    ``product`` (``bid`` is then ``None``): the volume of a product that was not bid is
    moved like the volume of a product that lost (DESIGN §2.2), never dropped, so the
    hospital's other products keep their intended volumes.
    """

    bid: str | None
    quantity: int
    product: str | None = None


def brand_volume_order(brand: BrandVolume) -> tuple[bool, str, str]:
    """The canonical order of a hospital's brand volumes: bids by id, then unbid products."""
    return (brand.bid is None, brand.bid or "", brand.product or "")


@dataclass(frozen=True)
class HospitalDemand:
    id: str
    quantity: int
    brand_volumes: tuple[BrandVolume, ...] = ()
    reassign_to: tuple[str, ...] = ()


_new = object.__new__
# hospital_line writes these fields itself: a field added to HospitalDemand must be added there.
_HOSPITAL_FIELDS = ("id", "quantity", "brand_volumes", "reassign_to")
if tuple(f.name for f in fields(HospitalDemand)) != _HOSPITAL_FIELDS:  # pragma: no cover
    raise TypeError("HospitalDemand's fields changed: update hospital_line")


def hospital_line(id: str, quantity: int) -> HospitalDemand:
    """``HospitalDemand(id, quantity)`` without the frozen dataclass's per-field
    ``__setattr__`` calls: a national round builds 10^6 of them (in half the time). The
    object is equal to, and behaves exactly as, the one the constructor makes."""
    hospital = _new(HospitalDemand)
    state = hospital.__dict__
    state["id"] = id
    state["quantity"] = quantity
    state["brand_volumes"] = ()
    state["reassign_to"] = ()
    return hospital


@dataclass(frozen=True)
class RegionDemand:
    region: str
    quantity: int
    hospitals: tuple[HospitalDemand, ...] = ()


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    max_valid_bid_price: Decimal
    demand: tuple[RegionDemand, ...] = ()
    specifications: tuple[Specification, ...] = ()
    representative_specification: str | None = None
    reference_price: Decimal | None = None
    previous_highest_winning_price: Decimal | None = None
    # Optimised award only (None: the rule set's parameter applies). The item's own
    # minimum and maximum number of winners, and the penalty price per agreed unit left
    # unmet (given: the item may leave demand unmet, or end with no winner at all).
    min_winners: int | None = None
    max_winners: int | None = None
    unmet_penalty_price: Decimal | None = None

    @property
    def pooled_demand(self) -> int:
        return sum(d.quantity for d in self.demand)


@dataclass(frozen=True)
class Bid:
    id: str
    supplier: str
    item: str
    unit_price: Decimal
    specification: str | None = None
    unit_comparable_price: Decimal | None = None
    capacity: int | None = None
    eligible: bool = True
    ineligible_reason: str = ""
    region_preferences: tuple[str, ...] = ()
    backup_preferences: tuple[str, ...] = ()
    tie_break_rank: int | None = None
    intended_volume: int | None = None
    accepts_price_adjustment: bool = False
    fixed_award_cost: Decimal = Decimal(0)


@dataclass(frozen=True)
class Supplier:
    id: str
    name: str = ""
    capacity: int | None = None


@dataclass(frozen=True)
class RegionCost:
    """Extra cost of a bid supplying a region: per unit, and fixed if it supplies any.

    ``capacity_use_per_unit`` is how much of the bid's (and supplier's) capacity one unit
    delivered to the region consumes (1 unless a format user needs otherwise, e.g. the
    generalized assignment problem where the resource use depends on the pair).
    """

    bid: str
    region: str
    per_unit: Decimal = Decimal(0)
    fixed: Decimal = Decimal(0)
    capacity_use_per_unit: int = 1


@dataclass(frozen=True)
class Problem:
    rule_set: RuleSet
    items: tuple[Item, ...]
    bids: tuple[Bid, ...]
    regions: tuple[str, ...] = ()
    suppliers: tuple[Supplier, ...] = ()
    region_costs: tuple[RegionCost, ...] = ()
    input_hash: str = ""


@dataclass(frozen=True)
class BidOutcome:
    bid: str
    item: str
    supplier: str
    status: BidStatus
    reason_parts: tuple[ReasonPart, ...]
    unit_comparable_price: Decimal | None
    rank: int | None = None
    award_price: Decimal | None = None
    group: str | None = None

    @property
    def reason(self) -> str:
        """The reason in English, derived from :attr:`reason_parts`."""
        return format_reason(self.reason_parts)


@dataclass(frozen=True)
class ItemOutcome:
    item: str
    winners: tuple[str, ...]
    bidders: int
    valid_bids: int
    winner_cap: int | None
    agreed_volume_share: Decimal | None
    pooled_demand: int
    agreed_volume: int
    term_years: int | None
    cost: Decimal
    savings_vs_reference: Decimal | None
    savings_vs_ceiling: Decimal
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Allocation:
    item: str
    bid: str
    supplier: str
    region: str
    quantity: int
    unit_price: Decimal
    delivery_cost: Decimal
    cost: Decimal
    backup_bid: str | None = None
    source: str = ""


@dataclass(frozen=True)
class HospitalAllocation:
    item: str
    bid: str
    region: str
    hospital: str
    quantity: int


# hospital_allocation writes these fields itself: a field added must be added there.
_ALLOCATION_FIELDS = ("item", "bid", "region", "hospital", "quantity")
if tuple(f.name for f in fields(HospitalAllocation)) != _ALLOCATION_FIELDS:  # pragma: no cover
    raise TypeError("HospitalAllocation's fields changed: update hospital_allocation")


def hospital_allocation(
    item: str, bid: str, region: str, hospital: str, quantity: int
) -> HospitalAllocation:
    """``HospitalAllocation(item, bid, region, hospital, quantity)`` without the frozen
    dataclass's per-field ``__setattr__`` calls (a national round makes 10^6 of them);
    equal to, and behaving exactly as, the one the constructor makes."""
    row = _new(HospitalAllocation)
    state = row.__dict__
    state["item"] = item
    state["bid"] = bid
    state["region"] = region
    state["hospital"] = hospital
    state["quantity"] = quantity
    return row


@dataclass(frozen=True)
class UnmetDemand:
    """Agreed units of an (item, region) the optimised award leaves unmet, at a penalty."""

    item: str
    region: str
    quantity: int
    penalty_price: Decimal  # per unit
    penalty: Decimal  # quantity x penalty_price, exact


@dataclass(frozen=True)
class Totals:
    cost: Decimal
    reference_cost: Decimal | None
    ceiling_cost: Decimal
    savings_vs_reference: Decimal | None
    savings_vs_ceiling: Decimal
    # Only when the problem lets demand go unmet: the penalties of the unmet units (the
    # objective is cost + unmet_penalty); None otherwise, and then not in the document.
    unmet_penalty: Decimal | None = None


@dataclass(frozen=True)
class RunRecord:
    status: RunStatus
    input_hash: str
    solver: str = "none"
    objective: Decimal | None = None
    bound: Decimal | None = None
    gap: Decimal | None = None
    # Run messages (``reasons.MESSAGE_CODES``): why there is no solution, and warnings.
    explanation_parts: tuple[ReasonPart, ...] = ()
    warning_parts: tuple[ReasonPart, ...] = ()
    # Why the automatic backend ("auto") chose the solver it used; empty otherwise.
    solver_reason_parts: tuple[ReasonPart, ...] = ()

    @property
    def solver_reason(self) -> str:
        """The reason for the backend in English, derived from :attr:`solver_reason_parts`."""
        return "; ".join(format_message(p) for p in self.solver_reason_parts)

    @property
    def explanation(self) -> tuple[str, ...]:
        """The explanation in English, derived from :attr:`explanation_parts`."""
        return tuple(format_message(p) for p in self.explanation_parts)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The warnings in English, derived from :attr:`warning_parts`."""
        return tuple(format_message(p) for p in self.warning_parts)


@dataclass(frozen=True)
class Result:
    rule_set: RuleSet
    run: RunRecord
    bids: tuple[BidOutcome, ...]
    items: tuple[ItemOutcome, ...]
    allocations: tuple[Allocation, ...]
    hospital_allocations: tuple[HospitalAllocation, ...]
    totals: Totals
    solve_seconds: float = 0.0
    # Optimised award that may leave demand unmet: the unmet units (``unmet_allowed``
    # says the problem allowed it, so the document lists them even when there are none).
    unmet: tuple[UnmetDemand, ...] = ()
    unmet_allowed: bool = False

"""Structured reasons: why a bid won, lost or is invalid, as codes with parameters.

Every bid outcome carries a tuple of :class:`ReasonPart` (a stable ``code`` plus JSON
``params``: strings, integers, lists of strings; prices and ratios are decimal strings
exactly as the rule computed them). The English ``reason`` of the result document is
derived from the parts by :func:`format_reason`, the only place the English wording
lives, so a command-line user reads a sentence and the web application can render the
same parts in the reader's language (``contracts/reasons.py``). Codes are part of the
result format (``jicai.optimiser.result/1``): add new ones, never rename one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

ParamValue = str | int | tuple[str, ...]

# code -> English wording. Placeholders are the part's params; a list is joined with ", "
# and ``units`` is grouped in thousands.
ENGLISH: Mapping[str, str] = MappingProxyType(
    {
        # validity
        "not_eligible": "not eligible",
        "not_eligible_detail": "not eligible: {detail}",
        "above_specification_ceiling": (
            "{price} is above the maximum valid bid price {ceiling} of specification "
            "{specification}"
        ),
        "above_ceiling": "{price} is above the maximum valid bid price {ceiling}",
        # ranking
        "ranked_by_lower_bid": "supplier {supplier} is ranked by its lower bid {bid} ({price})",
        "tied": "tied at {price} with {bids}; ties ordered by {order}",
        "rank": "rank {rank} of {valid_bids} valid bids, cap {cap} for {bidders} bidders",
        # price conditions (national drug rules)
        "ratio_to_lowest_within": "{ratio} x the lowest {lowest}, limit {limit}",
        "ratio_to_lowest_above": "{ratio} x the lowest {lowest}, limit {limit}",
        "unit_price_within": "{price} per unit is at most {max_price}",
        "unit_price_above": "{price} per unit is above {max_price}",
        "cut_from_ceiling_met": (
            "cuts {cut}% from the maximum valid bid price {ceiling}, needs {needed}%"
        ),
        "cut_from_ceiling_short": (
            "cuts {cut}% from the maximum valid bid price {ceiling}, needs {needed}%"
        ),
        "ratio_to_anchor_within": "{ratio} x the anchor price {anchor}, limit {limit}",
        "ratio_to_anchor_above": "{ratio} x the anchor price {anchor}, limit {limit}",
        # batch 10 adjusted price
        "adjusted_price_declined": "did not accept the adjusted price",
        "won_at_adjusted_price_highest": (
            "won at the adjusted price {price} (the highest winning price), accepted in the bid"
        ),
        "won_at_adjusted_price_ratio": (
            "won at the adjusted price {price} ({limit} x the lowest), accepted in the bid"
        ),
        # consumables groups
        "group_rank": "group {group}: rank {rank} of {members}, cap {cap}",
        "group_ratio_within": "{ratio} x the group's lowest {lowest}, limit {limit}",
        "group_ratio_above": "{ratio} x the group's lowest {lowest}, limit {limit}",
        # renewal
        "not_above_previous_highest": (
            "{price} is not above the previous highest winning price {previous}"
        ),
        "above_previous_highest": "{price} is above the previous highest winning price {previous}",
        # optimised award
        "awaiting_optimiser": "valid; awaiting the optimiser",
        "optimiser_awarded": (
            "awarded by the optimiser: {regions} region(s), {units} units at {price}"
        ),
        "optimiser_no_award": "no award: the optimised scenario is {status}",
        "optimiser_not_chosen": (
            "not chosen by the optimiser: a cheaper award meets every constraint"
        ),
        "optimiser_item_left_unmet": (
            "not chosen by the optimiser: no bid of the item is awarded; its {units} agreed "
            "units are left unmet at the penalty {penalty} per unit, which costs less than "
            "any award meeting every constraint"
        ),
    }
)

REASON_CODES: frozenset[str] = frozenset(ENGLISH)

# Parts written in brackets after the part before them rather than after a "; ".
PARENTHETICAL: frozenset[str] = frozenset({"tied"})

# Parameters that are counts of units (grouped in thousands when shown).
UNIT_PARAMS: frozenset[str] = frozenset({"units", "total"})


@dataclass(frozen=True)
class ReasonPart:
    """One clause of a reason: a code from :data:`REASON_CODES` and its parameters."""

    code: str
    params: Mapping[str, ParamValue] = field(default_factory=lambda: MappingProxyType({}))

    def __hash__(self) -> int:
        return hash((self.code, tuple(sorted(self.params.items()))))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"code": ..., "params": {...}}`` with lists for tuples."""
        return {
            "code": self.code,
            "params": {
                k: list(v) if isinstance(v, tuple) else v for k, v in sorted(self.params.items())
            },
        }


def part(code: str, **params: Decimal | str | int | Sequence[str]) -> ReasonPart:
    """A reason part; a ``Decimal`` is kept as its exact text (``0.4200`` stays so)."""
    if code not in REASON_CODES:
        raise ValueError(f"unknown reason code {code!r}")
    return ReasonPart(code, _params(**params))


def _params(**params: Decimal | str | int | Sequence[str]) -> MappingProxyType[str, ParamValue]:
    converted: dict[str, ParamValue] = {}
    for name, value in params.items():
        if isinstance(value, Decimal):
            converted[name] = format(value, "f")
        elif isinstance(value, str | int):
            converted[name] = value
        else:
            converted[name] = tuple(str(v) for v in value)
    return MappingProxyType(converted)


def _english(reason: ReasonPart, wording: Mapping[str, str] = ENGLISH) -> str:
    values: dict[str, Any] = {}
    for name, value in reason.params.items():
        if isinstance(value, tuple | list):
            values[name] = ", ".join(value)
        elif name in UNIT_PARAMS and isinstance(value, int):
            values[name] = f"{value:,}"
        else:
            values[name] = value
    return wording[reason.code].format(**values)


def format_reason(parts: Sequence[ReasonPart]) -> str:
    """The English sentence of a reason: clauses joined by "; ", ties in brackets."""
    text = ""
    for reason in parts:
        clause = _english(reason)
        if reason.code in PARENTHETICAL:
            text += f" ({clause})"
        elif text:
            text += f"; {clause}"
        else:
            text = clause
    return text


# Run messages: the run's warnings, why an optimised award has no solution (the
# constraint groups that conflict, or the time limit), and the constraints the scenario
# comparison relaxes with what each is relaxed to. Same form as reason parts (a stable
# code and params, ``units`` grouped in thousands in English), their own codes.
MESSAGE_ENGLISH: Mapping[str, str] = MappingProxyType(
    {
        # warnings (province assignment)
        "capacity_shortfall": (
            "item {item}: bid {bid} is assigned {excess} units more than its declared "
            "capacity {capacity}: capacity shortfall"
        ),
        # explanation: constraint groups of the optimised award
        "min_winners_for_item": "at least {count} winners for item {item}",
        "max_winners_for_item": "at most {count} winners for item {item}",
        "min_split_share_for_item": (
            "each supplier of a region of item {item} takes at least {share} of it"
        ),
        "supply_region": "supply all {units} agreed units of item {item} in region {region}",
        "supply_region_single_source": (
            "supply all {units} agreed units of item {item} in region {region} from one supplier"
        ),
        "bid_capacity": "capacity of bid {bid} ({units} units)",
        "supplier_capacity": "capacity of supplier {supplier} across items ({units} units)",
        "supplier_share": "supplier {supplier} at most {share} of all {units} units",
        "supply_region_or_unmet": (
            "supply the {units} agreed units of item {item} in region {region} or leave them unmet"
        ),
        "supply_region_single_source_or_unmet": (
            "supply the {units} agreed units of item {item} in region {region} from one "
            "supplier or leave them unmet"
        ),
        "max_price_ratio_for_item": (
            "the winners of item {item} within {ratio} x its lowest winning price"
        ),
        "min_national_share_for_item": (
            "each winner of item {item} supplies at least {share} of its {total} agreed "
            "units ({units} units)"
        ),
        # warnings (optimised award)
        "unmet_demand": (
            "item {item}: {units} agreed units in {regions} region(s) left unmet at the "
            "penalty {penalty} per unit"
        ),
        # why the automatic backend chose its solver (run.solver_reason_parts)
        "backend_cp_sat_small": (
            "CP-SAT: {variables} variables (fewer than {threshold}); CP-SAT proved small "
            "models fastest"
        ),
        "backend_highs_large": (
            "HiGHS: {variables} variables (at least {threshold}); HiGHS proved large models fastest"
        ),
        "backend_decomposed_national": (
            "decomposition: {variables} variables (at least {threshold}), the national shape "
            "over {items} items linked by capacity: a Lagrangian bound over per-item models, "
            "then HiGHS on the model of the winners they chose"
        ),
        # explanation: no solution in time
        "no_solution_within_time": "no solution found within {seconds} s for item(s) {items}",
        # constraints relaxed by the scenario comparison
        "relax_min_winners": "at least {count} winners per item",
        "relax_max_winners": "at most {count} winners per item",
        "relax_supplier_share": "supplier share at most {share}",
        "relax_single_source": "one supplier per region",
        "relax_min_split_share": "minimum split share {share}",
        "relax_supplier_capacity": "supplier capacity across items",
        "relax_bid_capacity": "bid capacity",
        "relax_item_min_winners": "the items' own minimum numbers of winners",
        "relax_item_max_winners": "the items' own maximum numbers of winners",
        "relax_price_ratio": "winners within {ratio} x the item's lowest winning price",
        "relax_min_national_share": "each winner at least {share} of the item's volume",
        # what a constraint is relaxed to
        "relaxed_to_count": "{count}",
        "relaxed_no_maximum": "no maximum",
        "relaxed_no_minimum": "no minimum",
        "relaxed_split_allowed": "split allowed",
        "relaxed_unlimited": "unlimited",
    }
)

MESSAGE_CODES: frozenset[str] = frozenset(MESSAGE_ENGLISH)


def message(code: str, **params: Decimal | str | int | Sequence[str]) -> ReasonPart:
    """A run message (:data:`MESSAGE_CODES`): a warning, an explanation line or a
    relaxed constraint, as a code and params like a reason part."""
    if code not in MESSAGE_CODES:
        raise ValueError(f"unknown message code {code!r}")
    return ReasonPart(code, _params(**params))


def format_message(message_part: ReasonPart) -> str:
    """A run message in English (the text of the result document)."""
    return _english(message_part, MESSAGE_ENGLISH)


def message_record(message_part: ReasonPart) -> dict[str, Any]:
    """A run message as stored JSON: ``{"code", "params", "text"}`` (``text`` in English,
    for a reader that does not know the code)."""
    return {**message_part.to_dict(), "text": format_message(message_part)}


# The ``source`` of an allocation: how a province or hospital volume was assigned. They
# are values of the result format, stable like the reason codes.
SOURCE_PREFERENCE = "winner's preference"
SOURCE_PLATFORM_ASSIGNMENT = "platform assignment (minimum cost)"
SOURCE_INTENDED_VOLUME = "hospital's intended volume"
SOURCE_HOSPITAL_CHOICE = "hospital's choice for a losing product"
SOURCE_MINIMUM_COST_DEFAULT = "minimum-cost default"
SOURCE_OPTIMISED_AWARD = "optimised award"
ALLOCATION_SOURCES: frozenset[str] = frozenset(
    {
        SOURCE_PREFERENCE,
        SOURCE_PLATFORM_ASSIGNMENT,
        SOURCE_INTENDED_VOLUME,
        SOURCE_HOSPITAL_CHOICE,
        SOURCE_MINIMUM_COST_DEFAULT,
        SOURCE_OPTIMISED_AWARD,
    }
)

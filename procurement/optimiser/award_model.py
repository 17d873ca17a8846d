"""The optimised award's model: variables and constraints in a small neutral form.

``build_award_model`` translates a problem's optimised-award parameters (and the items'
own limits: the national shape) into a ``LinearModel``: integer variables with bounds,
linear constraints with integer coefficients, each in a named group that can explain an
infeasibility, and integer (scaled) costs. ``backends`` hands it to CP-SAT or HiGHS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from procurement.optimiser.allocation import Pricing, agreed_quantity, decimals_of
from procurement.optimiser.model import Bid, Item, Problem
from procurement.optimiser.reasons import ReasonPart, format_message, message
from procurement.optimiser.rules import ItemDecision


@dataclass
class Constraint:
    terms: list[tuple[int, int]]  # (variable index, integer coefficient)
    lower: int | None
    upper: int | None
    group: str
    hard: bool = False  # structural links are never part of an explanation


@dataclass
class LinearModel:
    """Variables are integer in [0, upper]; ``objective`` has integer (scaled) costs."""

    names: list[str] = field(default_factory=list)
    upper: list[int] = field(default_factory=list)
    objective: list[int] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    # group name (its English text) -> the run message that names it in an explanation
    messages: dict[str, ReasonPart] = field(default_factory=dict)
    hint: dict[int, int] = field(default_factory=dict)
    _group_set: set[str] = field(default_factory=set, repr=False)

    def var(self, name: str, upper: int, cost: int = 0) -> int:
        self.names.append(name)
        self.upper.append(upper)
        self.objective.append(cost)
        return len(self.names) - 1

    def add(
        self,
        terms: list[tuple[int, int]],
        lower: int | None,
        upper: int | None,
        group: ReasonPart | str,
        *,
        hard: bool = False,
    ) -> None:
        """A constraint of a group; a group that may explain infeasibility is a run
        message, a structural link (``hard``) only a name."""
        if isinstance(group, ReasonPart):
            name = format_message(group)
            self.messages.setdefault(name, group)
        elif not hard:
            raise ValueError(f"constraint group {group!r} needs a message to explain it")
        else:
            name = group
        if not hard and name not in self._group_set:  # a set: one model has ~10^5 constraints
            self._group_set.add(name)
            self.groups.append(name)
        self.constraints.append(Constraint(terms, lower, upper, name, hard))


@dataclass(frozen=True)
class Cell:
    """One (bid, region) pair the model may award: its quantity and selection variables."""

    item: str
    bid: Bid
    region: str
    quantity: int  # agreed quantity of the region
    select: int  # variable index: 1 when the bid supplies the region
    amount: int | None  # variable index of the quantity when splitting is allowed


@dataclass(frozen=True)
class UnmetCell:
    """The agreed units of one (item, region) that may be left unmet, at a penalty."""

    item: str
    region: str
    quantity: int
    var: int  # single source: 1 when the region is left unmet; split: the units left
    single: bool
    penalty: Decimal  # per unit


@dataclass(frozen=True)
class AwardModel:
    model: LinearModel
    cells: tuple[Cell, ...]
    awards: Mapping[str, int]  # bid id -> award variable
    volume_share: Decimal
    unmet: tuple[UnmetCell, ...] = ()


def agreed_total(problem: Problem) -> int:
    """All agreed units of the problem (the base of ``max_supplier_share``)."""
    share = Decimal(problem.rule_set.parameters["volume_share"])
    return sum(agreed_quantity(d.quantity, share) for item in problem.items for d in item.demand)


@dataclass(frozen=True)
class ItemTerms:
    """The optimised award's per-item limits: the item's own values, else the rule set's."""

    min_winners: int
    max_winners: int | None
    penalty: Decimal | None  # per agreed unit left unmet; None: every unit must be supplied


def unmet_penalty_price(item: Item, parameters: Mapping[str, Any]) -> Decimal | None:
    """The item's ``unmet_penalty_price``, else ``unmet_penalty_ratio`` x its maximum valid
    bid price (rounded half up to 6 decimals, the format's money precision, only when the
    product has more), else None: the item's agreed units must all be supplied."""
    if item.unmet_penalty_price is not None:
        return item.unmet_penalty_price
    ratio = parameters.get("unmet_penalty_ratio")
    if ratio is None:
        return None
    price = Decimal(ratio) * item.max_valid_bid_price
    if decimals_of(price) > 6:
        price = price.quantize(Decimal("0.000001"), ROUND_HALF_UP)
    return price


def item_terms(item: Item, parameters: Mapping[str, Any]) -> ItemTerms:
    return ItemTerms(
        min_winners=(
            item.min_winners if item.min_winners is not None else parameters["min_winners_per_item"]
        ),
        max_winners=(
            item.max_winners if item.max_winners is not None else parameters["max_winners_per_item"]
        ),
        penalty=unmet_penalty_price(item, parameters),
    )


def price_windows(prices: Sequence[tuple[Decimal, str]], ratio: Decimal) -> list[list[str]]:
    """The maximal sets of bids whose prices lie within ``ratio`` x the lowest of the set.

    ``prices`` are (award price, bid id). Sorted by price, the bids a lowest winner w
    admits are w and every later bid priced at most ``ratio`` x w's price (exactly at the
    limit included): a window. A window inside another is left out. Empty when every
    bid fits in one window (the limit cannot bind).
    """
    ordered = sorted(prices)
    if not ordered or ordered[-1][0] <= ratio * ordered[0][0]:
        return []
    windows: list[list[str]] = []
    end = 0
    for start, (low, _) in enumerate(ordered):
        if start > 0 and ordered[start - 1][0] == low:
            continue  # equal prices open the same window
        end = max(end, start)
        while end + 1 < len(ordered) and ordered[end + 1][0] <= ratio * low:
            end += 1
        members = [b for _, b in ordered[start : end + 1]]
        if not windows or members[-1] != windows[-1][-1]:
            windows.append(members)
    return windows


def build_award_model(
    problem: Problem,
    decisions: Sequence[ItemDecision],
    pricing: Pricing,
    total_volume: int | None = None,
) -> AwardModel:
    """Translate the optimised-award parameters into a ``LinearModel`` over ``decisions``.

    ``total_volume`` is the base of the supplier share limit: all agreed units of the
    problem, also when the model covers only some of its items. A problem that uses none
    of the national-shape parameters gets exactly the model (variables, constraints and
    their order, hint) it had before they existed, so its result is unchanged.
    """
    p = problem.rule_set.parameters
    share = Decimal(p["volume_share"])
    if total_volume is None:
        total_volume = agreed_total(problem)
    build = _ModelBuild(
        parameters=p,
        pricing=pricing,
        share=share,
        single=bool(p["single_source_per_region"]),
        use={k: c.capacity_use_per_unit for k, c in pricing.costs.items()},
    )
    for decision in decisions:
        build.add_item(decision)
    model = build.model
    for supplier in problem.suppliers:
        terms = build.supplier_terms.get(supplier.id, [])
        if supplier.capacity is not None and terms:
            model.add(
                terms,
                None,
                supplier.capacity,
                message("supplier_capacity", supplier=supplier.id, units=supplier.capacity),
            )
    cap = p.get("max_supplier_share")
    if cap is not None:
        limit = int(Decimal(cap) * total_volume)
        for supplier_id, terms in sorted(build.supplier_terms.items()):
            model.add(
                terms,
                None,
                limit,
                message("supplier_share", supplier=supplier_id, share=str(cap), units=total_volume),
            )
    return AwardModel(model, tuple(build.cells), build.awards, share, tuple(build.unmet))


@dataclass
class _ModelBuild:
    """The model under construction, item by item (``build_award_model``)."""

    parameters: Mapping[str, Any]
    pricing: Pricing
    share: Decimal
    single: bool
    use: Mapping[tuple[str, str], int]
    model: LinearModel = field(default_factory=LinearModel)
    cells: list[Cell] = field(default_factory=list)
    unmet: list[UnmetCell] = field(default_factory=list)
    awards: dict[str, int] = field(default_factory=dict)
    supplier_terms: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def add_item(self, decision: ItemDecision) -> None:
        model, item = self.model, decision.item
        terms = item_terms(item, self.parameters)
        bids = list(decision.winners)  # for this kind: every valid bid, in rank order
        for bid in bids:
            self.awards[bid.id] = model.var(
                f"award[{bid.id}]", 1, self.pricing.to_int(bid.fixed_award_cost)
            )
        item_awards = [(self.awards[b.id], 1) for b in bids]
        low, high = terms.min_winners, terms.max_winners
        model.add(item_awards, low, None, message("min_winners_for_item", count=low, item=item.id))
        if high is not None:
            model.add(
                item_awards, None, high, message("max_winners_for_item", count=high, item=item.id)
            )
        bid_terms: dict[str, list[tuple[int, int]]] = {b.id: [] for b in bids}
        volume_terms: dict[str, list[tuple[int, int]]] = {b.id: [] for b in bids}
        item_volume = 0
        for demand in item.demand:
            q = agreed_quantity(demand.quantity, self.share)
            if q == 0:
                continue
            item_volume += q
            self._add_region(decision, demand.region, q, terms.penalty, bid_terms, volume_terms)
        for bid in bids:
            model.add(
                [*bid_terms[bid.id], (self.awards[bid.id], -1)], 0, None, "award link", hard=True
            )
            if bid.capacity is not None:
                model.add(
                    bid_terms[bid.id],
                    None,
                    bid.capacity,
                    message("bid_capacity", bid=bid.id, units=bid.capacity),
                )
        self._add_national_shape(decision, item_volume, volume_terms)

    def _add_region(
        self,
        decision: ItemDecision,
        region: str,
        q: int,
        penalty: Decimal | None,
        bid_terms: dict[str, list[tuple[int, int]]],
        volume_terms: dict[str, list[tuple[int, int]]],
    ) -> None:
        """The cells of one (item, region): who may supply its q agreed units, or none."""
        model, pricing, item = self.model, self.pricing, decision.item
        min_split = self.parameters.get("min_split_share")
        region_cover: list[tuple[int, int]] = []
        region_cells: list[Cell] = []
        for bid in decision.winners:
            extra = pricing.region_cost(bid.id, region)
            unit = decision.award_prices[bid.id] + (extra.per_unit if extra else Decimal(0))
            fixed = extra.fixed if extra else Decimal(0)
            weight = self.use.get((bid.id, region), 1)
            if self.single:
                select = model.var(
                    f"supply[{bid.id},{region}]", 1, pricing.to_int(unit * q + fixed)
                )
                amount = None
                region_cover.append((select, q))
                bid_terms[bid.id].append((select, q * weight))
                volume_terms[bid.id].append((select, q))
                self.supplier_terms.setdefault(bid.supplier, []).append((select, q))
            else:
                select = model.var(f"uses[{bid.id},{region}]", 1, pricing.to_int(fixed))
                amount = model.var(f"units[{bid.id},{region}]", q, pricing.to_int(unit))
                region_cover.append((amount, 1))
                bid_terms[bid.id].append((amount, weight))
                volume_terms[bid.id].append((amount, 1))
                self.supplier_terms.setdefault(bid.supplier, []).append((amount, 1))
                model.add([(amount, 1), (select, -q)], None, 0, "split link", hard=True)
                if min_split is not None:
                    least = int((Decimal(min_split) * q).to_integral_value(rounding=ROUND_CEILING))
                    model.add(
                        [(amount, 1), (select, -least)],
                        0,
                        None,
                        message("min_split_share_for_item", item=item.id, share=str(min_split)),
                    )
            model.add([(select, 1), (self.awards[bid.id], -1)], None, 0, "award link", hard=True)
            cell = Cell(item.id, bid, region, q, select, amount)
            self.cells.append(cell)
            region_cells.append(cell)
        code = "supply_region_single_source" if self.single else "supply_region"
        if penalty is not None:
            if self.single:
                left = model.var(f"unmet[{item.id},{region}]", 1, pricing.to_int(penalty * q))
                region_cover.append((left, q))
            else:
                left = model.var(f"unmet[{item.id},{region}]", q, pricing.to_int(penalty))
                region_cover.append((left, 1))
            self.unmet.append(UnmetCell(item.id, region, q, left, self.single, penalty))
            code += "_or_unmet"
        model.add(region_cover, q, q, message(code, units=q, item=item.id, region=region))
        # Hint: the cheapest valid bid supplies the region (the rule-based default); one
        # pass over this region's own cells.
        if self.single and region_cells:
            cheapest = min(region_cells, key=lambda c: (model.objective[c.select], c.bid.id))
            model.hint[cheapest.select] = 1

    def _add_national_shape(
        self,
        decision: ItemDecision,
        item_volume: int,
        volume_terms: dict[str, list[tuple[int, int]]],
    ) -> None:
        """A minimum national share per winner and a maximum price ratio among winners."""
        model, item, bids = self.model, decision.item, decision.winners
        least_share = self.parameters.get("min_national_share_per_winner")
        if least_share is not None and item_volume > 0:
            least = int(
                (Decimal(least_share) * item_volume).to_integral_value(rounding=ROUND_CEILING)
            )
            group = message(
                "min_national_share_for_item",
                item=item.id,
                share=str(least_share),
                total=item_volume,
                units=least,
            )
            for bid in bids:
                award = self.awards[bid.id]
                model.add([*volume_terms[bid.id], (award, -least)], 0, None, group)
        ratio = self.parameters.get("max_price_ratio_among_winners")
        if ratio is None:
            return
        windows = price_windows([(decision.award_prices[b.id], b.id) for b in bids], Decimal(ratio))
        if not windows:
            return
        group = message("max_price_ratio_for_item", item=item.id, ratio=str(ratio))
        opened: dict[str, list[tuple[int, int]]] = {b.id: [] for b in bids}
        lowest: list[tuple[int, int]] = []
        for members in windows:
            window = model.var(f"window[{members[0]}]", 1)
            lowest.append((window, 1))
            for bid_id in members:
                opened[bid_id].append((window, -1))
        # At most one window: the set of winners lies within ratio x its lowest price.
        model.add(lowest, None, 1, "one price window", hard=True)
        for bid in bids:
            model.add([(self.awards[bid.id], 1), *opened[bid.id]], None, 0, group)

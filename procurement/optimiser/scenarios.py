"""Scenario comparison: several rule sets on the same bids, side by side.

For each scenario: total cost, number of winners, savings, concentration (HHI over
suppliers' awarded volume) and volume per supplier. For an optimised-award scenario,
also the cost of each constraint: the optimum with the constraint minus the optimum
without it (the scenario solved again with that one constraint relaxed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from procurement.optimiser.kinds import Family, family_of
from procurement.optimiser.model import Problem, Result, RuleSet, Supplier
from procurement.optimiser.presets import validate_rule_set
from procurement.optimiser.reasons import ReasonPart, format_message, message
from procurement.optimiser.solve import solve


@dataclass(frozen=True)
class ConstraintCost:
    constraint_part: ReasonPart  # a run message (``reasons.MESSAGE_CODES``)
    relaxed_to_part: ReasonPart
    cost_without: Decimal | None
    cost_of_constraint: Decimal | None  # None when either run is infeasible

    @property
    def constraint(self) -> str:
        """The constraint in English."""
        return format_message(self.constraint_part)

    @property
    def relaxed_to(self) -> str:
        """What it is relaxed to, in English."""
        return format_message(self.relaxed_to_part)


@dataclass(frozen=True)
class ScenarioRow:
    name: str
    kind: str
    status: str
    total_cost: Decimal | None
    winners: int
    savings_vs_reference: Decimal | None
    savings_vs_ceiling: Decimal | None
    hhi: Decimal
    volume_by_supplier: tuple[tuple[str, int], ...]
    constraint_costs: tuple[ConstraintCost, ...] = ()


def hhi(volumes: Mapping[str, int]) -> Decimal:
    """Herfindahl-Hirschman index of awarded volume: sum of squared % shares (0 to 10,000)."""
    total = sum(volumes.values())
    if total == 0:
        return Decimal(0)
    index = sum(((Decimal(100) * v / total) ** 2 for v in volumes.values()), Decimal(0))
    return index.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _volumes(result: Result) -> dict[str, int]:
    volumes: dict[str, int] = {}
    for allocation in result.allocations:
        volumes[allocation.supplier] = volumes.get(allocation.supplier, 0) + allocation.quantity
    return dict(sorted(volumes.items()))


def _with_rule_set(problem: Problem, rule_set: RuleSet) -> Problem:
    errors = validate_rule_set(rule_set.kind, rule_set.parameters)
    if errors:
        raise ValueError(f"rule set {rule_set.name!r}: {errors}")
    return dataclasses.replace(problem, rule_set=rule_set)


def _cost(result: Result) -> Decimal | None:
    return None if result.run.status == "infeasible" else result.totals.cost


def _relaxations(problem: Problem) -> list[tuple[ReasonPart, ReasonPart, Problem]]:
    """(constraint, relaxed form, problem without it) for an optimised-award problem."""
    parameters: dict[str, Any] = dict(problem.rule_set.parameters)
    out: list[tuple[ReasonPart, ReasonPart, Problem]] = []

    def relaxed(name: ReasonPart, to: ReasonPart, **changes: Any) -> None:
        rule_set = dataclasses.replace(problem.rule_set, parameters={**parameters, **changes})
        out.append((name, to, dataclasses.replace(problem, rule_set=rule_set)))

    item_low = any(i.min_winners is not None and i.min_winners > 1 for i in problem.items)
    item_high = any(i.max_winners is not None for i in problem.items)
    if parameters["min_winners_per_item"] > 1 and not item_low:
        relaxed(
            message("relax_min_winners", count=parameters["min_winners_per_item"]),
            message("relaxed_to_count", count=1),
            min_winners_per_item=1,
        )
    elif item_low:  # items' own minimums (the national shape): all relaxed together
        least = min(parameters["min_winners_per_item"], 1)
        out.append(
            (
                message("relax_item_min_winners"),
                message("relaxed_to_count", count=least),
                _items_replaced(problem, min_winners_per_item=least),
            )
        )
    if parameters["max_winners_per_item"] is not None and not item_high:
        relaxed(
            message("relax_max_winners", count=parameters["max_winners_per_item"]),
            message("relaxed_no_maximum"),
            max_winners_per_item=None,
        )
    elif item_high:
        out.append(
            (
                message("relax_item_max_winners"),
                message("relaxed_no_maximum"),
                _items_replaced(problem, max_winners_per_item=None, clear="max_winners"),
            )
        )
    if parameters.get("max_price_ratio_among_winners") is not None:
        relaxed(
            message("relax_price_ratio", ratio=str(parameters["max_price_ratio_among_winners"])),
            message("relaxed_no_maximum"),
            max_price_ratio_among_winners=None,
        )
    if parameters.get("min_national_share_per_winner") is not None:
        relaxed(
            message(
                "relax_min_national_share", share=str(parameters["min_national_share_per_winner"])
            ),
            message("relaxed_no_minimum"),
            min_national_share_per_winner=None,
        )
    if parameters["max_supplier_share"] is not None:
        relaxed(
            message("relax_supplier_share", share=str(parameters["max_supplier_share"])),
            message("relaxed_no_maximum"),
            max_supplier_share=None,
        )
    if parameters["single_source_per_region"]:
        relaxed(
            message("relax_single_source"),
            message("relaxed_split_allowed"),
            single_source_per_region=False,
            min_split_share=None,
        )
    elif parameters["min_split_share"] is not None:
        relaxed(
            message("relax_min_split_share", share=str(parameters["min_split_share"])),
            message("relaxed_no_minimum"),
            min_split_share=None,
        )
    out.extend(_capacity_relaxations(problem))
    return out


def _capacity_relaxations(problem: Problem) -> list[tuple[ReasonPart, ReasonPart, Problem]]:
    """Suppliers' and bids' capacities lifted, where any is set."""
    out: list[tuple[ReasonPart, ReasonPart, Problem]] = []
    if any(s.capacity is not None for s in problem.suppliers):
        out.append(
            (
                message("relax_supplier_capacity"),
                message("relaxed_unlimited"),
                dataclasses.replace(
                    problem,
                    suppliers=tuple(Supplier(s.id, s.name, None) for s in problem.suppliers),
                ),
            )
        )
    if any(b.capacity is not None for b in problem.bids):
        out.append(
            (
                message("relax_bid_capacity"),
                message("relaxed_unlimited"),
                dataclasses.replace(
                    problem, bids=tuple(dataclasses.replace(b, capacity=None) for b in problem.bids)
                ),
            )
        )
    return out


def _items_replaced(problem: Problem, clear: str = "min_winners", **changes: Any) -> Problem:
    """The problem without the items' own ``clear`` field, its parameters changed."""
    rule_set = dataclasses.replace(
        problem.rule_set, parameters={**problem.rule_set.parameters, **changes}
    )
    if clear == "min_winners":
        items = tuple(dataclasses.replace(i, min_winners=None) for i in problem.items)
    else:
        items = tuple(dataclasses.replace(i, max_winners=None) for i in problem.items)
    return dataclasses.replace(problem, rule_set=rule_set, items=items)


def relaxations(problem: Problem) -> list[tuple[ReasonPart, ReasonPart, Problem]]:
    """The constraints whose cost the comparison gives, each as (constraint, what it is
    relaxed to, the problem without it), in a fixed order; none for a rule kind that is
    not an optimised award."""
    if family_of(problem.rule_set.kind) != Family.OPTIMISED:
        return []
    return _relaxations(problem)


def relaxed_cost(problem: Problem, time_limit: float | None = None) -> Decimal | None:
    """The total cost of a relaxed problem (None when infeasible), its solve limited to
    ``time_limit`` seconds when that is shorter than the rule set's own limit."""
    if time_limit is not None:
        parameters = problem.rule_set.parameters
        own = float(parameters.get("time_limit_seconds", time_limit))
        if time_limit < own:
            seconds = int(time_limit) if time_limit == int(time_limit) else time_limit
            rule_set = dataclasses.replace(
                problem.rule_set, parameters={**parameters, "time_limit_seconds": seconds}
            )
            problem = dataclasses.replace(problem, rule_set=rule_set)
    return _cost(solve(problem))


def scenario_row(
    problem: Problem,
    result: Result,
    without: Sequence[Decimal | None] | None = None,
) -> ScenarioRow:
    """The comparison row of ``problem`` solved as ``result`` (never solved again);
    ``without``: the relaxed problems' costs in ``relaxations(problem)`` order (None: no
    constraint costs in the row)."""
    base = _cost(result)
    costs: list[ConstraintCost] = []
    if without is not None:
        for (name, to, _), cost in zip(relaxations(problem), without, strict=True):
            costs.append(
                ConstraintCost(
                    constraint_part=name,
                    relaxed_to_part=to,
                    cost_without=cost,
                    cost_of_constraint=None if base is None or cost is None else base - cost,
                )
            )
    volumes = _volumes(result)
    infeasible = result.run.status == "infeasible"
    rule_set = problem.rule_set
    return ScenarioRow(
        name=rule_set.name or rule_set.kind,
        kind=rule_set.kind,
        status=result.run.status,
        total_cost=base,
        winners=sum(len(i.winners) for i in result.items),
        savings_vs_reference=None if infeasible else result.totals.savings_vs_reference,
        savings_vs_ceiling=None if infeasible else result.totals.savings_vs_ceiling,
        hhi=hhi(volumes),
        volume_by_supplier=tuple(volumes.items()),
        constraint_costs=tuple(costs),
    )


def compare_scenarios(
    problem: Problem,
    scenarios: Sequence[RuleSet],
    *,
    constraint_costs: bool = True,
    solved: Mapping[int, Result] | None = None,
) -> list[ScenarioRow]:
    """Solve ``problem`` under each rule set; one row per scenario, in the given order.
    ``solved``: results already at hand by scenario index (not solved again)."""
    rows = []
    for index, rule_set in enumerate(scenarios):
        scenario = _with_rule_set(problem, rule_set)
        result = (solved or {}).get(index) or solve(scenario)
        without = None
        if constraint_costs and family_of(rule_set.kind) == Family.OPTIMISED:
            without = [relaxed_cost(relaxed) for _, _, relaxed in relaxations(scenario)]
        rows.append(scenario_row(scenario, result, without))
    return rows


def comparison_to_dict(rows: Sequence[ScenarioRow]) -> list[dict[str, Any]]:
    """The comparison table as JSON-ready dicts (money as decimal strings)."""

    def s(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return [
        {
            "name": r.name,
            "kind": r.kind,
            "status": r.status,
            "total_cost": s(r.total_cost),
            "winners": r.winners,
            "savings_vs_reference": s(r.savings_vs_reference),
            "savings_vs_ceiling": s(r.savings_vs_ceiling),
            "hhi": str(r.hhi),
            "volume_by_supplier": dict(r.volume_by_supplier),
            "constraint_costs": [
                {
                    "constraint": c.constraint,
                    "constraint_part": c.constraint_part.to_dict(),
                    "relaxed_to": c.relaxed_to,
                    "relaxed_to_part": c.relaxed_to_part.to_dict(),
                    "cost_without": s(c.cost_without),
                    "cost_of_constraint": s(c.cost_of_constraint),
                }
                for c in r.constraint_costs
            ],
        }
        for r in rows
    ]

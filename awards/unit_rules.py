"""Consumables rounds: each bidding unit (stents, joints, lenses) awarded under its own
rule set (``RoundItem.rule_set``; empty: the round's).

The round's problem is built once (``awards.problem.problem_build``, under the round's
rule set); here it is cut into one problem per rule set, each holding that rule set's
items with their bids, solved alone, and the results put back together. Bidding units
are independent in a consumables award (a hospital's intended volume, group A and B,
the lost-volume choices are all per item), so solving them apart changes nothing but
the rules each one is judged by. Scenarios keep one rule set for the whole round.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal

from awards.models import EvaluationRun
from awards.problem import _opt_rule_set
from procurement.models import RuleSet
from procurement.optimiser import solve
from procurement.optimiser.canonical import with_input_hash
from procurement.optimiser.model import Problem, Result, Totals
from procurement.optimiser.model import RuleSet as OptRuleSet

# Worst first: the merged run's status is the worst of its parts'.
_STATUS_ORDER = ("infeasible", "unknown", "feasible", "rule_only", "optimal")


def unit_rule_sets(run: EvaluationRun) -> dict[str, RuleSet]:
    """Item code -> the bidding unit's own rule set, for the items of the run's round
    whose rule set is not the round's; empty for a scenario (one rule set throughout)."""
    round_ = run.round
    if run.is_scenario or run.rule_set_id != round_.rule_set_id:
        return {}
    return {
        ri.item.code: ri.rule_set
        for ri in round_.items.filter(rule_set__isnull=False)
        .exclude(rule_set=round_.rule_set_id)
        .select_related("item", "rule_set")
        if ri.rule_set is not None
    }


def solve_by_unit(
    problem: Problem, own: Mapping[str, RuleSet], *, solver: Callable[[Problem], Result] = solve
) -> Result:
    """``solver(problem)``, each item listed in ``own`` under its own rule set and the
    others under the problem's."""
    if not own:
        return solver(problem)
    groups: dict[int | None, list[str]] = {}
    for item in problem.items:
        rule_set = own.get(item.id)
        groups.setdefault(rule_set.pk if rule_set else None, []).append(item.id)
    by_pk = {r.pk: r for r in own.values()}
    results = []
    for pk, item_ids in sorted(groups.items(), key=lambda g: (g[0] is not None, g[0] or 0)):
        rules = problem.rule_set if pk is None else _opt_rule_set(by_pk[pk])
        results.append(solver(_part(problem, set(item_ids), rules)))
    return _merged(problem, results)


def _part(problem: Problem, item_ids: set[str], rule_set: OptRuleSet) -> Problem:
    bids = tuple(b for b in problem.bids if b.item in item_ids)
    bid_ids = {b.id for b in bids}
    suppliers = {b.supplier for b in bids}
    return with_input_hash(
        replace(
            problem,
            rule_set=rule_set,
            items=tuple(i for i in problem.items if i.id in item_ids),
            bids=bids,
            suppliers=tuple(s for s in problem.suppliers if s.id in suppliers),
            region_costs=tuple(c for c in problem.region_costs if c.bid in bid_ids),
        )
    )


def _merged(problem: Problem, results: list[Result]) -> Result:
    status = min((r.run.status for r in results), key=_STATUS_ORDER.index)
    objectives = [r.run.objective for r in results]
    cost = sum((r.totals.cost for r in results), Decimal(0))
    ceiling = sum((r.totals.ceiling_cost for r in results), Decimal(0))
    references = [r.totals.reference_cost for r in results]
    reference = (
        None
        if any(x is None for x in references)
        else sum((x for x in references if x is not None), Decimal(0))
    )
    penalties = [r.totals.unmet_penalty for r in results if r.totals.unmet_penalty is not None]
    run = replace(
        results[0].run,
        status=status,
        input_hash=problem.input_hash,
        objective=(
            None
            if any(x is None for x in objectives)
            else sum((x for x in objectives if x is not None), Decimal(0))
        ),
        bound=None,
        gap=None,
        explanation_parts=tuple(p for r in results for p in r.run.explanation_parts),
        warning_parts=tuple(p for r in results for p in r.run.warning_parts),
    )
    return Result(
        rule_set=problem.rule_set,
        run=run,
        bids=tuple(sorted((b for r in results for b in r.bids), key=lambda o: o.bid)),
        items=tuple(sorted((i for r in results for i in r.items), key=lambda i: i.item)),
        allocations=tuple(
            sorted(
                (a for r in results for a in r.allocations),
                key=lambda a: (a.item, a.region, a.bid, a.source),
            )
        ),
        hospital_allocations=tuple(
            sorted(
                (h for r in results for h in r.hospital_allocations),
                key=lambda h: (h.item, h.region, h.hospital, h.bid),
            )
        ),
        totals=Totals(
            cost=cost,
            reference_cost=reference,
            ceiling_cost=ceiling,
            savings_vs_reference=None if reference is None else reference - cost,
            savings_vs_ceiling=ceiling - cost,
            unmet_penalty=sum(penalties, Decimal(0)) if penalties else None,
        ),
        solve_seconds=sum(r.solve_seconds for r in results),
        unmet=tuple(u for r in results for u in r.unmet),
        unmet_allowed=any(r.unmet_allowed for r in results),
    )

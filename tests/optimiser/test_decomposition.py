"""The national shape by decomposition (``procurement/optimiser/decompose.py``): the
Lagrangian bound is a lower bound of the optimum, tighter than the items alone; the
master over the winners it found reaches the optimum; the same input gives the same
bytes; and ``auto`` chooses it for large national-shape models."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest

from bench.national import national_award
from procurement.optimiser import result_to_dict, solve
from procurement.optimiser.allocation import Pricing
from procurement.optimiser.award_model import agreed_total, build_award_model
from procurement.optimiser.backends import solve_cp_sat
from procurement.optimiser.decompose import lagrangian_bound, restricted, solve_decomposed
from procurement.optimiser.model import Problem
from procurement.optimiser.optimised import AUTO_HIGHS_MIN_VARIABLES, choose_backend
from procurement.optimiser.solve import decide_items, money_scale_digits


def _small(seed: int, capacity: tuple[float, float] = (0.2, 0.8)) -> Problem:
    """Six items of the national shape, firms' capacity shared and scarce (regions'
    totals drawn directly: no hospitals)."""
    return national_award(
        seed=seed, items=6, firms=25, hospitals=0, time_limit=60, capacity_range=capacity
    )


def _parts(problem: Problem) -> tuple[list, Pricing, int]:
    decisions = decide_items(problem)
    pricing = Pricing(
        digits=money_scale_digits(problem, decisions),
        costs={(c.bid, c.region): c for c in problem.region_costs},
    )
    return decisions, pricing, agreed_total(problem)


def _with(problem: Problem, **parameters: object) -> Problem:
    merged = {**problem.rule_set.parameters, **parameters}
    return dataclasses.replace(
        problem, rule_set=dataclasses.replace(problem.rule_set, parameters=merged)
    )


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_the_bound_lies_between_the_items_alone_and_the_optimum(seed: int) -> None:
    problem = _small(seed)
    decisions, pricing, total = _parts(problem)
    award = build_award_model(problem, decisions, pricing, total)
    status, values, _ = solve_cp_sat(
        award.model, time_limit=60, relative_gap=0, workers=1, scale=pricing.scale
    )
    assert status == "optimal" and values is not None
    optimum = sum(k * v for k, v in zip(award.model.objective, values, strict=True))
    found = lagrangian_bound(problem, decisions, pricing, total)
    assert found is not None
    assert found.priced_firms > 0  # some capacity links items and can bind
    assert found.items_alone <= found.bound <= optimum
    # the master over the winners found keeps a feasible award of the whole problem
    master = restricted(award, found.winners)
    assert sum(1 for u, full in zip(master.upper, award.model.upper, strict=True) if u < full)


def test_the_multipliers_raise_the_bound_when_capacity_binds() -> None:
    raised = []
    for seed in (11, 12, 13, 14):
        problem = _small(seed)
        decisions, pricing, total = _parts(problem)
        found = lagrangian_bound(problem, decisions, pricing, total)
        assert found is not None
        raised.append(found.bound > found.items_alone)
    assert any(raised)


@pytest.mark.parametrize("seed", [11, 12])
def test_the_decomposition_reaches_the_optimum_of_the_whole_model(seed: int) -> None:
    problem = _with(_small(seed), relative_gap="0")
    decisions, pricing, total = _parts(problem)
    award = build_award_model(problem, decisions, pricing, total)
    lm = award.model
    _, exact, _ = solve_cp_sat(lm, time_limit=60, relative_gap=0, workers=1, scale=pricing.scale)
    assert exact is not None
    (status, values, bound), found = solve_decomposed(
        problem, decisions, pricing, award, total, time_limit=60, relative_gap=0.0
    )
    assert found is not None and values is not None and bound is not None
    cost = sum(k * v for k, v in zip(lm.objective, values, strict=True))
    optimum = sum(k * v for k, v in zip(lm.objective, exact, strict=True))
    assert cost == optimum
    assert status == "optimal"
    assert Decimal(found.bound) / pricing.scale <= bound <= Decimal(optimum) / pricing.scale


def test_the_same_input_gives_the_same_bytes_and_the_reason() -> None:
    problem = _with(_small(12), backend="decomposed")
    first = json.dumps(result_to_dict(solve(problem), include_timing=False), sort_keys=True)
    second = json.dumps(result_to_dict(solve(problem), include_timing=False), sort_keys=True)
    assert first == second
    assert json.loads(first)["run"]["solver"] == "decomposition + highs (mathopt)"
    exact = solve(_with(_small(12), backend="cp_sat", relative_gap="0")).run.objective
    assert exact is not None
    assert Decimal(json.loads(first)["run"]["objective"]) <= exact * Decimal("1.0001")


def test_the_worked_example_bound_proves_its_optimum() -> None:
    """docs/optimiser.md, *Proving the national shape*: the items alone give 1,295.00;
    pricing S1's capacity at 0.10 per unit proves the optimum 1,335.00."""
    from procurement.optimiser import problem_from_dict

    path = Path(__file__).resolve().parents[2] / "docs/examples/optimiser/national_shape.json"
    problem = problem_from_dict(json.loads(path.read_text(encoding="utf-8")))
    decisions, pricing, total = _parts(problem)
    found = lagrangian_bound(problem, decisions, pricing, total)
    assert found is not None and found.priced_firms == 1
    assert Decimal(found.items_alone) / pricing.scale == Decimal("1295")
    assert Decimal(found.bound) / pricing.scale == Decimal("1335")
    assert solve(_with(problem, backend="decomposed")).run.objective == Decimal("1335")


def test_auto_decomposes_large_models_of_the_national_shape_only() -> None:
    from tests.optimiser.test_national_shape import _plain

    large = _plain(AUTO_HIGHS_MIN_VARIABLES)
    backend, reason = choose_backend(large, national=55)
    assert backend == "decomposed"
    assert reason.to_dict() == {
        "code": "backend_decomposed_national",
        "params": {"items": 55, "threshold": 10_000, "variables": 10_000},
    }
    assert choose_backend(large, national=0)[0] == "highs"
    assert choose_backend(_plain(AUTO_HIGHS_MIN_VARIABLES - 1), national=55)[0] == "cp_sat"


@pytest.mark.parametrize(
    "change",
    [
        {"single_source_per_region": False, "min_split_share": "0.2"},
        {"max_supplier_share": "0.25"},
        {"no_bid_item": True},
    ],
    ids=["split", "supplier-share", "item-without-bids"],
)
def test_the_decomposition_agrees_with_cp_sat_on_the_other_terms(change: dict) -> None:
    from procurement.optimiser.model import Item, RegionDemand

    problem = _small(12)
    if change.pop("no_bid_item", False):
        lonely = Item(
            id="Z99",
            name="no bids",
            max_valid_bid_price=Decimal("3"),
            demand=(RegionDemand("R01", 100),),
        )
        problem = dataclasses.replace(problem, items=(*problem.items, lonely))
    decomposed = solve(_with(problem, backend="decomposed", relative_gap="0", **change))
    exact = solve(_with(problem, backend="cp_sat", relative_gap="0", **change))
    assert decomposed.run.status == exact.run.status == "optimal"
    assert decomposed.run.objective == exact.run.objective


def test_an_infeasible_national_problem_is_explained_by_the_decomposition() -> None:
    from procurement.optimiser.model import Item, RegionDemand

    problem = _with(_small(12), backend="decomposed", unmet_penalty_ratio=None)
    lonely = Item(
        id="Z99", name="no bids", max_valid_bid_price=Decimal("3"), demand=(RegionDemand("R01", 9),)
    )
    result = solve(dataclasses.replace(problem, items=(*problem.items, lonely)))
    assert result.run.status == "infeasible"
    assert [m.to_dict() for m in result.run.explanation_parts] == [
        {
            "code": "supply_region_single_source",
            # volume share 0.7 of 9 units: 6 agreed units
            "params": {"item": "Z99", "region": "R01", "units": 6},
        }
    ]

"""Optimised award (scenario analysis, DESIGN.md §3): split supply, minimum split shares,
region costs, capacity use, winner limits, both backends, statuses and bounds.

Each case is small enough to solve by hand; the comment says why its optimum is the one.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from ortools.math_opt.python import mathopt
from ortools.sat.python import cp_model

from procurement.optimiser import optimised
from procurement.optimiser.optimised import LinearModel
from tests.optimiser.conftest import problem
from tests.optimiser.outcomes import BidRow, bids, run


def award(
    prices: dict[str, str],
    demand: dict[str, int],
    *,
    capacities: dict[str, int] | None = None,
    region_costs: list[dict] | None = None,
    **parameters: Any,
) -> dict:
    """An optimised-award problem of one item X; the whole demand is agreed (share 1)."""
    document = [
        {
            "id": b,
            "unit_price": p,
            **({"capacity": capacities[b]} if b in (capacities or {}) else {}),
        }
        for b, p in prices.items()
    ]
    return problem(
        "optimised-award",
        document,
        ceiling="100",
        demand=[{"region": r, "quantity": q} for r, q in demand.items()],
        region_costs=region_costs or [],
        parameters={"time_limit_seconds": 10, "min_winners_per_item": 1, **parameters},
    )


def supplied(result: Any) -> dict[tuple[str, str], int]:
    return {(a.bid, a.region): a.quantity for a in result.allocations}


SPLIT = {"single_source_per_region": False}


@pytest.mark.parametrize("backend", ["cp_sat", "highs"])
def test_split_supply_with_a_minimum_share_rounded_up(backend: str) -> None:
    """B1 (1.00) can supply 8 of P1's 10 units; each supplier of a region takes at least
    25% of it, ceil(2.5) = 3 units: B1 7 and B2 (2.00) 3; B3 (3.00) supplies nothing.
    13.00 in all (B1 8 + B2 2 would be 12.00 but leaves B2 under its 3)."""
    result = run(
        award(
            {"B1": "1.00", "B2": "2.00", "B3": "3.00"},
            {"P1": 10},
            capacities={"B1": 8},
            min_split_share="0.25",
            backend=backend,
            **SPLIT,
        )
    )
    assert supplied(result) == {("B1", "P1"): 7, ("B2", "P1"): 3}
    assert (result.run.status, result.run.objective, result.run.bound) == (
        "optimal",
        Decimal(13),
        Decimal(13),
    )
    assert result.run.gap == Decimal(0)
    assert bids(result) == {
        "B1": BidRow(
            "won", None, "1.00", "1.00", "awarded by the optimiser: 1 region(s), 7 units at 1.00"
        ),
        "B2": BidRow(
            "won", None, "2.00", "2.00", "awarded by the optimiser: 1 region(s), 3 units at 2.00"
        ),
        "B3": BidRow(
            "lost",
            None,
            None,
            "3.00",
            "not chosen by the optimiser: a cheaper award meets every constraint",
        ),
    }


@pytest.mark.parametrize("backend", ["cp_sat", "highs"])
def test_split_supply_of_a_large_and_a_two_unit_region(backend: str) -> None:
    """1,002 units: B1 (1.00, capacity 602) supplies 602 of them, wherever (a unit costs
    the same in both regions), B2 (2.00) the other 400 of the large region P1: 1,402."""
    result = run(
        award(
            {"B1": "1", "B2": "2"},
            {"P1": 1000, "P2": 2},
            capacities={"B1": 602},
            backend=backend,
            **SPLIT,
        )
    )
    units = {}
    for (bid, _), q in supplied(result).items():
        units[bid] = units.get(bid, 0) + q
    assert units == {"B1": 602, "B2": 400}
    assert result.run.objective == Decimal(602 + 2 * 400)


def test_a_fixed_region_cost_keeps_a_split_supplier_out_of_a_region() -> None:
    """B1 (1.00) would cost 10 + 50 fixed in P2, B2 (2.00) 20: B2 supplies P2."""
    result = run(
        award(
            {"B1": "1.00", "B2": "2.00"},
            {"P1": 10, "P2": 10},
            region_costs=[{"bid": "B1", "region": "P2", "fixed": "50"}],
            **SPLIT,
        )
    )
    assert supplied(result) == {("B1", "P1"): 10, ("B2", "P2"): 10}
    assert result.run.objective == Decimal(30)


def test_a_supplier_share_limit_splits_a_region() -> None:
    """Each supplier at most 60% of all 10 units: B1 6, B2 4."""
    result = run(award({"B1": "1.00", "B2": "2.00"}, {"P1": 10}, max_supplier_share="0.6", **SPLIT))
    assert supplied(result) == {("B1", "P1"): 6, ("B2", "P1"): 4}


def test_single_source_with_a_fixed_region_cost_a_one_unit_and_an_empty_region() -> None:
    """One supplier per region. B1 (1.00) costs 20 fixed more in P1: 120 against B2's
    110, so B2 supplies P1; P2 declares nothing; P3's one unit goes to B1 (1.00)."""
    result = run(
        award(
            {"B1": "1.00", "B2": "1.10"},
            {"P1": 100, "P2": 0, "P3": 1},
            region_costs=[{"bid": "B1", "region": "P1", "fixed": "20"}],
        )
    )
    assert supplied(result) == {("B2", "P1"): 100, ("B1", "P3"): 1}
    assert result.run.objective == Decimal("111.00")


def test_capacity_use_per_unit_counts_against_the_capacity() -> None:
    """B2 would be cheaper in P1 (110 against B1's 100 + 20 fixed), but each unit it
    delivers there uses 2 of its capacity of 150: 200 do not fit."""
    result = run(
        award(
            {"B1": "1.00", "B2": "1.10"},
            {"P1": 100},
            capacities={"B2": 150},
            region_costs=[
                {"bid": "B1", "region": "P1", "fixed": "20"},
                {"bid": "B2", "region": "P1", "capacity_use_per_unit": 2},
            ],
        )
    )
    assert supplied(result) == {("B1", "P1"): 100}


def test_a_maximum_of_one_winner_per_item() -> None:
    """B1 (capacity 100) and B2 would split the two regions; with one winner at most B2
    supplies both."""
    prices, demand = {"B1": "1.00", "B2": "1.10"}, {"P1": 100, "P2": 100}
    two = run(award(prices, demand, capacities={"B1": 100}))
    assert sorted(bid for bid, _ in supplied(two)) == ["B1", "B2"]
    one = run(award(prices, demand, capacities={"B1": 100}, max_winners_per_item=1))
    assert supplied(one) == {("B2", "P1"): 100, ("B2", "P2"): 100}


def test_an_infeasible_scenario_names_the_solver_and_the_split_share() -> None:
    """Two winners each taking at least 60% of the one region cannot be."""
    result = run(
        award(
            {"B1": "1.00", "B2": "2.00"},
            {"P1": 10},
            min_winners_per_item=2,
            min_split_share="0.6",
            **SPLIT,
        )
    )
    assert (result.run.status, result.run.solver) == ("infeasible", "auto: cp-sat")
    assert result.run.explanation == (
        "at least 2 winners for item X",
        "each supplier of a region of item X takes at least 0.6 of it",
        "supply all 10 agreed units of item X in region P1",
    )


def test_highs_reports_an_infeasible_scenario_too() -> None:
    result = run(award({"B1": "1.00"}, {"P1": 10}, capacities={"B1": 5}, backend="highs"))
    assert (result.run.status, result.run.solver) == ("infeasible", "highs (mathopt)")
    # The one winner the scenario needs would have to supply P1 (10 units) alone.
    assert result.run.explanation == (
        "at least 1 winners for item X",
        "capacity of bid B1 (5 units)",
    )


def test_a_rule_set_without_num_workers_uses_one() -> None:
    document = award({"B1": "1.00"}, {"P1": 10})
    del document["rule_set"]["parameters"]["num_workers"]
    assert run(document).run.status == "optimal"


def two_items(**suppliers: int | None) -> dict:
    """Items X (B1 of S1) and Y (C1 of S2); a supplier listed with a capacity or none."""
    document = award({"B1": "1.00"}, {"P1": 10})
    document["bids"][0]["supplier"] = "S1"
    document["items"].append(
        {
            "id": "Y",
            "name": "second",
            "max_valid_bid_price": "100",
            "demand": [{"region": "P1", "quantity": 5}],
        }
    )
    document["bids"].append({"id": "C1", "item": "Y", "supplier": "S2", "unit_price": "2"})
    document["suppliers"] = [
        {"id": s, **({} if c is None else {"capacity": c})} for s, c in suppliers.items()
    ]
    return document


def test_items_linked_by_no_supplier_constraint_are_separate_models() -> None:
    """Only a capacity across items (or a share limit) links items into one model."""
    assert run(two_items(S1=None, S2=None)).run.solver == "auto: cp-sat (2 independent models)"
    assert run(two_items(S1=100, S2=100)).run.solver == "auto: cp-sat (2 independent models)"
    shared = two_items(S1=100)
    shared["bids"][1]["supplier"] = "S1"
    result = run(shared)
    assert (result.run.solver, result.run.objective) == ("auto: cp-sat", Decimal("20.00"))


def test_one_group_found_but_not_proven_optimal_makes_the_whole_run_feasible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DESIGN.md §3: the status is the weakest of the groups; objective and bound add up."""
    real = optimised.solve_cp_sat
    calls: list[int] = []

    def first_unproven(*args: Any, **kwargs: Any) -> Any:
        status, values, bound = real(*args, **kwargs)
        calls.append(1)
        return ("feasible" if len(calls) == 1 else status), values, bound

    monkeypatch.setattr(optimised, "solve_cp_sat", first_unproven)
    result = run(two_items(S1=None, S2=None))
    assert (result.run.status, result.run.objective, result.run.bound) == (
        "feasible",
        Decimal("20.00"),
        Decimal("20.00"),
    )


def test_a_soft_constraint_needs_a_message_to_explain_it() -> None:
    with pytest.raises(ValueError, match=r"^constraint group 'cap' needs a message to explain it$"):
        LinearModel().add([], 0, 1, "cap")


def test_each_region_has_exactly_one_supplier_so_three_winners_need_three_regions() -> None:
    """Single source: an extra winner cannot co-supply a region already supplied."""
    result = run(
        award(
            {"B1": "1.00", "B2": "1.10", "B3": "1.20"}, {"P1": 10, "P2": 10}, min_winners_per_item=3
        )
    )
    assert result.run.status == "infeasible"
    assert result.run.explanation[0] == "at least 3 winners for item X"


def test_a_suppliers_capacity_across_items_decides_where_it_supplies() -> None:
    """S1 bids on X (10 units) and Y (5) at 1.00 but can make 12: it supplies Y, where the
    other bid is dearer (4.00 against X's 2.00): X 10 x 2.00 + Y 5 x 1.00 = 25.00."""
    document = two_items(S1=12)
    document["bids"][1].update({"supplier": "S1", "unit_price": "1.00"})
    document["bids"].append({"id": "B2", "item": "X", "supplier": "S3", "unit_price": "2.00"})
    document["bids"].append({"id": "C2", "item": "Y", "supplier": "S4", "unit_price": "4.00"})
    document["suppliers"] += [{"id": "S2"}, {"id": "S3"}, {"id": "S4"}]
    result = run(document)
    assert supplied(result) == {("B2", "P1"): 10, ("C1", "P1"): 5}
    assert result.run.objective == Decimal(25)


@pytest.mark.parametrize("backend", ["cp_sat", "highs"])
def test_split_supply_never_uses_a_negative_amount(backend: str) -> None:
    """Three bidders, no minimum split: B1 (capacity 6) 6, B2 4, B3 nothing: 14.00.
    (A negative amount of the dearest bid would pay for more of the others.)"""
    result = run(
        award(
            {"B1": "1", "B2": "2", "B3": "3"},
            {"P1": 10},
            capacities={"B1": 6},
            backend=backend,
            **SPLIT,
        )
    )
    assert supplied(result) == {("B1", "P1"): 6, ("B2", "P1"): 4}
    assert result.run.objective == Decimal(14)


@pytest.mark.parametrize("backend", ["cp_sat", "highs"])
def test_a_region_of_two_units_supplied_by_the_one_winner_allowed(backend: str) -> None:
    """Split supply, at most one winner: B1 supplies both units of P1 alone."""
    result = run(
        award(
            {"B1": "1.00", "B2": "2.00"},
            {"P1": 2},
            max_winners_per_item=1,
            backend=backend,
            **SPLIT,
        )
    )
    assert supplied(result) == {("B1", "P1"): 2}


@pytest.mark.parametrize("backend", ["cp_sat", "highs"])
def test_the_bound_is_in_yuan_when_prices_have_decimals(backend: str) -> None:
    """Money is scaled by 100 in the solver (prices with two decimals); the objective and
    the bound are reported back in yuan: 100 x 1.10 + 1 x 1.00 = 111.00."""
    result = run(
        award(
            {"B1": "1.00", "B2": "1.10"},
            {"P1": 100, "P2": 0, "P3": 1},
            region_costs=[{"bid": "B1", "region": "P1", "fixed": "20"}],
            backend=backend,
        )
    )
    assert (result.run.objective, result.run.bound, result.run.gap) == (
        Decimal("111.00"),
        Decimal("111.00"),
        Decimal(0),
    )


class _Unproven(cp_model.CpSolver):
    """CP-SAT that says FEASIBLE where it proved OPTIMAL (as after a time limit)."""

    def solve(self, model: cp_model.CpModel, *args: Any, **kwargs: Any) -> Any:
        status = super().solve(model, *args, **kwargs)
        return cp_model.FEASIBLE if status == cp_model.OPTIMAL else status


def test_a_cp_sat_solution_not_proven_optimal_is_reported_feasible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cp_model, "CpSolver", _Unproven)
    result = run(award({"B1": "1.00", "B2": "1.10"}, {"P1": 100}))
    assert (result.run.status, result.run.objective) == ("feasible", Decimal("100.00"))
    assert supplied(result) == {("B1", "P1"): 100}


def test_a_highs_solution_not_proven_optimal_is_reported_feasible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = mathopt.solve

    def unproven(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        termination = dataclasses.replace(
            result.termination, reason=mathopt.TerminationReason.FEASIBLE
        )
        return dataclasses.replace(result, termination=termination)

    monkeypatch.setattr(mathopt, "solve", unproven)
    result = run(award({"B1": "1.00", "B2": "1.10"}, {"P1": 100}, backend="highs"))
    assert (result.run.status, result.run.objective) == ("feasible", Decimal("100.00"))


def test_no_solution_in_time_still_names_the_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optimised, "solve_cp_sat", lambda *args, **kwargs: ("unknown", None, None))
    result = run(award({"B1": "1.00"}, {"P1": 10}))
    assert (result.run.status, result.run.solver) == ("unknown", "auto: cp-sat")
    assert result.run.explanation == ("no solution found within 10 s for item(s) X",)


def test_no_solution_in_time_from_highs_names_highs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optimised, "solve_highs", lambda *args, **kwargs: ("unknown", None, None))
    result = run(award({"B1": "1.00"}, {"P1": 10}, backend="highs"))
    assert (result.run.status, result.run.solver) == ("unknown", "highs (mathopt)")

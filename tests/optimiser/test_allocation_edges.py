"""Allocation at its edges: capacity shortfalls, fixed and zero delivery costs, brand
volumes of one unit or none, the solver not proving its optimum, and the exact helpers
(draft, largest remainder, lay-out, money scaling) on their smallest inputs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from ortools.sat.python import cp_model

from procurement.optimiser import allocation
from procurement.optimiser.allocation import (
    Pricing,
    draft_counts,
    draft_order,
    largest_remainder,
    lay_out,
)
from tests.optimiser.conftest import bids_at, problem
from tests.optimiser.outcomes import allocations, run

PLATFORM = "platform assignment (minimum cost)"
PREFERENCE = "winner's preference"
INTENDED = "hospital's intended volume"
CHOICE = "hospital's choice for a losing product"
DEFAULT = "minimum-cost default"


def national(bids: list[dict], demand: list[dict], **top: Any) -> dict:
    return problem("national-drug-batch-4", bids, ceiling="2.00", demand=demand, **top)


def two_provinces(quantity: int = 1000) -> list[dict]:
    return [{"region": "P01", "quantity": quantity}, {"region": "P02", "quantity": quantity}]


def shortfall(bid: str, excess: int, capacity: int) -> str:
    return (
        f"item X: bid {bid} is assigned {excess} units more than its declared capacity "
        f"{capacity}: capacity shortfall"
    )


def test_a_lone_winner_over_capacity_with_its_preference_is_short_by_all_it_must_supply() -> None:
    """One winner must supply every province: 500 (its preferred P01) + 500 agreed units
    against a capacity of 100 is 900 short, reported, and both provinces are supplied."""
    document = bids_at("1.00")
    document[0]["capacity"] = 100
    document[0]["region_preferences"] = ["P01"]
    result = run(national(document, two_provinces()))
    assert result.run.warnings == (shortfall("B1", 900, 100),)
    assert {r: (row.bid, row.quantity, row.source) for r, row in allocations(result).items()} == {
        "P01": ("B1", 500, PREFERENCE),
        "P02": ("B1", 500, PLATFORM),
    }


@pytest.mark.parametrize(("capacity", "excess"), [(999, 1), (0, 1000)])
def test_a_shortfall_of_one_unit_and_a_capacity_of_zero_are_reported(
    capacity: int, excess: int
) -> None:
    document = bids_at("1.00")
    document[0]["capacity"] = capacity
    result = run(national(document, two_provinces()))
    assert result.run.warnings == (shortfall("B1", excess, capacity),)


def test_a_fixed_delivery_cost_moves_a_province_to_the_other_winner() -> None:
    """DESIGN.md §3: price plus per-region delivery costs, fixed ones included.

    Draft for 2 winners of 3: B1 two provinces, B2 one. B1 costs 0.02 a unit more in P01
    (60 x 1.02 = 61.20) and 5.00 fixed in P02: handing P02 to B2 (60 x 1.01 = 60.60)
    costs 181.80 in all, P01 185.60, P03 186.80.
    """
    demand = [{"region": f"P0{k}", "quantity": 100} for k in (1, 2, 3)]
    costs = [
        {"bid": "B1", "region": "P01", "per_unit": "0.02"},
        {"bid": "B1", "region": "P02", "fixed": "5"},
    ]
    result = run(national(bids_at("1.00", "1.01"), demand, region_costs=costs))
    assert {r: row.bid for r, row in allocations(result).items()} == {
        "P01": "B1",
        "P02": "B2",
        "P03": "B1",
    }
    assert result.items[0].cost == Decimal("181.80")


def test_a_region_cost_entry_of_zero_costs_the_same_as_none() -> None:
    """B1 has zero-cost entries for P01 and P02 and none for P03; B2 costs 0.005 a unit
    more in P02 and 0.01 in P03: B2 takes P01, where it costs least (all else equal)."""
    demand = [{"region": f"P0{k}", "quantity": 100} for k in (1, 2, 3)]
    costs = [
        {"bid": "B1", "region": "P01", "per_unit": "0", "fixed": "0"},
        {"bid": "B1", "region": "P02", "per_unit": "0", "fixed": "0"},
        {"bid": "B2", "region": "P02", "per_unit": "0.005"},
        {"bid": "B2", "region": "P03", "per_unit": "0.01"},
    ]
    result = run(national(bids_at("1.00", "1.00"), demand, region_costs=costs))
    assert {r: row.bid for r, row in allocations(result).items()} == {
        "P01": "B2",
        "P02": "B1",
        "P03": "B1",
    }


def test_hospitals_sharing_two_units_in_one_to_two_get_one_each() -> None:
    """One winner (50%) of 3 units: 2 agreed; H1 (1) 0.67, H2 (2) 1.33: one unit each."""
    demand = [
        {
            "region": "P01",
            "quantity": 3,
            "hospitals": [{"id": "H1", "quantity": 1}, {"id": "H2", "quantity": 2}],
        }
    ]
    result = run(national(bids_at("1.00"), demand))
    rows = {(h.hospital, h.bid): h.quantity for h in result.hospital_allocations}
    assert rows == {("H1", "B1"): 1, ("H2", "B1"): 1}


class _Reporting(cp_model.CpSolver):
    """A CP-SAT solver whose n-th solve reports ``status`` instead of proving optimality."""

    calls = 0

    def __init__(self, call: int, status: Any) -> None:
        super().__init__()
        self.call, self.status = call, status

    def solve(self, model: cp_model.CpModel, *args: Any, **kwargs: Any) -> Any:
        found = super().solve(model, *args, **kwargs)
        _Reporting.calls += 1
        return self.status if _Reporting.calls == self.call else found


def with_solver(monkeypatch: pytest.MonkeyPatch, call: int, status: Any) -> None:
    _Reporting.calls = 0

    def solver(seconds: float = 30.0) -> cp_model.CpSolver:
        made = _Reporting(call, status)
        made.parameters.num_workers = 1
        made.parameters.max_time_in_seconds = seconds
        return made

    monkeypatch.setattr(allocation, "_solver", solver)


def capacity_problem() -> dict:
    """Two solves: least shortfall (B1 has a capacity), then least cost."""
    document = bids_at("1.00", "1.01")
    document[0]["capacity"] = 5000
    return national(document, [{"region": f"P0{k}", "quantity": 100} for k in (1, 2, 3)])


@pytest.mark.parametrize("call", [1, 2])
def test_an_assignment_found_but_not_proven_optimal_makes_the_run_feasible(
    monkeypatch: pytest.MonkeyPatch, call: int
) -> None:
    """DESIGN.md §3: every run records its status (optimal / feasible / infeasible)."""
    assert run(capacity_problem()).run.status == "optimal"
    with_solver(monkeypatch, call, cp_model.FEASIBLE)
    result = run(capacity_problem())
    assert (result.run.status, result.run.solver) == ("feasible", "cp-sat (province assignment)")


@pytest.mark.parametrize("call", [1, 2])
def test_a_failed_assignment_is_an_error_naming_the_item(
    monkeypatch: pytest.MonkeyPatch, call: int
) -> None:
    with_solver(monkeypatch, call, cp_model.MODEL_INVALID)
    with pytest.raises(
        RuntimeError, match=r"^province assignment of item X failed: MODEL_INVALID$"
    ):
        run(capacity_problem())


def test_a_failed_reassignment_of_consumables_is_an_error_naming_the_item(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_solver(monkeypatch, 1, cp_model.MODEL_INVALID)
    with pytest.raises(RuntimeError, match=r"^reassignment of item X failed: MODEL_INVALID$"):
        run(joints_by_region())


# --- consumables: brand choice and the minimum-cost default --------------------------------


def joints_by_region(**top: Any) -> dict:
    """B1 (100, capacity 500), B2 (150) in group A, B3 (120) in group B: all win. The
    demand names no hospitals; P03 declares nothing."""
    bids = [
        {"id": "B1", "unit_price": "100", "intended_volume": 700, "capacity": 500},
        {"id": "B2", "unit_price": "150", "intended_volume": 200},
        {"id": "B3", "unit_price": "120", "intended_volume": 100},
    ]
    demand = [
        {"region": "P01", "quantity": 600},
        {"region": "P02", "quantity": 400},
        {"region": "P03", "quantity": 0},
    ]
    return problem("consumables-joints", bids, ceiling="5000", demand=demand, **top)


def rows_of(result: Any) -> dict[tuple[str, str, str], tuple[int, str, str]]:
    return {
        (a.region, a.bid, a.source): (a.quantity, format(a.delivery_cost, "f"), format(a.cost, "f"))
        for a in result.allocations
    }


def test_region_volume_goes_at_least_cost_price_plus_delivery() -> None:
    """DESIGN.md §2.2: a cost-minimising default. B1 delivers to P01 at 30 a set more
    (130 > B3's 120), so B1 supplies only P02 and B3 all of P01."""
    result = run(joints_by_region(region_costs=[{"bid": "B1", "region": "P01", "per_unit": "30"}]))
    assert rows_of(result) == {
        ("P01", "B3", DEFAULT): (600, "0", "72000"),
        ("P02", "B1", DEFAULT): (400, "0", "40000"),
    }
    assert result.hospital_allocations == ()
    assert result.run.warnings == ()


def test_a_consumables_shortfall_counts_the_intended_volume_already_kept() -> None:
    """B1, the only bidder, keeps H1's 50 intended sets against a capacity of 40 (10 over)
    and must also take P02's 30: 40 sets short, reported."""
    demand = [
        {
            "region": "P01",
            "quantity": 50,
            "hospitals": [
                {"id": "H1", "quantity": 50, "brand_volumes": [{"bid": "B1", "quantity": 50}]}
            ],
        },
        {"region": "P02", "quantity": 30},
    ]
    document = problem(
        "consumables-joints",
        [{"id": "B1", "unit_price": "100", "capacity": 40}],
        ceiling="5000",
        demand=demand,
    )
    result = run(document)
    assert result.run.warnings == (shortfall("B1", 40, 40),)
    assert rows_of(result) == {
        ("P01", "B1", INTENDED): (50, "0", "5000"),
        ("P02", "B1", DEFAULT): (30, "0", "3000"),
    }


def test_a_shortfall_of_one_set_in_the_default_reassignment_is_reported() -> None:
    document = problem(
        "consumables-joints",
        [{"id": "B1", "unit_price": "100", "capacity": 29}],
        ceiling="5000",
        demand=[{"region": "P01", "quantity": 30}],
    )
    assert run(document).run.warnings == (shortfall("B1", 1, 29),)


def test_single_units_and_zero_volumes_of_brands() -> None:
    """DESIGN.md §2.2: a hospital's volume of a losing product goes to the winner it
    chose. H1's two losing brands (one set each) both go to its choice B2; H2's single
    lost set too; H3 declared 0 of the winner B1, H4 nothing at all: no row for either."""
    bids = [
        {"id": "B1", "unit_price": "90"},
        {"id": "B2", "unit_price": "100"},
        {"id": "B3", "unit_price": "200"},
        {"id": "B4", "unit_price": "6000"},
    ]
    demand = [
        {
            "region": "P01",
            "quantity": 6,
            "hospitals": [
                {
                    "id": "H1",
                    "quantity": 3,
                    "brand_volumes": [
                        {"bid": "B1", "quantity": 1},
                        {"bid": "B3", "quantity": 1},
                        {"bid": "B4", "quantity": 1},
                    ],
                    "reassign_to": ["B2"],
                },
                {
                    "id": "H2",
                    "quantity": 1,
                    "brand_volumes": [{"bid": "B3", "quantity": 1}],
                    "reassign_to": ["B2"],
                },
                {
                    "id": "H3",
                    "quantity": 2,
                    "brand_volumes": [{"bid": "B1", "quantity": 0}, {"bid": "B2", "quantity": 2}],
                },
            ],
        },
        {
            "region": "P02",
            "quantity": 0,
            "hospitals": [
                {"id": "H4", "quantity": 0, "brand_volumes": [{"bid": "B1", "quantity": 0}]}
            ],
        },
    ]
    result = run(problem("consumables-joints", bids, ceiling="5000", demand=demand))
    # Groups by intended sets: B2 2, B3 2, B1 1 (B4 is invalid): B1 starts at 4 of 5 = 80%.
    assert {b.bid: (b.status, b.group) for b in result.bids} == {
        "B1": ("won", "B"),
        "B2": ("won", "A"),
        "B3": ("lost", "A"),
        "B4": ("invalid", None),
    }
    assert rows_of(result) == {
        ("P01", "B1", INTENDED): (1, "0", "90"),
        ("P01", "B2", CHOICE): (3, "0", "300"),
        ("P01", "B2", INTENDED): (2, "0", "200"),
    }
    rows = {(h.hospital, h.bid): h.quantity for h in result.hospital_allocations}
    assert rows == {("H1", "B1"): 1, ("H1", "B2"): 2, ("H2", "B2"): 1, ("H3", "B2"): 2}


# --- the exact helpers on their smallest inputs ---------------------------------------------


def test_the_draft_with_no_winner_or_no_province_and_more_winners_than_provinces() -> None:
    assert draft_order(0, 31) == []
    assert draft_order(3, 0) == []
    assert draft_counts(0, 31) == []
    assert draft_counts(3, 2) == [2, 0, 0]  # the lowest picks first, then round robin


def test_largest_remainder_breaks_an_equal_fraction_by_id_not_by_weight() -> None:
    # 3 in 5:1 -> 2.5 and 0.5, equal fractions: the unit goes to "a" (the id), not to the
    # smaller weight "b"
    assert largest_remainder(3, [("a", 5), ("b", 1)]) == {"a": 3, "b": 0}


def test_lay_out_on_single_units_three_suppliers_and_too_little_supply() -> None:
    assert lay_out([("h1", 1)], [("B1", 1)]) == [("h1", "B1", 1)]
    assert lay_out([("h2", 2), ("h1", 2)], [("B1", 1), ("B2", 1), ("B3", 2)]) == [
        ("h1", "B1", 1),
        ("h1", "B2", 1),
        ("h2", "B3", 2),
    ]
    assert lay_out([("h1", 5), ("h2", 1)], [("B1", 2), ("B2", 0), ("B3", 1)]) == [
        ("h1", "B1", 2),
        ("h1", "B3", 1),
    ]
    assert lay_out([("h1", 5)], []) == []


def test_money_scaling_refuses_a_figure_with_more_decimals_than_the_scale() -> None:
    pricing = Pricing(digits=2, costs={})
    assert (pricing.scale, pricing.to_int(Decimal("1.23"))) == (100, 123)
    with pytest.raises(ValueError, match=r"^1\.234 has more than 2 decimals$"):
        pricing.to_int(Decimal("1.234"))


def test_a_default_reassignment_of_a_single_set_and_a_capacity_of_zero() -> None:
    """B1 (100) has room for one more set: it takes 1 of P01's 5 and B2 (120) the other
    4; a lone winner with a capacity of 0 is short by all it must supply."""
    document = problem(
        "consumables-joints",
        [
            {"id": "B1", "unit_price": "100", "capacity": 1},
            {"id": "B2", "unit_price": "120"},
        ],
        ceiling="5000",
        demand=[{"region": "P01", "quantity": 5}],
    )
    assert rows_of(run(document)) == {
        ("P01", "B1", DEFAULT): (1, "0", "100"),
        ("P01", "B2", DEFAULT): (4, "0", "480"),
    }
    alone = problem(
        "consumables-joints",
        [{"id": "B1", "unit_price": "100", "capacity": 0}],
        ceiling="5000",
        demand=[{"region": "P01", "quantity": 5}],
    )
    assert run(alone).run.warnings == (shortfall("B1", 5, 0),)

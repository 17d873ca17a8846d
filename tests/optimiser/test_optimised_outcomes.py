"""The optimised award's result asserted in full: every bid outcome (a bid invalid under
the rule layer stays invalid with its reason), the item outcome (share and term of the
rule set), region allocations with a delivery cost that has a fixed part, and the
hospital rows of a region with hospitals."""

from __future__ import annotations

from decimal import Decimal

from procurement.optimiser import problem_from_dict, solve
from procurement.optimiser.model import Allocation, HospitalAllocation
from tests.optimiser.test_national_shape import shape_problem

D = Decimal


def test_every_outcome_of_an_optimised_award() -> None:
    bids = [
        {"id": "B1", "unit_price": "1"},
        {"id": "B2", "unit_price": "11"},  # above the ceiling 10: invalid
        {"id": "B3", "unit_price": "2"},
    ]
    document = shape_problem(bids, {"P1": 100, "P2": 100}, volume_share="0.8", term_years=3)
    document["items"][0]["demand"][0]["hospitals"] = [
        {"id": "H1", "quantity": 40},
        {"id": "H2", "quantity": 60},
    ]
    document["region_costs"] = [{"bid": "B1", "region": "P2", "per_unit": "0.5", "fixed": "7"}]
    result = solve(problem_from_dict(document))
    assert result.run.status == "optimal"
    item = result.items[0]
    assert (item.winners, item.bidders, item.valid_bids, item.winner_cap) == (("B1",), 3, 2, None)
    assert (item.agreed_volume_share, item.agreed_volume, item.term_years) == (D("0.8"), 160, 3)
    assert item.cost == D("207.00")  # 80 x 1 + 80 x 1 + 80 x 0.5 + 7
    outcomes = {b.bid: b for b in result.bids}
    assert [(b.bid, b.status, b.award_price, b.unit_comparable_price) for b in result.bids] == [
        ("B1", "won", D(1), D(1)),
        ("B2", "invalid", None, D(11)),
        ("B3", "lost", None, D(2)),
    ]
    assert [p.to_dict() for p in outcomes["B1"].reason_parts] == [
        {"code": "optimiser_awarded", "params": {"regions": 2, "units": 160, "price": "1"}}
    ]
    assert [p.to_dict() for p in outcomes["B2"].reason_parts] == [
        {"code": "above_ceiling", "params": {"price": "11", "ceiling": "10"}}
    ]
    assert [p.to_dict() for p in outcomes["B3"].reason_parts] == [
        {"code": "optimiser_not_chosen", "params": {}}
    ]
    common = {"item": "X", "bid": "B1", "supplier": "S-B1", "unit_price": D(1)}
    assert result.allocations == (
        Allocation(
            **common,
            region="P1",
            quantity=80,
            delivery_cost=D(0),
            cost=D(80),
            source="optimised award",
        ),
        Allocation(
            **common,
            region="P2",
            quantity=80,
            delivery_cost=D(47),  # 80 x 0.5 + 7
            cost=D(127),
            source="optimised award",
        ),
    )
    assert result.hospital_allocations == (
        HospitalAllocation(item="X", bid="B1", region="P1", hospital="H1", quantity=32),
        HospitalAllocation(item="X", bid="B1", region="P1", hospital="H2", quantity=48),
    )

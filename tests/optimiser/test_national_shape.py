"""The national shape in the optimised award: per-item winner counts, a price ratio among
an item's winners, a minimum national share per winner, and unmet demand at a penalty.
Each constraint is checked on both sides of its boundary."""

from __future__ import annotations

import dataclasses
import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from procurement.optimiser import ProblemError, problem_from_dict, result_to_dict, solve
from procurement.optimiser.optimised import price_windows
from procurement.optimiser.presets import validate_rule_set
from tests.optimiser.conftest import problem

EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/optimiser/national_shape.json"
BACKENDS = ["cp_sat", "highs", "auto", "side_by_side"]


def shape_problem(
    bids: list[dict[str, Any]],
    demand: dict[str, int],
    delivery: dict[tuple[str, str], str] | None = None,
    item: dict[str, Any] | None = None,
    **parameters: Any,
) -> dict[str, Any]:
    """One item X, single source, no forced winner; ``delivery`` per (bid, region)."""
    return problem(
        "optimised-award",
        bids,
        ceiling="10",
        demand=[{"region": r, "quantity": q} for r, q in demand.items()],
        item=item,
        region_costs=[
            {"bid": b, "region": r, "per_unit": c} for (b, r), c in (delivery or {}).items()
        ],
        parameters={"min_winners_per_item": 0, "time_limit_seconds": 20, **parameters},
    )


def winners(document: dict[str, Any], backend: str = "auto") -> list[str]:
    document["rule_set"]["parameters"]["backend"] = backend
    result = solve(problem_from_dict(document))
    assert result.run.status == "optimal"
    return list(result.items[0].winners)


# Three regions, each cheapest from a different bid (delivery costs elsewhere).
THREE = {"P1": 100, "P2": 100, "P3": 100}
FAR = {
    (b, r): "5"
    for b, r in itertools.product(["B1", "B2", "B3"], THREE)
    if b[1] != r[1]  # B1 is near P1, B2 near P2, B3 near P3
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_winners_exactly_reached_keeps_every_winner(backend: str) -> None:
    bids = [{"id": f"B{k}", "unit_price": "1"} for k in (1, 2, 3)]
    document = shape_problem(bids, THREE, FAR, item={"max_winners": 3})
    assert winners(document, backend) == ["B1", "B2", "B3"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_winners_of_the_item_overrides_the_rule_set_and_binds(backend: str) -> None:
    bids = [{"id": f"B{k}", "unit_price": "1"} for k in (1, 2, 3)]
    document = shape_problem(bids, THREE, FAR, item={"max_winners": 2}, max_winners_per_item=3)
    assert len(winners(document, backend)) == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_min_winners_of_the_item_overrides_the_rule_set(backend: str) -> None:
    bids = [{"id": "B1", "unit_price": "1"}, {"id": "B2", "unit_price": "2"}]
    document = shape_problem(bids, {"P1": 100, "P2": 100}, item={"min_winners": 2})
    assert winners(document, backend) == ["B1", "B2"]


def ratio_problem(higher_price: str) -> dict[str, Any]:
    """B1 at 1 is near P1, B2 near P2: both win unless their prices are too far apart."""
    bids = [{"id": "B1", "unit_price": "1.0000"}, {"id": "B2", "unit_price": higher_price}]
    delivery = {("B1", "P2"): "5", ("B2", "P1"): "5"}
    return shape_problem(
        bids, {"P1": 100, "P2": 100}, delivery, max_price_ratio_among_winners="1.8"
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_winner_at_exactly_the_price_ratio_may_win_beside_the_lowest(backend: str) -> None:
    assert winners(ratio_problem("1.8000"), backend) == ["B1", "B2"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_bid_just_above_the_price_ratio_cannot_win_beside_the_lowest(backend: str) -> None:
    document = ratio_problem("1.8001")
    document["rule_set"]["parameters"]["backend"] = backend
    result = solve(problem_from_dict(document))
    assert result.items[0].winners == ("B1",)
    assert result.run.objective == Decimal("700")  # 100 x 1 + 100 x (1 + 5)
    b2 = next(b for b in result.bids if b.bid == "B2")
    assert b2.reason == "not chosen by the optimiser: a cheaper award meets every constraint"


def share_problem(share: str) -> dict[str, Any]:
    """P1 800 near B1, P2 200 near B2: B2 wins P2 only if 200 units are enough."""
    bids = [{"id": "B1", "unit_price": "1"}, {"id": "B2", "unit_price": "1"}]
    delivery = {("B1", "P2"): "5", ("B2", "P1"): "5"}
    return shape_problem(
        bids, {"P1": 800, "P2": 200}, delivery, min_national_share_per_winner=share
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_winner_with_exactly_the_minimum_national_share_may_win(backend: str) -> None:
    assert winners(share_problem("0.2"), backend) == ["B1", "B2"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_winner_just_under_the_minimum_national_share_cannot_win(backend: str) -> None:
    document = share_problem("0.2001")  # ceil(0.2001 x 1000) = 201 > 200
    document["rule_set"]["parameters"]["backend"] = backend
    result = solve(problem_from_dict(document))
    assert result.items[0].winners == ("B1",)
    assert result.run.objective == Decimal("2000")  # 800 x 1 + 200 x 6


def unmet_problem(penalty: str, **parameters: Any) -> dict[str, Any]:
    bids = [{"id": "B1", "unit_price": "1.00"}]
    return shape_problem(
        bids, {"P1": 100, "P2": 300}, item={"unmet_penalty_price": penalty}, **parameters
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_demand_is_supplied_when_the_penalty_costs_more(backend: str) -> None:
    document = unmet_problem("1.01")
    document["rule_set"]["parameters"]["backend"] = backend
    result = solve(problem_from_dict(document))
    assert result.items[0].winners == ("B1",)
    assert result.unmet == ()
    assert result.totals.unmet_penalty == Decimal(0)
    assert result.run.warnings == ()
    assert result_to_dict(result)["unmet_demand"] == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_item_may_end_with_no_winner_when_the_penalty_costs_less(backend: str) -> None:
    document = unmet_problem("0.99")
    document["rule_set"]["parameters"]["backend"] = backend
    result = solve(problem_from_dict(document))
    assert result.run.status == "optimal"
    assert result.items[0].winners == ()
    assert result.allocations == ()
    assert result.totals.cost == Decimal("0.00")
    assert result.totals.unmet_penalty == Decimal("396.00")
    assert result.run.objective == Decimal("396")
    assert result.run.warnings == (
        "item X: 400 agreed units in 2 region(s) left unmet at the penalty 0.99 per unit",
    )
    b1 = result.bids[0]
    assert b1.status == "lost"
    assert [p.to_dict() for p in b1.reason_parts] == [
        {"code": "optimiser_item_left_unmet", "params": {"penalty": "0.99", "units": 400}}
    ]
    assert b1.reason == (
        "not chosen by the optimiser: no bid of the item is awarded; its 400 agreed units are "
        "left unmet at the penalty 0.99 per unit, which costs less than any award meeting "
        "every constraint"
    )
    assert result_to_dict(result)["unmet_demand"] == [
        {"item": "X", "region": "P1", "quantity": 100, "penalty_price": "0.99", "penalty": "99.00"},
        {
            "item": "X",
            "region": "P2",
            "quantity": 300,
            "penalty_price": "0.99",
            "penalty": "297.00",
        },
    ]


def test_a_minimum_of_one_winner_forces_a_winner_even_when_unmet_costs_less() -> None:
    result = solve(problem_from_dict(unmet_problem("0.50", min_winners_per_item=1)))
    assert result.items[0].winners == ("B1",)
    # B1 takes the smaller region; the larger is left unmet: 100 x 1 + 300 x 0.5
    assert result.run.objective == Decimal("250")
    assert [(u.region, u.quantity) for u in result.unmet] == [("P2", 300)]


def test_the_penalty_ratio_prices_unmet_units_from_the_ceiling() -> None:
    bids = [{"id": "B1", "unit_price": "9"}]
    document = shape_problem(bids, {"P1": 10}, unmet_penalty_ratio="0.85")  # 8.5 < 9
    result = solve(problem_from_dict(document))
    assert result.unmet[0].penalty_price == Decimal("8.50")
    assert result.run.objective == Decimal("85")


def test_the_worked_example_of_the_documentation() -> None:
    """docs/optimiser.md, "The national shape": A3 at 2.00 x A1 cannot win beside it,
    S1's 700 units go to A's P1 and P3, and B is left unmet."""
    result = solve(problem_from_dict(json.loads(EXAMPLE.read_text(encoding="utf-8"))))
    assert result.run.status == "optimal"
    assert result.run.objective == Decimal("1335")
    assert result.totals.cost == Decimal("535.00")
    assert result.totals.unmet_penalty == Decimal("800.00")
    assert [(i.item, i.winners) for i in result.items] == [("A", ("A1", "A2")), ("B", ())]
    assert [(a.bid, a.region, a.quantity) for a in result.allocations] == [
        ("A1", "P1", 100),
        ("A2", "P2", 300),
        ("A1", "P3", 600),
    ]
    assert result.hospital_allocations == ()  # nothing of B is supplied


def test_the_worked_example_is_the_brute_force_minimum() -> None:
    prices = {"A1": Decimal("0.40"), "A2": Decimal("0.70"), "A3": Decimal("0.80")}
    a_demand = {"P1": 100, "P2": 300, "P3": 600}
    best = None
    for owners in itertools.product([*prices, None], repeat=3):
        won = {o for o in owners if o}
        if len(won) > 2 or ("A1" in won and "A3" in won):  # max 2 winners, ratio 1.8
            continue
        units = {
            b: sum(q for q, o in zip(a_demand.values(), owners, strict=True) if o == b) for b in won
        }
        if any(u < 200 for u in units.values()):  # 20% of 1,000
            continue
        for b_regions in range(3):  # B1 supplies none, one (200) or both regions of B
            b_units = 200 * b_regions
            if units.get("A1", 0) + b_units > 700 or (b_regions and b_units < 80):
                continue
            cost = sum(
                (prices[o] + (Decimal("0.15") if (o, r) == ("A2", "P2") else 0)) * q
                if o
                else Decimal("1.00") * q
                for (r, q), o in zip(a_demand.items(), owners, strict=True)
            )
            cost += Decimal("1.90") * b_units + Decimal("2.00") * (400 - b_units)
            best = cost if best is None or cost < best else best
    assert best == Decimal("1335")


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_input_gives_byte_identical_results(backend: str) -> None:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["rule_set"]["parameters"]["backend"] = backend
    shuffled = json.loads(json.dumps(document))
    shuffled["bids"].reverse()
    shuffled["items"].reverse()
    outputs = {
        json.dumps(result_to_dict(solve(problem_from_dict(d)), include_timing=False))
        for d in (document, document, shuffled)
    }
    assert len(outputs) == 1


def test_the_automatic_backend_states_its_choice_and_reason() -> None:
    result = solve(problem_from_dict(json.loads(EXAMPLE.read_text(encoding="utf-8"))))
    assert result.run.solver == "auto: cp-sat"
    assert [p.to_dict() for p in result.run.solver_reason_parts] == [
        {"code": "backend_cp_sat_small", "params": {"threshold": 10_000, "variables": 22}}
    ]
    document = result_to_dict(result)
    assert document["run"]["solver_reason"] == (
        "CP-SAT: 22 variables (fewer than 10000); CP-SAT proved small models fastest"
    )


def test_an_explicit_backend_writes_no_reason_so_older_results_are_unchanged() -> None:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["rule_set"]["parameters"]["backend"] = "cp_sat"
    run = result_to_dict(solve(problem_from_dict(document)))["run"]
    assert run["solver"] == "cp-sat"
    assert "solver_reason" not in run


def test_price_windows_are_the_maximal_sets_within_the_ratio() -> None:
    prices = [(Decimal(p), b) for p, b in [("1", "a"), ("1.8", "b"), ("1.81", "c"), ("3.3", "d")]]
    # b admits c (1.81 <= 3.24) but not d; c's own window [c] lies inside b's
    assert price_windows(prices, Decimal("1.8")) == [["a", "b"], ["b", "c"], ["d"]]
    assert price_windows(prices, Decimal("3.3")) == []  # one window holds them all
    tied = [(Decimal("1"), "a"), (Decimal("1"), "b"), (Decimal("2"), "c")]
    assert price_windows(tied, Decimal("1.5")) == [["a", "b"], ["c"]]


def test_new_item_fields_round_trip_through_the_canonical_document() -> None:
    from procurement.optimiser import problem_to_dict

    parsed = problem_from_dict(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    again = problem_from_dict(problem_to_dict(parsed))
    assert again == parsed
    item = problem_to_dict(parsed)["items"][0]
    assert item["max_winners"] == 2
    assert "min_winners" not in item  # absent when not given: older hashes unchanged


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            {"max_price_ratio_among_winners": "0.9"},
            (
                "$.rule_set.parameters.max_price_ratio_among_winners",
                "must be at least 1, got '0.9'",
            ),
        ),
        (
            {"max_price_ratio_among_winners": "fast"},
            (
                "$.rule_set.parameters.max_price_ratio_among_winners",
                "expected a ratio of at least 1 such as \"1.8\", or null for no limit, got 'fast'",
            ),
        ),
        (
            {"min_national_share_per_winner": "1.5"},
            (
                "$.rule_set.parameters.min_national_share_per_winner",
                "expected a share such as \"0.05\", or null for no minimum, got '1.5'",
            ),
        ),
        (
            {"unmet_penalty_ratio": "0"},
            ("$.rule_set.parameters.unmet_penalty_ratio", "must be more than 0, got '0'"),
        ),
        (
            {"min_winners_per_item": -1},
            (
                "$.rule_set.parameters.min_winners_per_item",
                "expected a whole number of at least 0 (0: an item may end with no winner), got -1",
            ),
        ),
        (
            {"backend": "fastest"},
            (
                "$.rule_set.parameters.backend",
                "expected one of 'auto', 'cp_sat', 'highs', 'side_by_side', 'decomposed', "
                "got 'fastest'",
            ),
        ),
    ],
)
def test_bad_national_shape_parameters_are_refused_with_their_path(
    change: dict[str, Any], error: tuple[str, str]
) -> None:
    with pytest.raises(ProblemError) as raised:
        problem_from_dict(shape_problem([{"id": "B1", "unit_price": "1"}], {"P1": 1}, **change))
    assert raised.value.errors == [error]


@pytest.mark.parametrize(
    ("item", "error"),
    [
        (
            {"min_winners": -1},
            ("$.items[0].min_winners", "expected a whole number from 0 to 1000, got -1"),
        ),
        (
            {"max_winners": 0},
            ("$.items[0].max_winners", "expected a whole number from 1 to 1000, got 0"),
        ),
        (
            {"min_winners": 3, "max_winners": 2},
            ("$.items[0].max_winners", "must be at least the item's minimum number of winners (3)"),
        ),
        (
            {"min_winners": 3},
            ("$.items[0].min_winners", "must be at most the maximum number of winners (2)"),
        ),
        (
            {"unmet_penalty_price": "-1"},
            (
                "$.items[0].unmet_penalty_price",
                "expected a non-negative decimal with at most 6 decimals: a string such as "
                "\"0.0526\" (or, in a JSON file, a number, read exactly as written), got '-1'",
            ),
        ),
    ],
)
def test_bad_item_winner_counts_and_penalties_are_refused(
    item: dict[str, Any], error: tuple[str, str]
) -> None:
    document = shape_problem(
        [{"id": "B1", "unit_price": "1"}], {"P1": 1}, item=item, max_winners_per_item=2
    )
    with pytest.raises(ProblemError) as raised:
        problem_from_dict(document)
    assert raised.value.errors == [error]


def test_the_parameters_check_accepts_the_national_shape() -> None:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert validate_rule_set("optimised_award", document["rule_set"]["parameters"]) == []


def _plain(variables: int, *names: str) -> Any:
    from procurement.optimiser.optimised import AwardModel, LinearModel

    model = LinearModel()
    for k in range(variables - len(names)):
        model.var(f"supply[{k}]", 1)
    for name in names:
        model.var(name, 1)
    return AwardModel(model, (), {}, Decimal(1))


def test_the_automatic_backend_chooses_by_size() -> None:
    from procurement.optimiser.optimised import AUTO_HIGHS_MIN_VARIABLES, choose_backend

    large = choose_backend(_plain(AUTO_HIGHS_MIN_VARIABLES, "window[B1]"))
    assert large[0] == "highs"
    assert large[1].to_dict() == {
        "code": "backend_highs_large",
        "params": {"threshold": 10_000, "variables": 10_000},
    }
    assert large[1] == choose_backend(_plain(AUTO_HIGHS_MIN_VARIABLES))[1]
    small = choose_backend(_plain(AUTO_HIGHS_MIN_VARIABLES - 1, "window[B1]"))
    assert small[0] == "cp_sat"
    assert small[1].code == "backend_cp_sat_small"


def _side_by_side(preferred: str, **kwargs: Any) -> tuple[Any, ...]:
    from procurement.optimiser.allocation import Pricing
    from procurement.optimiser.backends import Race, solve_side_by_side
    from procurement.optimiser.optimised import build_award_model
    from procurement.optimiser.solve import decide_items, money_scale_digits

    parsed = problem_from_dict(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    decisions = decide_items(parsed)
    pricing = Pricing(
        money_scale_digits(parsed, decisions), {(c.bid, c.region): c for c in parsed.region_costs}
    )
    model = build_award_model(parsed, decisions, pricing).model
    race = Race(preferred, kwargs.pop("cp_sat_work", 10.0), kwargs.pop("highs_work", 1000))
    return solve_side_by_side(model, race, time_limit=10, relative_gap=0, scale=pricing.scale)


@pytest.mark.parametrize("preferred", ["cp-sat", "highs (mathopt)"])
def test_side_by_side_reports_the_preferred_solvers_proof_every_time(preferred: str) -> None:
    outcomes = [_side_by_side(preferred) for _ in range(3)]
    assert {(o[0], tuple(o[1]), o[3]) for o in outcomes} == {
        ("optimal", tuple(outcomes[0][1]), preferred)
    }


def test_side_by_side_falls_back_to_the_other_solver_when_the_preferred_runs_out_of_work() -> None:
    # CP-SAT with no deterministic time at all cannot prove anything: HiGHS's proof stands
    status, values, bound, used = _side_by_side("cp-sat", cp_sat_work=0.0)
    assert (status, used) == ("optimal", "highs (mathopt)")
    assert values is not None and bound == Decimal("1335.00")


def test_the_scenario_comparison_prices_each_national_shape_constraint() -> None:
    from procurement.optimiser.scenarios import compare_scenarios

    parsed = problem_from_dict(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    rule_set = dataclasses.replace(parsed.rule_set, parameters=dict(parsed.rule_set.parameters))
    (row,) = compare_scenarios(parsed, [rule_set])
    costs = {c.constraint: c.cost_of_constraint for c in row.constraint_costs}
    assert costs == {
        "the items' own maximum numbers of winners": Decimal(0),
        # without the ratio A3 (0.80) takes P2 instead of A2 at 0.85: 300 x 0.05
        "winners within 1.8 x the item's lowest winning price": Decimal("15"),
        "each winner at least 0.2 of the item's volume": Decimal(0),
        "one supplier per region": costs["one supplier per region"],
        "supplier capacity across items": costs["supplier capacity across items"],
    }
    assert row.total_cost == Decimal("535.00")


def test_side_by_side_through_solve_gives_byte_identical_results() -> None:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["rule_set"]["parameters"]["backend"] = "side_by_side"
    results = [solve(problem_from_dict(document)) for _ in range(3)]
    assert results[0].run.solver == "side by side: highs (mathopt)"
    assert results[0].run.solver_reason_parts == ()
    assert results[0].run.objective == Decimal("1335")
    outputs = {json.dumps(result_to_dict(r, include_timing=False)) for r in results}
    assert len(outputs) == 1


def test_an_infeasible_national_shape_names_the_conflicting_constraints() -> None:
    # Two winners required, each with at least 60% of the item: they cannot both exist.
    bids = [{"id": "B1", "unit_price": "1"}, {"id": "B2", "unit_price": "1"}]
    document = shape_problem(
        bids,
        {"P1": 500, "P2": 500},
        item={"min_winners": 2},
        min_national_share_per_winner="0.6",
        max_price_ratio_among_winners="1.8",
        unmet_penalty_ratio="1",
    )
    result = solve(problem_from_dict(document))
    assert result.run.status == "infeasible"
    # minimal: without P2's cover both winners could supply P2 on top of P1
    assert result.run.explanation == (
        "at least 2 winners for item X",
        "supply the 500 agreed units of item X in region P2 from one supplier or leave them unmet",
        "each winner of item X supplies at least 0.6 of its 1,000 agreed units (600 units)",
    )

"""Consumables: a hospital's intended volumes when one of the products it declared was
not bid (DESIGN §2.2).

The joints round of ``test_reassignment`` (winners B1 1,000 with 70 sets of capacity,
B2 1,200, B4 1,500; B3 loses) plus hospital H5 in Beijing, which declares 100 sets of
B4's product and 20 of a product nobody bid. B4 won, so H5's 100 sets stay with B4
exactly; only the 20 unbid sets move, like a losing product's: to H5's chosen winner,
or, without a choice, by the minimum-cost default (B1's remaining capacity, then B2),
never to the dearer B4. Before the fix the whole 120 moved by minimum cost and B4 got
none of H5's volume.
"""

from __future__ import annotations

import pytest

from accounts.models import Organization, Region
from awards import services
from awards.models import EvaluationRun
from awards.problem import problem_build
from awards.services import reassignment
from catalog.models import Product
from procurement.models import DemandDeclaration
from tests.awards.test_reassignment import (
    CHOICE,
    DEFAULT,
    INTENDED,
    JointsRound,
    allocations,
    choose,
    declare_unbid_product,
    finalize,
    hospital_rows,
    joints_round,
)
from tests.factories import user_of

pytestmark = pytest.mark.django_db


def with_h5(capture, *, publish: bool = True) -> JointsRound:
    built = joints_round()
    h5 = user_of(
        Organization.Kind.HOSPITAL, region=Region.objects.get(code="11"), name="H5 人民医院"
    )
    built.hospitals["H5"] = h5
    DemandDeclaration.objects.create(
        round_item=built.round_item,
        hospital=h5.organization,
        product=built.bids["B4"].product,
        quantity=100,
    )
    declare_unbid_product(built, "H5", 20)
    if publish:
        with capture(execute=True):
            services.evaluation_request(round_=built.round, by=built.office)
        services.objection_period_open(round_=built.round, by=built.office)
        built.round.refresh_from_db()
    return built


def test_a_winning_product_keeps_its_intended_volume_beside_an_unbid_one(
    django_capture_on_commit_callbacks,
) -> None:
    built = with_h5(django_capture_on_commit_callbacks)
    rows = hospital_rows(built, "H5")
    assert rows["B4"] == 100  # exactly its intended volume of the winning product
    assert sum(rows.values()) == 120
    assert set(rows) - {"B4"} <= {"B1", "B2"}  # the 20 unbid sets by minimum cost
    by_source: dict[tuple[str, str], int] = {}
    for (_region, bid, source), quantity in allocations(built).items():
        by_source[(bid, source)] = by_source.get((bid, source), 0) + quantity
    # H2's 50 and H5's 100 of B4's product; H1's 60 of B1's; H3's 30 of B2's.
    assert by_source[("B4", INTENDED)] == 150
    assert ("B4", DEFAULT) not in by_source
    # Lost: H1's 40 (B3 lost), H4's 20 (B3 lost), H5's 20 (not bid): 80 by minimum cost,
    # B1's remaining 10 sets first, then B2.
    assert by_source[("B1", DEFAULT)] == 10
    assert by_source[("B2", DEFAULT)] == 70


def test_the_hospitals_choice_takes_the_unbid_volume_and_only_it(
    django_capture_on_commit_callbacks,
) -> None:
    built = with_h5(django_capture_on_commit_callbacks)
    (item,) = reassignment.lost_volume_items(
        round_=built.round, hospital=built.hospitals["H5"].organization
    )
    assert (item.declared, item.lost) == (120, 20)
    choose(built, "H5", "B4")
    finalize(django_capture_on_commit_callbacks, built)
    run = EvaluationRun.objects.get(round=built.round, is_official=True)
    assert run.is_hospital_choice and run.status == EvaluationRun.Status.DONE
    assert hospital_rows(built, "H5") == {"B4": 120}
    rows = allocations(built)
    assert rows[("11", "B4", INTENDED)] == 150
    assert rows[("11", "B4", CHOICE)] == 20


def test_the_input_hash_changes_with_the_unbid_volume(django_capture_on_commit_callbacks) -> None:
    built = with_h5(django_capture_on_commit_callbacks, publish=False)
    first = problem_build(round_=built.round, rule_set=built.round.rule_set).problem
    DemandDeclaration.objects.filter(product__registration_number="国械注准2026UNBID").update(
        quantity=25
    )
    second = problem_build(round_=built.round, rule_set=built.round.rule_set).problem
    assert first.input_hash != second.input_hash
    h5 = f"H{built.hospitals['H5'].organization.pk}"
    (hospital,) = [h for d in second.items[0].demand for h in d.hospitals if h.id == h5]
    unbid = Product.objects.get(registration_number="国械注准2026UNBID")
    assert [(b.bid, b.product, b.quantity) for b in hospital.brand_volumes] == [
        (f"B{built.bids['B4'].pk}", None, 100),
        (None, f"P{unbid.pk}", 25),
    ]
    assert hospital.quantity == 125

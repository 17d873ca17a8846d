"""A bid's unit comparable price and an item's ceiling are computed once and carried.

The opening prices every sealed bid on its item's representative specification and stores
the figure; the evaluation ranks on that stored figure (under the round's own rule set)
rather than computing it again; the award-result data print what the ranking used and the
item ceiling the run enforced. The item here has a ceiling only on its 40 mg
specification, none on the 20 mg representative: the enforced ceiling is the 40 mg one
converted by the price-difference ratio (one halving of strength: / 1.7), never the 40 mg
figure itself, which is what the reports printed before.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Organization, Region
from awards import services as award_services
from awards.models import BidResult, EvaluationRun, ItemAward
from bidding.models import OpenedBid
from bidding.services import bid_submit
from procurement.models import Ceiling, DemandDeclaration
from procurement.selectors import item_ceilings as round_item_ceilings
from reports import selectors
from tests.bidding.conftest import drug_product, make_drug_round, past_opening
from tests.ceremony import open_bids as round_open_bids
from tests.factories import user_of

D = Decimal
pytestmark = pytest.mark.django_db

CEILING_40MG = D("3.4000")
CONVERTED = D("2.0000")  # 3.4000 per 40 mg tablet / 1.7 = 2.0000 per 20 mg tablet


def test_the_ranking_and_the_report_use_the_figures_computed_once(
    django_capture_on_commit_callbacks,
) -> None:
    office = user_of(Organization.Kind.OFFICE)
    round_, round_item = make_drug_round(office=office.organization, code="T-2026-ONCE")
    spec20 = round_item.item.specifications.get(code="20MG")
    spec40 = round_item.item.specifications.get(code="40MG")
    Ceiling.objects.filter(round_item=round_item, specification=spec20).delete()
    Ceiling.objects.filter(round_item=round_item, specification=spec40).update(
        max_valid_bid_price=CEILING_40MG
    )
    beijing = Region.objects.get(code="11")
    hospital = user_of(Organization.Kind.HOSPITAL, region=beijing)
    DemandDeclaration.objects.create(
        round_item=round_item,
        hospital=hospital.organization,
        specification=spec40,
        quantity=10_000,
    )
    low = user_of(Organization.Kind.MANUFACTURER)
    high = user_of(Organization.Kind.MANUFACTURER)
    # Per 20 mg tablet: 3.0000 / 1.7 = 1.7647 (half up at the fourth decimal), 3.2300 / 1.7
    # = 1.9000. The 20 mg representative is not procured (it has no ceiling).
    bid_submit(
        round_item=round_item,
        specification=spec40,
        product=drug_product(low.organization, spec40),
        unit_price=D("3.0000"),
        annual_capacity=1_000_000,
        by=low,
    )
    bid_submit(
        round_item=round_item,
        specification=spec40,
        product=drug_product(high.organization, spec40),
        unit_price=D("3.2300"),
        annual_capacity=1_000_000,
        by=high,
    )
    past_opening(round_)
    round_open_bids(round_=round_, by=office)
    opened = {o.manufacturer_id: o for o in OpenedBid.objects.filter(round_item=round_item)}
    assert opened[low.organization_id].unit_comparable_price == D("1.7647")
    assert opened[high.organization_id].unit_comparable_price == D("1.9000")
    # Before any run, the round's ceiling per representative unit is the converted one.
    assert round_item_ceilings(round_=round_) == {round_item.pk: CONVERTED}

    round_.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        run = award_services.evaluation_request(round_=round_, by=office)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.DONE

    award = ItemAward.objects.get(run=run)
    assert award.max_valid_bid_price == CONVERTED
    results = {r.opened_bid.manufacturer_id: r for r in BidResult.objects.filter(run=run)}
    for maker_id, o in opened.items():
        assert results[maker_id].unit_comparable_price == o.unit_comparable_price
    assert results[low.organization_id].rank == 1

    assert selectors.item_ceilings(round_=round_, run=run) == {round_item.pk: CONVERTED}
    data = selectors.award_result_data(round_=round_, run=run)
    (section,) = data["sections"]
    assert section.ceiling == CONVERTED
    assert [w.unit_comparable_price for w in section.winners] == [
        results[w_id].unit_comparable_price
        for w_id in (low.organization_id, high.organization_id)
        if results[w_id].outcome == BidResult.Outcome.WON
    ]


def test_a_scenario_with_other_coefficients_computes_its_own_figures(
    django_capture_on_commit_callbacks,
) -> None:
    """Only the round's own coefficients may reuse the opening's figures."""
    from awards.problem import problem_build
    from procurement.models import RuleSet

    office = user_of(Organization.Kind.OFFICE)
    round_, round_item = make_drug_round(office=office.organization, code="T-2026-ONCE2")
    spec40 = round_item.item.specifications.get(code="40MG")
    maker = user_of(Organization.Kind.MANUFACTURER)
    bid_submit(
        round_item=round_item,
        specification=spec40,
        product=drug_product(maker.organization, spec40),
        unit_price=D("3.0000"),
        annual_capacity=1_000_000,
        by=maker,
    )
    past_opening(round_)
    round_open_bids(round_=round_, by=office)
    round_.refresh_from_db()
    own = problem_build(round_=round_, rule_set=round_.rule_set)
    assert [b.unit_comparable_price for b in own.problem.bids] == [D("1.7647")]
    other = RuleSet.objects.create(
        name="steeper-strength",
        version=1,
        kind=round_.rule_set.kind,
        parameters={
            **round_.rule_set.parameters,
            "comparable_price": {"strength": "2.0"},
        },
    )
    scenario = problem_build(round_=round_, rule_set=other)
    assert [b.unit_comparable_price for b in scenario.problem.bids] == [None]

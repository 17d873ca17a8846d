"""Consumables: each bidding unit of a round is awarded under its own rule set.

The round: a stents unit and a hip-joints unit, the same three bids on each (1,000 /
1,500 / 1,700 yuan; intended volumes 60 / 30 / 10 from the hospitals' declarations).

- The round's rule set is the joints rule (``consumables-joints``: group A holds the first
  80% of the intended volume, a bid wins within 1.8 x its group's lowest, 2-year term):
  the bids of 60 and 30 are group A (1.5 x the lowest: won), the bid of 10 is group B
  alone (won).
- The stents unit carries its own rule set (``T-consumables-stents``: group A holds 95%,
  1.3 x the lowest, 3-year term): all three bids are group A; 1,500 (1.5 x) and 1,700
  (1.7 x) lose, 1,000 wins alone.

Before this change the joints rule was applied to the stents too (every stent bid won).
"""

from __future__ import annotations

import datetime
import hashlib
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Organization, Region
from awards import services
from awards.models import BidResult, EvaluationRun, ItemAward
from bidding.models import Bid, BidVersion, OpenedBid, Opening
from catalog.models import BiddingUnit, ProcurementItem, Product, ProductKind, Specification
from procurement.models import Ceiling, DemandDeclaration, Round, RoundItem, RuleSet
from procurement.services import (
    round_create,
    round_item_set_rule_set,
    round_open_bidding,
    rule_set_load_presets,
)
from reports.services import award_result_render
from tests.factories import user_of

pytestmark = pytest.mark.django_db

BIDS = (("B1", "1000.0000", 60), ("B2", "1500.0000", 30), ("B3", "1700.0000", 10))
STENTS = {
    "group_a_volume_share": "0.95",
    "max_ratio_to_lowest": "1.3",
    "term_years": 3,
    "tie_break": ["unit_comparable_price", "earliest_submission"],
}


def _stents_rule_set() -> RuleSet:
    joints = RuleSet.objects.get(name="consumables-joints", version=1)
    return RuleSet.objects.create(
        name="T-consumables-stents",
        version=1,
        kind=joints.kind,
        parameters={**joints.parameters, **{k: v for k, v in STENTS.items() if k != "tie_break"}},
        periods={"objection_days": 0},
    )


def _unit(
    round_: Round, code: str, unit: str, opening: Opening, hospital: Organization
) -> RoundItem:
    item = ProcurementItem.objects.create(
        code=f"{code}-{round_.code}",
        kind=ProductKind.CONSUMABLE,
        name=f"{code} 测试单元",
        name_en=f"{code} test unit",
        bidding_unit=unit,
        unit_of_count="个",
        unit_of_count_en="piece",
    )
    spec = Specification.objects.create(
        item=item, code="std", label="标准型", pack_count=1, is_representative=True
    )
    round_item = RoundItem.objects.create(round=round_, item=item)
    ceiling = Decimal("5000.0000")
    Ceiling.objects.create(round_item=round_item, specification=spec, max_valid_bid_price=ceiling)
    for n, (name, price, volume) in enumerate(BIDS, start=1):
        maker = user_of(Organization.Kind.MANUFACTURER, name=f"{code}{name} 医疗器械有限公司")
        product = Product.objects.create(
            kind=ProductKind.CONSUMABLE,
            manufacturer=maker.organization,
            item=item,
            specification=spec,
            name=f"{code}{name} 产品",
            registration_number=f"国械注准2026{code}{round_.pk}{n:03d}",
        )
        bid = Bid.objects.create(
            round=round_, round_item=round_item, specification=spec, manufacturer=maker.organization
        )
        receipt = hashlib.sha256(f"{round_.code}-{code}-{name}".encode()).hexdigest()
        version = BidVersion.objects.create(
            bid=bid,
            number=1,
            action=BidVersion.Action.SUBMIT,
            product=product,
            nonce=b"n" * 12,
            ciphertext=b"sealed",
            receipt_hash=receipt,
            server_time=opening.opened_at,
            submitted_by=maker,
            manufacturer=maker.organization,
        )
        OpenedBid.objects.create(
            opening=opening,
            bid=bid,
            version=version,
            round_item=round_item,
            manufacturer=maker.organization,
            specification=spec,
            product=product,
            unit_price=Decimal(price),
            annual_capacity=None,
            unit_comparable_price=Decimal(price),
            max_valid_bid_price=ceiling,
            validity=OpenedBid.Validity.VALID,
            reasons=[],
            receipt_hash=receipt,
        )
        DemandDeclaration.objects.create(
            round_item=round_item, hospital=hospital, product=product, quantity=volume
        )
    return round_item


def opened_two_unit_round(code: str = "T-2026-U1") -> tuple[Round, RoundItem, RoundItem]:
    """The round above, bids opened; the stents unit carries its own rule set."""
    rule_set_load_presets()
    RuleSet.objects.filter(name="consumables-joints", version=1).update(
        periods={"objection_days": 0}
    )
    office = user_of(Organization.Kind.OFFICE)
    now = timezone.now()
    round_ = Round.objects.create(
        code=code,
        name="测试耗材集采（分单元规则）",
        name_en="Test consumables round, rules per unit",
        kind=Round.Kind.CONSUMABLES,
        status=Round.Status.DEMAND_CLOSED,
        office=office.organization,
        rule_set=RuleSet.objects.get(name="consumables-joints", version=1),
        demand_opens_at=now - datetime.timedelta(days=30),
        demand_closes_at=now - datetime.timedelta(days=20),
        bid_deadline=now - datetime.timedelta(days=2),
        opening_at=now - datetime.timedelta(days=1),
        objection_ends_at=now + datetime.timedelta(days=7),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
    )
    beijing = Region.objects.get(code="11")
    round_.regions.set([beijing])
    hospital = user_of(Organization.Kind.HOSPITAL, region=beijing).organization
    opening = Opening.objects.create(
        round=round_, opened_at=now, trigger=Opening.Trigger.OFFICE, opened_by=office
    )
    stents = _unit(round_, "STENT", BiddingUnit.CORONARY_STENT, opening, hospital)
    joints = _unit(round_, "HIP", BiddingUnit.HIP_CERAMIC_PE, opening, hospital)
    round_item_set_rule_set(round_item=stents, rule_set=_stents_rule_set(), by=office)
    Round.objects.filter(pk=round_.pk).update(status=Round.Status.BIDS_OPENED)
    round_.refresh_from_db()
    return round_, stents, joints


def _outcomes(run: EvaluationRun, round_item: RoundItem) -> dict[str, tuple[str, str, int | None]]:
    """Bid (by price) -> (outcome, group, rank)."""
    return {
        f"{r.unit_price:.0f}": (r.outcome, r.group, r.rank)
        for r in BidResult.objects.filter(run=run, round_item=round_item)
    }


def test_each_bidding_unit_is_evaluated_under_its_own_rule_set(
    django_capture_on_commit_callbacks, tmp_path: Path
) -> None:
    round_, stents, joints = opened_two_unit_round()
    office = round_.office.users.first()
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=round_, by=office)
    run = EvaluationRun.objects.get(round=round_, is_official=True)
    assert run.status == EvaluationRun.Status.DONE, run.error

    # Stents, under their own rule: one group A of three, only 1,000 within 1.3 x.
    assert _outcomes(run, stents) == {
        "1000": ("won", "A", 1),
        "1500": ("lost", "A", 2),
        "1700": ("lost", "A", 3),
    }
    # Joints, under the round's: A = the first 80% (60 + 30), B = the rest; all within 1.8 x.
    assert _outcomes(run, joints) == {
        "1000": ("won", "A", 1),
        "1500": ("won", "A", 2),
        "1700": ("won", "B", 1),
    }
    stent_award = ItemAward.objects.get(run=run, round_item=stents)
    joint_award = ItemAward.objects.get(run=run, round_item=joints)
    assert (stent_award.winners, stent_award.term_years) == (1, 3)
    assert (joint_award.winners, joint_award.term_years) == (3, 2)
    # Every unit's intended volume stays awarded: 100 units each; the stents' 40 units of
    # losing products go to the only winner, at 1,000.
    assert (stent_award.agreed_volume, stent_award.cost) == (100, Decimal("100000.00"))
    assert (joint_award.agreed_volume, joint_award.cost) == (100, Decimal("122000.00"))
    assert run.total_cost == Decimal("222000.00")

    # The award-result announcement names each unit's rule set in its section.
    services.objection_period_open(round_=round_, by=office)
    round_.refresh_from_db()
    services.award_finalize(round_=round_, by=office, now=round_.objection_ends_at)
    round_.refresh_from_db()
    pdf = tmp_path / "award.pdf"
    pdf.write_bytes(
        award_result_render(round_=round_, run=EvaluationRun.objects.get(pk=run.pk), language="en")
    )
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    words = " ".join(text.split())
    # Each section's heading, then its unit's rule set.
    assert (
        f"{joints.item.code} HIP test unit HIP 测试单元 "
        "Rule set of the bidding unit: Joint prostheses (consumables) v1"
    ) in words
    assert (
        f"{stents.item.code} STENT test unit STENT 测试单元 "
        "Rule set of the bidding unit: T-consumables-stents v1"
    ) in words


def test_a_scenario_applies_one_rule_set_to_every_unit(django_capture_on_commit_callbacks) -> None:
    round_, stents, _joints = opened_two_unit_round("T-2026-U2")
    office = round_.office.users.first()
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=round_, by=office)
    with django_capture_on_commit_callbacks(execute=True):
        scenario = services.evaluation_request(
            round_=round_,
            by=office,
            rule_set=RuleSet.objects.get(name="T-consumables-stents", version=1),
        )
    scenario.refresh_from_db()
    assert scenario.is_scenario and scenario.status == EvaluationRun.Status.DONE
    joints = round_.items.exclude(pk=stents.pk).get()
    # The stents rule on the joints too: one group A, 1,500 and 1,700 above 1.3 x.
    assert {k: v[0] for k, v in _outcomes(scenario, joints).items()} == {
        "1000": "won",
        "1500": "lost",
        "1700": "lost",
    }


def test_the_unit_rule_set_is_set_before_bidding_and_refused_after() -> None:
    rule_set_load_presets()
    office = user_of(Organization.Kind.OFFICE)
    joints = RuleSet.objects.get(name="consumables-joints", version=1)
    stents = _stents_rule_set()
    now = timezone.now()
    round_ = round_create(
        office=office.organization,
        code="T-2026-U3",
        name="测试耗材",
        name_en="Test consumables",
        kind=Round.Kind.CONSUMABLES,
        rule_set=joints,
        regions=Region.objects.filter(code="11"),
        demand_opens_at=now + datetime.timedelta(hours=1),
        demand_closes_at=now + datetime.timedelta(days=2),
        bid_deadline=now + datetime.timedelta(days=40),
        opening_at=now + datetime.timedelta(days=40, hours=1),
        objection_ends_at=now + datetime.timedelta(days=47),
        contract_starts_on=(now + datetime.timedelta(days=60)).date(),
        items=[],
    )
    item = ProcurementItem.objects.create(
        code="STENT-U3",
        kind=ProductKind.CONSUMABLE,
        name="冠脉支架",
        name_en="Stent",
        bidding_unit=BiddingUnit.CORONARY_STENT,
        unit_of_count="个",
        unit_of_count_en="piece",
    )
    spec = Specification.objects.create(
        item=item, code="std", label="标准型", pack_count=1, is_representative=True
    )
    round_item = RoundItem.objects.create(round=round_, item=item)
    Ceiling.objects.create(
        round_item=round_item, specification=spec, max_valid_bid_price=Decimal("2850")
    )

    # Through the round page's form, as the office.
    client = Client()
    client.force_login(office)
    url = reverse("procurement:round-item-rule-set", args=[round_.code, round_item.pk])
    response = client.post(url, {"rule_set": stents.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    round_item.refresh_from_db()
    assert round_item.rule_set_id == stents.pk
    page = client.get(reverse("procurement:round", args=[round_.code]))
    assert b"T-consumables-stents" in page.content

    # Back to the round's rule set: stored as "the round's" (empty).
    round_item_set_rule_set(round_item=round_item, rule_set=joints, by=office)
    round_item.refresh_from_db()
    assert round_item.rule_set_id is None
    round_item_set_rule_set(round_item=round_item, rule_set=stents, by=office)

    # Bidding opens: both rule sets are frozen, and the unit's can no longer change.
    Round.objects.filter(pk=round_.pk).update(
        status=Round.Status.DEMAND_CLOSED,
        demand_opens_at=now - datetime.timedelta(days=3),
        demand_closes_at=now - datetime.timedelta(days=1),
    )
    round_.refresh_from_db()
    round_open_bidding(round_=round_, by=office)
    stents.refresh_from_db()
    assert stents.frozen_at is not None
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        round_item_set_rule_set(round_item=round_item, rule_set=None, by=office)
    assert "frozen once bidding opens" in refused.value.messages[0]
    response = client.post(url, {"rule_set": joints.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    round_item.refresh_from_db()
    assert round_item.rule_set_id == stents.pk

"""A small world for sealed-bidding tests: one office, a hospital, two manufacturers,
one drug round with two specifications in bidding, and helpers to move the clock."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Organization, User
from catalog.models import FormGroup, ProcurementItem, Product, ProductKind, Specification
from catalog.services import item_upsert, product_register, specification_upsert
from procurement.models import Round, RoundItem, RuleSet
from procurement.services import (
    round_close_demand,
    round_create,
    round_item_set_prices,
    round_open_bidding,
    round_open_demand,
    rule_set_load_presets,
)
from tests.factories import user_of

D = Decimal
CEILING_20MG = D("2.1200")
CEILING_40MG = D("3.6040")


@dataclass
class World:
    office: User
    hospital: User
    bidder: User
    rival: User
    round: Round
    round_item: RoundItem
    item: ProcurementItem
    spec20: Specification
    spec40: Specification
    bidder_20: Product
    bidder_40: Product
    bidder_ineligible_20: Product
    rival_20: Product

    def refresh(self) -> Round:
        self.round.refresh_from_db()
        return self.round


_serial = [0]


def _approval() -> str:
    _serial[0] += 1
    return f"国药准字H2099{_serial[0]:04d}"


def make_drug_round(*, office: Organization, code: str = "T-2026-D1") -> tuple[Round, RoundItem]:
    rule_set_load_presets()
    item, _ = item_upsert(
        code=f"{code}-ATV",
        kind=ProductKind.DRUG,
        name="阿托伐他汀钙片",
        name_en="Atorvastatin calcium tablets",
        generic_name="阿托伐他汀",
        form_group=FormGroup.ORAL_SOLID,
        unit_of_count="片",
        unit_of_count_en="tablet",
    )
    spec20, _ = specification_upsert(
        item=item,
        code="20MG",
        label="20mg",
        strength_value=D(20),
        strength_unit="mg",
        pack_count=7,
        dosage_form="片剂",
        is_representative=True,
    )
    spec40, _ = specification_upsert(
        item=item,
        code="40MG",
        label="40mg",
        strength_value=D(40),
        strength_unit="mg",
        pack_count=7,
        dosage_form="片剂",
    )
    now = timezone.now()
    round_ = round_create(
        office=office,
        code=code,
        name="测试药品轮次",
        name_en="Test drug round",
        kind=Round.Kind.DRUGS,
        rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
        regions=[],
        demand_opens_at=now - datetime.timedelta(days=2),
        demand_closes_at=now + datetime.timedelta(hours=1),
        # The rule set's 20 days from publication (bidding opens) to the deadline.
        bid_deadline=now + datetime.timedelta(days=21),
        opening_at=now + datetime.timedelta(days=21, hours=1),
        objection_ends_at=now + datetime.timedelta(days=28),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
        items=[item],
    )
    round_item = round_.items.get()
    round_item_set_prices(
        round_item=round_item, ceilings={spec20: CEILING_20MG, spec40: CEILING_40MG}
    )
    round_open_demand(round_=round_, by=None)
    round_close_demand(round_=round_, by=None)
    round_open_bidding(round_=round_, by=None)
    return round_, round_item


def drug_product(
    manufacturer: Organization, spec: Specification, *, eligible: bool = True, name: str = ""
) -> Product:
    product, _ = product_register(
        manufacturer=manufacturer,
        specification=spec,
        name=name or f"{manufacturer.name} {spec.label}",
        name_en=name or f"{manufacturer.name_en} {spec.label}",
        approval_number=_approval(),
        is_consistency_evaluated=eligible,
    )
    return product


def move_clock(
    round_: Round, *, deadline_in: datetime.timedelta, opening_in: datetime.timedelta | None = None
) -> Round:
    """Shift the round's timetable relative to now (the tests cannot wait hours)."""
    now = timezone.now()
    deadline = now + deadline_in
    opening = now + (opening_in if opening_in is not None else deadline_in)
    Round.objects.filter(pk=round_.pk).update(
        demand_opens_at=deadline - datetime.timedelta(days=3),
        demand_closes_at=deadline - datetime.timedelta(days=1),
        bid_deadline=deadline,
        opening_at=opening,
        objection_ends_at=max(deadline, opening) + datetime.timedelta(days=7),
    )
    round_.refresh_from_db()
    return round_


def past_opening(round_: Round) -> Round:
    return move_clock(
        round_,
        deadline_in=-datetime.timedelta(minutes=2),
        opening_in=-datetime.timedelta(minutes=1),
    )


def build_world(code: str = "T-2026-D1") -> World:
    office = user_of(Organization.Kind.OFFICE)
    hospital = user_of(Organization.Kind.HOSPITAL)
    bidder = user_of(Organization.Kind.MANUFACTURER)
    rival = user_of(Organization.Kind.MANUFACTURER)
    round_, round_item = make_drug_round(office=office.organization, code=code)
    item = round_item.item
    spec20 = item.specifications.get(code="20MG")
    spec40 = item.specifications.get(code="40MG")
    return World(
        office=office,
        hospital=hospital,
        bidder=bidder,
        rival=rival,
        round=round_,
        round_item=round_item,
        item=item,
        spec20=spec20,
        spec40=spec40,
        bidder_20=drug_product(bidder.organization, spec20),
        bidder_40=drug_product(bidder.organization, spec40),
        bidder_ineligible_20=drug_product(
            bidder.organization, spec20, eligible=False, name="Not evaluated generic"
        ),
        rival_20=drug_product(rival.organization, spec20),
    )


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def make_consumable_round(*, office: Organization, code: str = "T-2026-C1") -> RoundItem:
    """A stent round in bidding: one bidding unit, one specification, ceiling 2,850."""
    from catalog.models import BiddingUnit

    rule_set_load_presets()
    item, _ = item_upsert(
        code=f"{code}-STENT",
        kind=ProductKind.CONSUMABLE,
        name="冠脉药物洗脱支架",
        name_en="Coronary drug-eluting stent",
        bidding_unit=BiddingUnit.CORONARY_STENT,
        unit_of_count="个",
        unit_of_count_en="piece",
    )
    spec, _ = specification_upsert(item=item, code="UNIT", label="stent", is_representative=True)
    now = timezone.now()
    round_ = round_create(
        office=office,
        code=code,
        name="测试耗材轮次",
        kind=Round.Kind.CONSUMABLES,
        rule_set=RuleSet.objects.get(name="consumables-joints", version=1),
        regions=[],
        demand_opens_at=now - datetime.timedelta(days=2),
        demand_closes_at=now + datetime.timedelta(hours=1),
        # The rule set's 20 days from publication (bidding opens) to the deadline.
        bid_deadline=now + datetime.timedelta(days=21),
        opening_at=now + datetime.timedelta(days=21, hours=1),
        objection_ends_at=now + datetime.timedelta(days=28),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
        items=[item],
    )
    round_item = round_.items.get()
    round_item_set_prices(round_item=round_item, ceilings={spec: D("2850.0000")})
    round_open_demand(round_=round_, by=None)
    round_close_demand(round_=round_, by=None)
    round_open_bidding(round_=round_, by=None)
    return round_item


def stent_product(manufacturer: Organization, spec: Specification, model: str) -> Product:
    product, _ = product_register(
        manufacturer=manufacturer,
        specification=spec,
        name=f"支架 {model}",
        name_en=f"Stent {model}",
        registration_number=f"国械注准2099{_approval()[-4:]}",
        model_number=model,
    )
    return product

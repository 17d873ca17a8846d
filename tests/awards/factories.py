"""A small opened drug round, built directly as data (unit tests of the award).

The round: one item (atorvastatin 10 mg, oral solid), ceiling 0.5000 per tablet, bids
from five manufacturers at 0.1000, 0.1500, 0.1900, 0.3000 and 0.6000 (above the ceiling),
demand from three hospitals in Beijing (6,000 + 4,000) and one in Shanghai (10,000).

Under the batch-4 rule: N = 5 (the bid above the ceiling counts), cap 4; 0.1900 is
1.9 x the lowest but cuts 62% from the ceiling, so it wins; 0.3000 is 3 x the lowest,
above 0.10 and cuts only 40%, so it loses. 3 winners: 70% agreed volume, 2-year term.
Agreed: Beijing 7,000, Shanghai 7,000. The draft: the lowest-priced winner picks first,
then winners pick one each in rank order starting again from the lowest, so with two
provinces the cheapest winner holds both: 14,000 x 0.1000 = 1,400.00 yuan.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import Organization, Region, User
from bidding.models import Bid, BidVersion, OpenedBid, Opening
from catalog.models import FormGroup, ProcurementItem, Product, ProductKind, Specification
from procurement.models import Ceiling, DemandDeclaration, Round, RoundItem, RuleSet
from procurement.services import rule_set_load_presets
from tests.factories import user_of

PRICES = ("0.1000", "0.1500", "0.1900", "0.3000", "0.6000")


@dataclass
class OpenedRound:
    round: Round
    office: User
    round_item: RoundItem
    makers: list[User] = field(default_factory=list)
    hospitals: list[User] = field(default_factory=list)
    bids: list[OpenedBid] = field(default_factory=list)


_seq = [0]


def _next() -> int:
    _seq[0] += 1
    return _seq[0]


def opened_bid(
    *,
    round_: Round,
    round_item: RoundItem,
    specification: Specification,
    maker: User,
    price: str,
    capacity: int = 1_000_000,
    ceiling: Decimal,
) -> OpenedBid:
    n = _next()
    product = Product.objects.create(
        kind=ProductKind.DRUG,
        manufacturer=maker.organization,
        item=round_item.item,
        specification=specification,
        name=f"阿托伐他汀钙片 {n}",
        generic_name="阿托伐他汀",
        dosage_form="片剂",
        approval_number=f"国药准字H2026{n:04d}",
        is_consistency_evaluated=True,
    )
    bid = Bid.objects.create(
        round=round_,
        round_item=round_item,
        specification=specification,
        manufacturer=maker.organization,
    )
    receipt = hashlib.sha256(f"receipt-{n}".encode()).hexdigest()
    version = BidVersion.objects.create(
        bid=bid,
        number=1,
        action=BidVersion.Action.SUBMIT,
        product=product,
        nonce=b"n" * 12,
        ciphertext=b"sealed",
        receipt_hash=receipt,
        server_time=timezone.now(),
        submitted_by=maker,
        manufacturer=maker.organization,
    )
    opening, _ = Opening.objects.get_or_create(
        round=round_,
        defaults={"opened_at": timezone.now(), "trigger": Opening.Trigger.OFFICE},
    )
    unit_price = Decimal(price)
    above = unit_price > ceiling
    return OpenedBid.objects.create(
        opening=opening,
        bid=bid,
        version=version,
        round_item=round_item,
        manufacturer=maker.organization,
        specification=specification,
        product=product,
        unit_price=unit_price,
        annual_capacity=capacity,
        unit_comparable_price=unit_price,
        max_valid_bid_price=ceiling,
        validity=OpenedBid.Validity.INVALID if above else OpenedBid.Validity.VALID,
        reasons=[OpenedBid.Reason.ABOVE_CEILING] if above else [],
        receipt_hash=receipt,
    )


BEIJING_SHANGHAI = (("11", 6000), ("11", 4000), ("31", 10000))


def opened_round(
    *,
    prices: tuple[str, ...] = PRICES,
    code: str = "T-2026-D1",
    demand: tuple[tuple[str, int], ...] = BEIJING_SHANGHAI,
    objection_days: int | None = 0,
) -> OpenedRound:
    """The round above. ``objection_days``: its rule set's objection period (0: a
    rehearsal, finalized right after publication; ``None``: the default, 3 days; the
    period itself is tested in test_objection_period.py)."""
    rule_set_load_presets()
    rule_set = RuleSet.objects.get(name="national-drug-batch-4", version=1)
    if objection_days is not None:
        rule_set.periods = {**rule_set.periods, "objection_days": objection_days}
        rule_set.save(update_fields=["periods"])
    office = user_of(Organization.Kind.OFFICE)
    now = timezone.now()
    round_ = Round.objects.create(
        code=code,
        name="测试药品集采",
        name_en="Test drug round",
        kind=Round.Kind.DRUGS,
        status=Round.Status.BIDS_OPENED,
        office=office.organization,
        rule_set=rule_set,
        demand_opens_at=now - datetime.timedelta(days=30),
        demand_closes_at=now - datetime.timedelta(days=20),
        bid_deadline=now - datetime.timedelta(days=2),
        opening_at=now - datetime.timedelta(days=1),
        objection_ends_at=now + datetime.timedelta(days=7),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
    )
    regions = {code: Region.objects.get(code=code) for code, _ in demand}
    round_.regions.set(regions.values())
    item = ProcurementItem.objects.create(
        code=f"ATOR-{code}",
        kind=ProductKind.DRUG,
        name="阿托伐他汀 口服常释剂型",
        name_en="Atorvastatin, oral solid",
        generic_name="阿托伐他汀",
        form_group=FormGroup.ORAL_SOLID,
        unit_of_count="片",
        unit_of_count_en="tablet",
    )
    spec = Specification.objects.create(
        item=item,
        code="10mg",
        label="10 mg x 7",
        strength_value=Decimal("10"),
        strength_unit="mg",
        pack_count=7,
        is_representative=True,
    )
    round_item = RoundItem.objects.create(round=round_, item=item, reference_price=Decimal("0.8"))
    ceiling = Decimal("0.5000")
    Ceiling.objects.create(round_item=round_item, specification=spec, max_valid_bid_price=ceiling)
    built = OpenedRound(round=round_, office=office, round_item=round_item)
    for region_code, quantity in demand:
        hospital = user_of(Organization.Kind.HOSPITAL, region=regions[region_code])
        built.hospitals.append(hospital)
        DemandDeclaration.objects.create(
            round_item=round_item,
            hospital=hospital.organization,
            specification=spec,
            quantity=quantity,
        )
    for price in prices:
        maker = user_of(Organization.Kind.MANUFACTURER)
        built.makers.append(maker)
        built.bids.append(
            opened_bid(
                round_=round_,
                round_item=round_item,
                specification=spec,
                maker=maker,
                price=price,
                ceiling=ceiling,
            )
        )
    return built


def in_objection_period(capture: Any, **round_fields: Any) -> OpenedRound:
    """``opened_round(**round_fields)`` evaluated (the task run at once) and published
    for objections. ``capture``: pytest-django's ``django_capture_on_commit_callbacks``."""
    from awards import services

    built = opened_round(**round_fields)
    with capture(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    return built


def awarded_round(capture: Any, **round_fields: Any) -> OpenedRound:
    """``in_objection_period`` then finalized: the award is final."""
    from awards import services

    built = in_objection_period(capture, **round_fields)
    services.award_finalize(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    return built

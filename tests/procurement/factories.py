"""Factories for rounds, items and demand (built through the services where it matters)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import Organization, Region, User
from catalog.models import FormGroup, ProcurementItem, Product, Specification
from catalog.services import item_upsert, product_register, specification_upsert
from procurement.models import Round, RuleSet
from procurement.services import (
    round_create,
    round_item_set_prices,
    round_open_demand,
    rule_set_load_presets,
)
from tests.factories import user_of


def drug_item(code: str = "D-ATV-OS", specs: tuple[str, ...] = ("10MG", "20MG")) -> ProcurementItem:
    item, _ = item_upsert(
        code=code,
        kind="drug",
        name=f"药品{code}",
        name_en=f"Drug {code}",
        generic_name=f"generic {code}",
        form_group=FormGroup.ORAL_SOLID,
        unit_of_count="片",
        unit_of_count_en="tablet",
    )
    for i, spec in enumerate(specs):
        specification_upsert(
            item=item,
            code=spec,
            label=spec.lower(),
            strength_value=Decimal(10 * (i + 1)),
            strength_unit="mg",
            pack_count=7,
            is_representative=i == 0,
        )
    return item


def consumable_item(code: str = "C-STENT") -> ProcurementItem:
    item, _ = item_upsert(
        code=code,
        kind="consumable",
        name=f"耗材{code}",
        name_en=f"Consumable {code}",
        bidding_unit="coronary_stent",
        unit_of_count="个",
        unit_of_count_en="piece",
    )
    specification_upsert(item=item, code="UNIT", label="unit", is_representative=True)
    return item


def stent_product(
    item: ProcurementItem, maker: Organization, registration: str, model: str = ""
) -> Product:
    product, _ = product_register(
        manufacturer=maker,
        specification=item.specifications.get(code="UNIT"),
        name=f"支架{registration}",
        registration_number=registration,
        model_number=model,
    )
    return product


def rule_set(name: str = "national-drug-batch-4") -> RuleSet:
    rule_set_load_presets()
    return RuleSet.objects.get(name=name, version=1)


def make_round(
    *,
    office: User | None = None,
    code: str = "R-2026-1",
    kind: str = Round.Kind.DRUGS,
    items: list[ProcurementItem] | None = None,
    regions: tuple[str, ...] = ("11", "31"),
    open_demand: bool = False,
    ceilings: bool = True,
) -> Round:
    office = office or user_of("office")
    if items is None:
        items = [drug_item()] if kind == Round.Kind.DRUGS else [consumable_item()]
    now = timezone.now()
    round_ = round_create(
        office=office.organization,
        code=code,
        name=f"轮次{code}",
        name_en=f"Round {code}",
        kind=kind,
        rule_set=rule_set(
            "national-drug-batch-4" if kind == Round.Kind.DRUGS else "consumables-joints"
        ),
        regions=Region.objects.filter(code__in=regions),
        demand_opens_at=now - datetime.timedelta(days=1),
        demand_closes_at=now + datetime.timedelta(days=7),
        # The rule set's 20 days between publication (bidding opens) and the deadline.
        bid_deadline=now + datetime.timedelta(days=28),
        opening_at=now + datetime.timedelta(days=28, hours=1),
        objection_ends_at=now + datetime.timedelta(days=35),
        contract_starts_on=(now + datetime.timedelta(days=60)).date(),
        items=items,
        by=office,
    )
    if ceilings:
        for round_item in round_.items.select_related("item"):
            round_item_set_prices(
                round_item=round_item,
                ceilings={s: Decimal("2.5000") for s in round_item.item.specifications.all()},
                reference_price=Decimal("7.0000"),
            )
    if open_demand:
        round_open_demand(round_=round_, by=office)
    return round_


def hospital_user(region: str = "11") -> User:
    return user_of("hospital", region=Region.objects.get(code=region))


def spec(item_code: str, code: str) -> Specification:
    return Specification.objects.get(item__code=item_code, code=code)

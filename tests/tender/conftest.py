"""A drug round published (bidding open), with two manufacturers holding products of its
items, built through the services."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone, translation

from accounts.models import Organization, User
from catalog.models import Product, Specification
from catalog.services import product_register
from procurement.models import Round, RoundItem
from procurement.services import (
    DemandLine,
    demand_declare,
    round_close_demand,
    round_open_bidding,
)
from tests.factories import TEST_PASSWORD, user_of
from tests.procurement.factories import drug_item, hospital_user, make_round

D = Decimal


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@dataclass
class Published:
    round: Round
    office: User
    maker: User  # holds products of both items
    rival: User  # holds a product of ATV 20MG only
    hospital: User
    atv: RoundItem  # specifications 10MG (representative) and 20MG
    clo: RoundItem  # specification 75MG
    atv10: Specification
    atv20: Specification
    clo75: Specification

    def refresh(self) -> Round:
        self.round.refresh_from_db()
        return self.round


_serial = [0]


def _product(maker: User, spec: Specification) -> Product:
    _serial[0] += 1
    product, _ = product_register(
        manufacturer=maker.organization,  # type: ignore[arg-type]
        specification=spec,
        name=f"{maker.organization.name} {spec.label}",  # type: ignore[union-attr]
        approval_number=f"国药准字H2097{_serial[0]:04d}",
        is_consistency_evaluated=True,
    )
    return product


def publish_round(*, code: str = "T-2026-TD") -> Published:
    office = user_of(Organization.Kind.OFFICE, name="测试采购办公室", name_en="Test office")
    maker = user_of(Organization.Kind.MANUFACTURER, name="问询制药有限公司", name_en="Asker Pharma")
    rival = user_of(Organization.Kind.MANUFACTURER, name="对手制药有限公司", name_en="Rival Pharma")
    hospital = hospital_user("11")
    round_ = make_round(
        office=office,
        code=code,
        items=[drug_item(), drug_item("D-CLO-OS", ("75MG",))],
        open_demand=True,
    )
    atv = round_.items.get(item__code="D-ATV-OS")
    clo = round_.items.get(item__code="D-CLO-OS")
    atv10 = atv.item.specifications.get(code="10MG")
    atv20 = atv.item.specifications.get(code="20MG")
    clo75 = clo.item.specifications.get(code="75MG")
    demand_declare(
        hospital=hospital.organization,  # type: ignore[arg-type]
        round_=round_,
        lines=[
            DemandLine(item_code="D-ATV-OS", specification_code="20MG", quantity=120_000),
            DemandLine(item_code="D-CLO-OS", specification_code="75MG", quantity=36_000),
        ],
        channel="web",
        by=hospital,
    )
    _product(maker, atv20)
    _product(maker, clo75)
    _product(rival, atv20)
    round_close_demand(round_=round_, by=office)
    round_open_bidding(round_=round_, by=office)
    round_.refresh_from_db()
    return Published(round_, office, maker, rival, hospital, atv, clo, atv10, atv20, clo75)


@pytest.fixture
def published(db: None) -> Published:
    return publish_round()


def move_deadline(round_: Round, *, days: float) -> Round:
    """The bid deadline ``days`` from now, demand closed a month ago (a plain UPDATE: the
    tests cannot wait weeks)."""
    now = timezone.now()
    deadline = now + datetime.timedelta(days=days)
    Round.objects.filter(pk=round_.pk).update(
        demand_opens_at=now - datetime.timedelta(days=40),
        demand_closes_at=now - datetime.timedelta(days=30),
        bid_deadline=deadline,
        opening_at=deadline + datetime.timedelta(hours=1),
        objection_ends_at=deadline + datetime.timedelta(days=7),
    )
    round_.refresh_from_db()
    return round_


def client_for(user: User | None, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client

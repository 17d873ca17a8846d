"""Consumables are bid per product (brand): one bid line per own product of the unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils.translation import override

from accounts.models import Organization
from bidding.models import Bid, OpenedBid
from bidding.services import bid_revise, bid_submit
from tests.bidding.conftest import make_consumable_round, past_opening, stent_product
from tests.ceremony import open_bids as round_open_bids
from tests.factories import user_of

pytestmark = pytest.mark.django_db


def test_each_product_is_its_own_bid_and_cannot_be_swapped() -> None:
    office = user_of(Organization.Kind.OFFICE)
    maker = user_of(Organization.Kind.MANUFACTURER)
    round_item = make_consumable_round(office=office.organization)
    spec = round_item.item.specifications.get()
    first = stent_product(maker.organization, spec, "A-1")
    second = stent_product(maker.organization, spec, "B-2")

    page = Client(HTTP_ACCEPT_LANGUAGE="en")
    page.force_login(maker)
    body = page.get(reverse("bidding:sheet", args=[round_item.round.code])).content.decode()
    assert "Stent A-1" in body and "Stent B-2" in body

    a = bid_submit(
        round_item=round_item,
        specification=spec,
        product=first,
        unit_price=Decimal("700.0000"),
        annual_capacity=10000,
        by=maker,
    )
    b = bid_submit(
        round_item=round_item,
        specification=spec,
        product=second,
        unit_price=Decimal("3000.0000"),
        annual_capacity=5000,
        by=maker,
    )
    assert a.version.bid_id != b.version.bid_id
    assert Bid.objects.get(pk=a.version.bid_id).lineage_product == first
    with override("en"), pytest.raises(ValidationError) as exc:
        bid_revise(
            bid=a.version.bid,
            product=second,
            unit_price=Decimal("650"),
            annual_capacity=1,
            by=maker,
        )
    assert exc.value.messages == [
        "A consumable bid is for one product; withdraw it and bid the other."
    ]
    past_opening(round_item.round)
    round_open_bids(round_=round_item.round, by=office)
    opened = {o.product_id: o for o in OpenedBid.objects.all()}
    assert opened[first.pk].validity == "valid"
    assert opened[first.pk].unit_comparable_price == Decimal("700.0000")
    assert opened[second.pk].reasons == ["above_ceiling"]

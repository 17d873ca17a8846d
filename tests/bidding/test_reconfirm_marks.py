"""The bid sheet and the manufacturer's bid list mark the bids a material amendment asks
to re-confirm (issue 17): a bid on the amended line sealed before the amendment is marked
until its bidder seals it again; a bid on another line is not."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from bidding.models import Bid
from bidding.selectors import bids_to_reconfirm
from bidding.services import bid_revise, bid_submit
from tender.services import AmendmentDraft, amendment_publish
from tests.bidding.conftest import World
from tests.tender.conftest import client_for

pytestmark = pytest.mark.django_db
D = Decimal


def _bid(world: World, spec: str, price: str) -> Bid:
    specification = world.spec20 if spec == "20" else world.spec40
    product = world.bidder_20 if spec == "20" else world.bidder_40
    bid_submit(
        round_item=world.round_item,
        specification=specification,
        product=product,
        unit_price=D(price),
        annual_capacity=50_000,
        by=world.bidder,
    )
    return Bid.objects.get(specification=specification, manufacturer=world.bidder.organization)


def test_only_the_amended_lines_bids_are_marked_until_re_confirmed(world: World) -> None:
    on_20 = _bid(world, "20", "1.8000")
    on_40 = _bid(world, "40", "3.0000")
    assert bids_to_reconfirm(round_=world.round, bids=[on_20, on_40]) == set()
    sheet = reverse("bidding:sheet", args=[world.round.code])
    mine = reverse("bidding:round-bids", args=[world.round.code])
    client = client_for(world.bidder)
    assert "data-reconfirm" not in client.get(sheet).content.decode()

    amendment_publish(
        round_=world.round,
        by=world.office,
        draft=AmendmentDraft(
            reason="20mg 最高有效申报价调整",
            ceilings={(world.round_item.pk, world.spec20.pk): D("2.0000")},
        ),
    )
    assert bids_to_reconfirm(round_=world.round, bids=[on_20, on_40, None]) == {on_20.pk}
    for url in (sheet, mine):
        page = client.get(url).content.decode()
        assert page.count("data-reconfirm") == 1, url
    assert 'id="reconfirm"' in client.get(sheet).content.decode()
    zh = client_for(world.bidder, "zh-hans").get(sheet).content.decode()
    assert "待重新确认" in zh

    bid_revise(
        bid=on_20,
        product=world.bidder_20,
        unit_price=D("1.8000"),
        annual_capacity=50_000,
        by=world.bidder,
    )
    on_20.refresh_from_db()
    assert bids_to_reconfirm(round_=world.round, bids=[on_20, on_40]) == set()
    for url in (sheet, mine):
        assert "data-reconfirm" not in client.get(url).content.decode(), url

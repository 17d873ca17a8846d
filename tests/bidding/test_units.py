"""Capacities and prices carry the item's unit of count on the sheet, review and receipt."""

from __future__ import annotations

import re

from django.urls import reverse

from bidding.models import BidVersion
from tests.bidding.conftest import World
from tests.bidding.test_pages import client_for, sheet_data


def test_the_sheet_review_and_receipt_say_the_unit_of_count(world: World) -> None:
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    sheet = client.get(url).content.decode()
    assert '<th scope="col">Annual capacity (tablet)</th>' in sheet
    assert '<th scope="col">Unit price (yuan per tablet)</th>' in sheet
    assert "Maximum valid bid price (yuan per tablet)" in sheet
    key = f"{world.round_item.pk}-{world.spec20.pk}"
    assert re.search(
        rf'<label class="visually-hidden" for="id_{key}-annual_capacity">'
        rf"Annual capacity for {world.spec20.label} \(tablet\)</label>",
        sheet,
    )
    review = client.post(url, sheet_data(world, step="review")).content.decode()
    assert '<th scope="col">Unit of count</th>' in review
    assert re.search(r'<td class="num">120,000</td>\s*<td>tablet</td>', review)
    client.post(url, sheet_data(world, step="confirm"))
    version = BidVersion.objects.get()
    receipt = client.get(reverse("bidding:receipt", args=[version.pk])).content.decode()
    assert "<dd>120,000 tablet</dd>" in receipt
    assert "<dd>1.9876 yuan per tablet</dd>" in receipt

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
        rf"Annual capacity for {re.escape(world.spec20.english_label())} \(tablet\)</label>",
        sheet,
    )
    review = client.post(url, sheet_data(world, step="review")).content.decode()
    assert '<th scope="col">Unit of count</th>' in review
    assert re.search(r'<td class="num">120,000</td>\s*<td>tablet</td>', review)
    # The full receipt, shown once at submission (sealed afterwards).
    receipt = client.post(url, sheet_data(world, step="confirm")).content.decode()
    assert BidVersion.objects.count() == 1
    assert "<dd>120,000 tablet</dd>" in receipt
    assert "<dd>1.9876 yuan per tablet</dd>" in receipt


def test_the_sheet_error_summary_links_each_error_to_its_field(world: World) -> None:
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    response = client.post(url, sheet_data(world, price="1.23456", capacity="", step="review"))
    assert response.status_code == 422
    html = response.content.decode()
    summary = html.split('<div class="error-summary" id="error-summary"', 1)[1].split("</div>")[0]
    links = re.findall(r'<li><a href="#([^"]+)">([^<]*)</a></li>', summary)
    key = f"{world.round_item.pk}-{world.spec20.pk}"
    assert [field_id for field_id, _text in links] == [
        f"id_{key}-unit_price",
        f"id_{key}-annual_capacity",
    ]
    for field_id, text in links:
        assert f'id="{field_id}"' in html
        # English pages name the specification in English (catalog: "Registered names").
        assert text.startswith(f"{world.item.code} {world.spec20.english_label()} · ")

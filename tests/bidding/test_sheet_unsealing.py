"""The bid sheet decrypts the bidder's terms once per view, never per keystroke."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from bidding.models import Bid, DecryptionAudit
from tests.bidding.conftest import World
from tests.bidding.test_pages import client_for

pytestmark = pytest.mark.django_db


def _row(world: World, spec: object, product: object, price: str) -> dict[str, str]:
    key = f"{world.round_item.pk}-{spec.pk}"  # type: ignore[attr-defined]
    return {
        f"{key}-product": str(product.pk),  # type: ignore[attr-defined]
        f"{key}-unit_price": price,
        f"{key}-annual_capacity": "120000",
    }


def _hidden_inputs(page: str) -> dict[str, str]:
    return dict(
        re.findall(r'<input type="hidden" name="([^"]+-current-[^"]+)" value="([^"]*)"', page)
    )


def _sheet_audits() -> int:
    return DecryptionAudit.objects.filter(purpose=DecryptionAudit.Purpose.BID_SHEET).count()


def test_a_view_of_the_sheet_audits_each_shown_bid_once_and_typing_audits_nothing(
    world: World,
) -> None:
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    both = {
        **_row(world, world.spec20, world.bidder_20, "1.9876"),
        **_row(world, world.spec40, world.bidder_40, "3.5000"),
    }
    assert client.post(url, {**both, "step": "confirm"}).status_code == 302
    assert Bid.objects.filter(status=Bid.Status.ACTIVE).count() == 2
    before = _sheet_audits()

    page = client.get(url).content.decode()
    assert 'value="1.9876"' in page and 'value="3.5000"' in page
    assert _sheet_audits() == before + 2  # one row per bid shown
    carried = _hidden_inputs(page)
    assert len(carried) == 6  # product, price and capacity of each of the two bids

    after_view = _sheet_audits()
    for _ in range(5):
        unchanged = client.post(
            url, {**both, **carried, "step": "check"}, HTTP_HX_REQUEST="true"
        ).content.decode()
        assert "will be sealed" not in unchanged  # compared with the carried terms
    changed = client.post(
        url,
        {
            **both,
            **_row(world, world.spec40, world.bidder_40, "3.2500"),
            **carried,
            "step": "check",
        },
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "1 line will be sealed." in changed
    assert "<html" not in changed
    assert _sheet_audits() == after_view  # N refreshes while typing: no decryption

    review = client.post(url, {**both, "step": "review"})
    assert review.status_code == 422  # nothing changed: the server decrypted to know
    assert "Nothing to seal" in review.content.decode()
    assert _sheet_audits() == after_view + 2


def test_carried_terms_that_do_not_read_count_as_a_change_and_seal_nothing(
    world: World,
) -> None:
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    row = _row(world, world.spec20, world.bidder_20, "1.9876")
    client.post(url, {**row, "step": "confirm"})
    key = f"{world.round_item.pk}-{world.spec20.pk}"
    garbled = {f"{key}-current-unit_price": "abc", f"{key}-current-annual_capacity": "x"}
    feedback = client.post(
        url, {**row, **garbled, "step": "check"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "1 line will be sealed." in feedback
    assert Bid.objects.get().current_version == 1

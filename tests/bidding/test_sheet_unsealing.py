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


def test_neither_viewing_the_sheet_nor_typing_decrypts_anything(world: World) -> None:
    """The server cannot decrypt a sealed bid (issue 13): the sheet shows the bids as
    sealed, a row left blank keeps its bid, a row with new terms is a revision."""
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    both = {
        **_row(world, world.spec20, world.bidder_20, "1.9876"),
        **_row(world, world.spec40, world.bidder_40, "3.5000"),
    }
    assert client.post(url, {**both, "step": "confirm"}).status_code == 200
    assert Bid.objects.filter(status=Bid.Status.ACTIVE).count() == 2

    page = client.get(url).content.decode()
    assert "1.9876" not in page and "3.5000" not in page
    carried = _hidden_inputs(page)  # only the product is known: price and capacity sealed
    assert {k: v for k, v in carried.items() if not k.endswith("product")} == {
        k: "" for k in carried if not k.endswith("product")
    }
    for _ in range(5):
        feedback = client.post(
            url,
            {**_row(world, world.spec40, world.bidder_40, "3.2500"), "step": "check"},
            HTTP_HX_REQUEST="true",
        ).content.decode()
        assert "1 line will be sealed." in feedback
        assert "<html" not in feedback
    review = client.post(url, {"step": "review"})
    assert review.status_code == 422  # all rows left blank: nothing to seal
    assert "Nothing to seal" in review.content.decode()
    assert not DecryptionAudit.objects.exists()


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

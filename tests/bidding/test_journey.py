"""The issue's "done when", on the demo data: two manufacturers bid on the demo drug round
through the pages and one through the API, one revises, the office never sees a price,
the opening shows every valid bid with its receipt, and each manufacturer verifies its
receipt against the published record."""

from __future__ import annotations

import datetime
import html
import json
import uuid

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from accounts.models import User
from bidding import sealing
from bidding.models import Bid, BidVersion
from catalog.models import Product
from procurement.models import Round
from procurement.services import round_close_demand, round_open_bidding, round_open_demand
from tests.bidding.conftest import move_clock
from tests.factories import api_token_for

pytestmark = pytest.mark.django_db
CODE = "DEMO-2026-D1"


def _signed_in(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.get(username=username))
    return client


def _bid_on_sheet(client: Client, product: Product, price: str, capacity: str) -> dict:
    """Bid on the sheet; the full receipt as the sealed page offers it for download."""
    round_ = Round.objects.get(code=CODE)
    round_item = round_.items.get(item=product.item)
    key = f"{round_item.pk}-{product.specification_id}"
    data = {
        f"{key}-product": str(product.pk),
        f"{key}-unit_price": price,
        f"{key}-annual_capacity": capacity,
    }
    url = reverse("bidding:sheet", args=[CODE])
    review = client.post(url, {**data, "step": "review"})
    assert review.status_code == 200, review.content.decode()[:2000]
    assert price in review.content.decode()
    done = client.post(url, {**data, "step": "confirm"})
    assert done.status_code == 200
    embedded = done.content.decode().split('<pre class="receipt-json">')[1].split("</pre>")[0]
    return json.loads(html.unescape(embedded))


def test_two_manufacturers_bid_in_the_browser_one_through_the_api_and_all_verify() -> None:
    call_command("seed_demo", verbosity=0)
    round_ = Round.objects.get(code=CODE)
    office = User.objects.get(username="office")
    round_open_demand(round_=round_, by=office)
    round_close_demand(round_=round_, by=office)
    round_open_bidding(round_=round_, by=office)

    qian = _signed_in("maker01")
    lipitor = _signed_in("maker08")
    qian_product = Product.objects.get(approval_number="国药准字H20193001")  # 20 mg
    lipitor_product = Product.objects.get(approval_number="国药准字J20170001")  # 20 mg
    api_product = Product.objects.get(approval_number="国药准字H20193003")  # 40 mg, maker03

    _bid_on_sheet(qian, qian_product, "1.8800", "3000000")
    lipitor_receipt = _bid_on_sheet(lipitor, lipitor_product, "2.0500", "1500000")
    qian_receipt = _bid_on_sheet(qian, qian_product, "1.7600", "3200000")  # the revision

    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    maker03 = User.objects.get(username="maker03")
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(maker03)}")
    response = api.post(
        reverse("api-bids"),
        {
            "round": CODE,
            "item": "D-ATV-OS",
            "specification": "40MG",
            "product": api_product.pk,
            "unit_price": "2.9000",
            "annual_capacity": 800000,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert response.status_code == 201, response.content
    api_receipt = response.json()["receipt"]

    # The office sees who has bid, never a price.
    office_client = _signed_in("office")
    for url in (
        reverse("bidding:round-status", args=[CODE]),
        reverse("procurement:round", args=[CODE]),
    ):
        body = office_client.get(url).content.decode()
        for price in ("1.8800", "1.7600", "2.0500", "2.9000"):
            assert price not in body
    assert (
        escape("Qi'an Pharmaceutical")
        in office_client.get(reverse("bidding:round-status", args=[CODE])).content.decode()
    )

    # The demo data hold an awarded round with bids of its own: look in this round only.
    qian_bid = Bid.objects.get(round=round_, manufacturer__users__username="maker01")
    assert Bid.objects.filter(round=round_, manufacturer__users__username="maker08").exists()
    assert qian_bid.current_version == 2
    receipts = {
        "maker01": qian_receipt,
        "maker08": lipitor_receipt,
        "maker03": api_receipt,
    }

    # The opening ceremony: two of the three demo officials present their passphrases.
    move_clock(
        round_,
        deadline_in=-datetime.timedelta(minutes=5),
        opening_in=-datetime.timedelta(minutes=1),
    )
    ceremony = reverse("bidding:ceremony", args=[CODE])
    assert office_client.post(reverse("bidding:open", args=[CODE]))["Location"] == ceremony
    opener1, opener2 = _signed_in("opener1"), _signed_in("opener2")
    wrong = opener1.post(ceremony, {"action": "present", "passphrase": "not my passphrase"})
    assert wrong.status_code == 422
    assert "This passphrase does not open your share." in wrong.content.decode()
    first = opener1.post(ceremony, {"action": "present", "passphrase": "opener1-demo-passphrase"})
    assert first["Location"] == ceremony
    waiting = opener1.get(ceremony).content.decode()
    assert "The opening waits: 1 more official must present their share." in waiting
    assert not round_.bids.filter(opened__isnull=False).exists()
    opened = opener2.post(ceremony, {"action": "present", "passphrase": "opener2-demo-passphrase"})
    assert opened["Location"] == reverse("bidding:opening", args=[CODE])
    record = Client(HTTP_ACCEPT_LANGUAGE="en").get(opened["Location"]).content.decode()
    for price in ("1.7600", "2.0500", "2.9000"):
        assert price in record
    assert "1.8800" not in record  # the revised-away version is not opened
    assert record.count(">Valid<") == 3
    assert "1.7059" in record  # 2.9000 on 40 mg = 2.9000 / 1.7 on the 20 mg representative

    published = {
        row["manufacturer_code"]: row["receipt_hash"]
        for row in APIClient().get(reverse("api-opening", args=[CODE])).json()["bids"]
    }
    for username, document in receipts.items():
        code = User.objects.get(username=username).organization.social_credit_code
        assert document["hash"] in record
        assert sealing.receipt_verify(document, expected_hash=published[code]), username
    assert BidVersion.objects.filter(bid__round=round_).count() == 4

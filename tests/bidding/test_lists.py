"""The opening record and the bid lists are paged on the server and searched on the server."""

from __future__ import annotations

import re
from decimal import Decimal

from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from bidding.models import OpenedBid
from bidding.services import bid_submit
from tests.bidding.conftest import World, drug_product, past_opening
from tests.ceremony import open_bids as round_open_bids
from tests.factories import user_of

BIDDERS = 55


def _opened_with_many_bidders(world: World) -> list:
    makers = [world.bidder] + [user_of(Organization.Kind.MANUFACTURER) for _ in range(BIDDERS - 1)]
    for n, maker in enumerate(makers):
        product = (
            world.bidder_20
            if maker == world.bidder
            else drug_product(maker.organization, world.spec20)
        )
        bid_submit(
            round_item=world.round_item,
            specification=world.spec20,
            product=product,
            unit_price=Decimal("1.0000") + Decimal(n) / 100,
            annual_capacity=1000,
            by=maker,
        )
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    return makers


def _hashes(html: str) -> list[str]:
    section = html.split('<ul class="receipt-list">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r"<code>([0-9a-f]{64})</code>", section)


def test_the_opening_record_is_read_page_by_page_cheapest_first(world: World) -> None:
    _opened_with_many_bidders(world)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    url = reverse("bidding:opening", args=[world.round.code])
    first = client.get(url).content.decode()
    second = client.get(url + "?page=2").content.decode()
    assert "Rows 1–50 of 55" in first and "Rows 51–55 of 55" in second
    assert len(_hashes(first)) == 50 and len(_hashes(second)) == 5
    assert set(_hashes(first)).isdisjoint(_hashes(second))
    # Cheapest first across the pages: the first page starts at 1.0000, the last ends at 1.5400.
    assert first.index(">1.0000<") < first.index(">1.4900<")
    assert ">1.5400<" in second and ">1.0000<" not in second
    # The items table counts every bid, whatever the page.
    assert re.search(r'<td class="num">55</td>', second)


def test_a_manufacturer_finds_its_bid_and_receipt_by_name_or_hash(world: World) -> None:
    _opened_with_many_bidders(world)
    mine = OpenedBid.objects.get(manufacturer=world.bidder.organization)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    url = reverse("bidding:opening", args=[world.round.code])
    by_hash = client.get(url + f"?q={mine.receipt_hash[:12]}").content.decode()
    assert _hashes(by_hash) == [mine.receipt_hash]
    assert '<label for="id_q">Find bids by manufacturer' in by_hash
    by_name = client.get(url + f"?q={world.bidder.organization.name_en}").content.decode()
    assert _hashes(by_name) == [mine.receipt_hash]
    by_item = client.get(url + f"?q={world.item.code}").content.decode()
    assert "Rows 1–50 of 55" in by_item
    assert f'href="?q={world.item.code}&amp;page=2" rel="next"' in by_item
    assert "No bid matches “nobody”." in client.get(url + "?q=nobody").content.decode()


def test_my_bids_and_the_list_of_openings_are_paged(world: World) -> None:
    _opened_with_many_bidders(world)
    openings = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("bidding:openings")).content.decode()
    assert "Rows 1–1 of 1" in openings and world.round.code in openings
    maker = Client(HTTP_ACCEPT_LANGUAGE="en")
    maker.force_login(world.bidder)
    mine = maker.get(reverse("bidding:round-bids", args=[world.round.code])).content.decode()
    assert "Rows 1–1 of 1" in mine
    home = maker.get(reverse("bidding:home")).content.decode()
    assert "Rows 1–1 of 1" in home


def test_the_decryptions_of_a_bid_are_paged_and_the_title_is_plain_text(world: World) -> None:
    from bidding.models import Bid

    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=Decimal("1.9876"),
        annual_capacity=1000,
        by=world.bidder,
    )
    from bidding.models import BidVersion, DecryptionAudit

    maker = Client(HTTP_ACCEPT_LANGUAGE="en")
    maker.force_login(world.bidder)
    # Only the opening decrypts now (once per bid); a long audit trail, written directly.
    version = BidVersion.objects.get()
    DecryptionAudit.objects.bulk_create(
        [DecryptionAudit(bid_version=version, purpose="opening") for _ in range(56)]
    )
    bid = Bid.objects.get()
    html = maker.get(reverse("bidding:bid-detail", args=[bid.pk])).content.decode()
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None and "<" not in title.group(1)
    assert "Rows 1–50 of 56" in html

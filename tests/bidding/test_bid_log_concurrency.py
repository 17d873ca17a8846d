"""On PostgreSQL: bidders of one round seal and revise at the same moment, each in its own
thread and database connection. The round's bid log head row lock numbers their entries
one after the other: no position is lost or taken twice, each entry chains to the one
before it, every receipt's head is the log's prefix, and the opening finds a clean log."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Organization
from bidding import bidlog
from bidding.models import BidLogEntry, BidLogHead, BidVersion
from bidding.services import BidReceipt, bid_revise, bid_submit
from procurement.services import round_deadline_check
from tests.bidding.conftest import build_world, drug_product, past_opening
from tests.ceremony import open_bids as round_open_bids
from tests.factories import user_of

BIDDERS = 12

pytestmark = pytest.mark.postgresql  # row locks (deselected on SQLite, required in CI)


@pytest.mark.django_db(transaction=True)
def test_concurrent_bids_get_consecutive_chained_entries() -> None:
    world = build_world(code="LOG-RACE")
    makers = [user_of(Organization.Kind.MANUFACTURER) for _ in range(BIDDERS)]
    products = [drug_product(m.organization, world.spec20) for m in makers]
    barrier = threading.Barrier(BIDDERS)
    receipts: list[BidReceipt] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def bid(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            first = bid_submit(
                round_item=world.round_item,
                specification=world.spec20,
                product=products[index],
                unit_price=Decimal("1.5000") + Decimal(index) / 10000,
                annual_capacity=1000 + index,
                by=makers[index],
            )
            second = bid_revise(
                bid=first.version.bid,
                product=products[index],
                unit_price=Decimal("1.4000") + Decimal(index) / 10000,
                annual_capacity=1000 + index,
                by=makers[index],
            )
            with guard:
                receipts.extend([first, second])
        except BaseException as exc:  # reported below
            with guard:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=bid, args=(i,)) for i in range(BIDDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(receipts) == 2 * BIDDERS

    rows = list(BidLogEntry.objects.filter(round=world.round).order_by("position"))
    assert [r.position for r in rows] == list(range(2 * BIDDERS))
    assert BidVersion.objects.filter(bid__round=world.round).count() == len(rows)
    leaves = [bytes.fromhex(r.leaf_hash) for r in rows]
    compact = bidlog.CompactRange.empty()
    for row, leaf in zip(rows, leaves, strict=True):
        assert row.previous_root == compact.root().hex()
        compact = compact.append(leaf)
        assert row.root == compact.root().hex()
    # Each receipt: its own position, the head right after it, a prefix of the final log.
    assert sorted(r.document["log"]["position"] for r in receipts) == list(range(len(rows)))
    for receipt in receipts:
        log = receipt.document["log"]
        assert log["root"] == bidlog.merkle_root(leaves[: log["position"] + 1]).hex()
    # A bidder's revision always comes after its submission.
    for maker in makers:
        own = [r for r in rows if r.bid.manufacturer_id == maker.organization_id]
        assert [r.version_number for r in own] == [1, 2]

    past_opening(world.round)
    round_deadline_check(now=timezone.now())
    head = BidLogHead.objects.get(round=world.round)
    assert (head.closed_size, head.closed_root) == (len(rows), compact.root().hex())
    opening = round_open_bids(round_=world.round, by=world.office)
    assert opening.tampered_count == 0
    assert opening.log_report["findings"] == []
    assert opening.bid_count == BIDDERS

"""On PostgreSQL: 50 manufacturers race the bid deadline, each in its own thread and
database connection, while the deadline sweep runs as Celery beat would. Every bid whose
transaction committed before the deadline is stored and opened (by the scheduled check on
a real Celery worker); every one after it is refused with the deadline message; none is
lost or duplicated."""

from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import override

from accounts.models import Organization
from bidding.models import Bid, BidVersion, OpenedBid, Opening
from bidding.services import bid_submit
from procurement.models import Round
from procurement.services import round_deadline_check
from tests.bidding.conftest import build_world, drug_product, move_clock
from tests.factories import user_of

BIDDERS = 50


@dataclass
class Attempt:
    index: int
    accepted: bool = False
    message: str = ""
    code: str = ""
    finished_at: datetime.datetime | None = None
    version_id: int | None = None


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_fifty_bids_racing_the_deadline(celery_worker: object) -> None:
    world = build_world(code="RACE-1")
    makers = [user_of(Organization.Kind.MANUFACTURER) for _ in range(BIDDERS)]
    products = [drug_product(m.organization, world.spec20) for m in makers]
    # The deadline 1.5 s from now; the opening right after it.
    round_ = move_clock(
        world.round,
        deadline_in=datetime.timedelta(seconds=1.5),
        opening_in=datetime.timedelta(seconds=2.0),
    )
    deadline = round_.bid_deadline
    attempts = [Attempt(i) for i in range(BIDDERS)]
    barrier = threading.Barrier(BIDDERS + 1)
    stop_sweeper = threading.Event()

    def bid(attempt: Attempt) -> None:
        try:
            barrier.wait(timeout=30)
            # Spread the 50 submissions over ~3 s around the deadline.
            time.sleep(attempt.index * 0.06)
            with override("en"):
                receipt = bid_submit(
                    round_item=world.round_item,
                    specification=world.spec20,
                    product=products[attempt.index],
                    unit_price=Decimal("1.5000") + Decimal(attempt.index) / 10000,
                    annual_capacity=1000 + attempt.index,
                    by=makers[attempt.index],
                    idempotency_key=f"race-{attempt.index}",
                )
            attempt.accepted = True
            attempt.version_id = receipt.version.pk
        except ValidationError as exc:
            attempt.message = " ".join(exc.messages)
            attempt.code = exc.code or ""
        finally:
            attempt.finished_at = timezone.now()
            connection.close()

    def sweeper() -> None:
        """The deadline sweep, as Celery beat runs it, but every 50 ms."""
        try:
            barrier.wait(timeout=30)
            while not stop_sweeper.is_set():
                round_deadline_check(now=timezone.now())
                time.sleep(0.05)
        finally:
            connection.close()

    threads = [threading.Thread(target=bid, args=(a,)) for a in attempts]
    threads.append(threading.Thread(target=sweeper))
    for thread in threads:
        thread.start()
    for thread in threads[:-1]:
        thread.join(timeout=60)
    stop_sweeper.set()
    threads[-1].join(timeout=10)

    accepted = [a for a in attempts if a.accepted]
    refused = [a for a in attempts if not a.accepted]
    assert accepted and refused, "the submissions must straddle the deadline"
    when = timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M:%S")
    expected = (
        f"Bidding for round RACE-1 closed at {when} (server time); this bid was not accepted."
    )
    for attempt in refused:
        assert attempt.code == "deadline", attempt
        assert attempt.message == expected
        assert attempt.finished_at is not None and attempt.finished_at >= deadline
    # Stored: exactly the accepted ones, once each, all sealed before the deadline.
    versions = list(BidVersion.objects.filter(bid__round=round_))
    assert sorted(v.pk for v in versions) == sorted(a.version_id for a in accepted)
    assert all(v.server_time < deadline for v in versions)
    assert Bid.objects.filter(round=round_).count() == len(accepted)
    assert Bid.objects.filter(round=round_).values("manufacturer").distinct().count() == len(
        accepted
    )
    round_.refresh_from_db()
    assert round_.status == Round.Status.BIDDING_CLOSED

    # The scheduled check, run by the real worker, cannot open the bids (no task ever
    # holds the round key): the round waits for its ceremony, which then opens every one.
    from config.tasks import run_deadline_checks
    from tests.ceremony import open_bids

    while timezone.now() < round_.opening_at:
        time.sleep(0.1)
    run_deadline_checks.delay()
    time.sleep(3)
    assert not Opening.objects.filter(round=round_).exists()
    open_bids(round_=round_, by=None)
    run_deadline_checks.delay()  # a later beat: changes nothing
    time.sleep(2)
    assert Opening.objects.filter(round=round_).count() == 1
    opening = Opening.objects.get(round=round_)
    assert opening.bid_count == len(accepted)
    assert opening.tampered_count == 0
    opened = OpenedBid.objects.filter(opening=opening)
    assert sorted(o.version_id for o in opened) == sorted(a.version_id for a in accepted)
    assert {o.validity for o in opened} == {"valid"}
    round_.refresh_from_db()
    assert round_.status == Round.Status.BIDS_OPENED


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_to_rewrite_the_decryption_audit_log() -> None:
    from django.db import DatabaseError, transaction

    from bidding.models import DecryptionAudit

    world = build_world(code="AUDIT-1")
    receipt = bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=Decimal("1.2345"),
        annual_capacity=10,
        by=world.bidder,
    )
    DecryptionAudit.objects.create(bid_version=receipt.version, by=world.office, purpose="opening")
    for statement in (
        "UPDATE bidding_decryptionaudit SET note = 'rewritten'",
        "DELETE FROM bidding_decryptionaudit",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert DecryptionAudit.objects.filter(note="").count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_bids_and_retries_never_duplicate() -> None:
    """Ten manufacturers send their first bid of a fresh round at the same instant, each
    twice with the same Idempotency-Key (a client retrying before the first answer): the
    one round key, one bid and one version per manufacturer, and both answers carry the same
    receipt."""
    from bidding.models import RoundCustody

    world = build_world(code="SAME-1")
    makers = [user_of(Organization.Kind.MANUFACTURER) for _ in range(10)]
    products = [drug_product(m.organization, world.spec20) for m in makers]
    barrier = threading.Barrier(20)
    hashes: dict[int, list[str]] = {i: [] for i in range(10)}
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            receipt = bid_submit(
                round_item=world.round_item,
                specification=world.spec20,
                product=products[index],
                unit_price=Decimal("1.2345"),
                annual_capacity=100,
                by=makers[index],
                idempotency_key=f"first-{index}",
            )
            hashes[index].append(receipt.hash)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i % 10,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert RoundCustody.objects.filter(round=world.round).count() == 1
    assert Bid.objects.filter(round=world.round).count() == 10
    assert BidVersion.objects.filter(bid__round=world.round).count() == 10
    for index in range(10):
        assert len(hashes[index]) == 2
        assert hashes[index][0] == hashes[index][1]

    # Then everybody revises at once, twice: no deadlock, versions numbered in order.
    from bidding.services import bid_revise

    bids = {b.manufacturer_id: b for b in Bid.objects.filter(round=world.round)}
    barrier = threading.Barrier(20)

    def revise(index: int, price: str) -> None:
        try:
            barrier.wait(timeout=30)
            bid_revise(
                bid=bids[makers[index].organization_id],
                product=products[index],
                unit_price=Decimal(price),
                annual_capacity=200,
                by=makers[index],
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=revise, args=(i % 10, "1.1000" if i < 10 else "1.0000"))
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for bid in Bid.objects.filter(round=world.round):
        assert bid.current_version == 3
        assert list(bid.versions.values_list("number", flat=True)) == [1, 2, 3]

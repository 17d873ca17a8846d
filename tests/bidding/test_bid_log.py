"""The tamper-evident bid log (docs/sealed-bidding.md, "Bid log").

Every seal, revision and withdrawal is a log entry; its receipt carries the position and
the head; closing bidding publishes the head; the opening recomputes the log from the
stored rows before decrypting and names every bid whose rows were changed between the
close and the opening (each tampering below, written straight to the database as a
database writer would). Run on PostgreSQL as well as SQLite
(``DATABASE_URL=postgres://...``)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.translation import override

from bidding import bidlog, sealing
from bidding.models import Bid, BidLogEntry, BidLogHead, BidVersion, OpenedBid, Opening
from bidding.services import (
    bid_revise,
    bid_submit,
    bid_version_receipt,
    bid_withdraw,
    tampered_bid_decide,
)
from bidding.services.log import log_inclusion
from procurement.services import round_deadline_check
from tests.bidding.conftest import World, past_opening
from tests.ceremony import open_bids as round_open_bids

D = Decimal
pytestmark = pytest.mark.django_db


def _sql(statement: str, params: list[object]) -> None:
    """A database writer's change, bypassing the application (and its caches)."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


class Scenario:
    """The bidder's 20mg bid revised to version 4 (1.5000 at version 3, 1.1000 at version
    4), its 40mg bid, and the rival's 20mg bid; bidding then closed by the deadline sweep."""

    def __init__(self, world: World) -> None:
        self.world = world
        first = bid_submit(
            round_item=world.round_item,
            specification=world.spec20,
            product=world.bidder_20,
            unit_price=D("2.0000"),
            annual_capacity=100000,
            by=world.bidder,
        )
        self.bid = first.version.bid
        self.receipts = [first]
        for price in ("1.8000", "1.5000", "1.1000"):
            self.receipts.append(
                bid_revise(
                    bid=self.bid,
                    product=world.bidder_20,
                    unit_price=D(price),
                    annual_capacity=100000,
                    by=world.bidder,
                )
            )
        self.bid40 = bid_submit(
            round_item=world.round_item,
            specification=world.spec40,
            product=world.bidder_40,
            unit_price=D("3.0000"),
            annual_capacity=50000,
            by=world.bidder,
        ).version.bid
        self.rival = bid_submit(
            round_item=world.round_item,
            specification=world.spec20,
            product=world.rival_20,
            unit_price=D("1.9000"),
            annual_capacity=80000,
            by=world.rival,
        ).version.bid
        past_opening(world.round)
        assert round_deadline_check(now=timezone.now()) == 1  # closes, publishes the head

    def version(self, number: int) -> BidVersion:
        return BidVersion.objects.get(bid=self.bid, number=number)

    def open(self) -> Opening:
        return round_open_bids(round_=self.world.round, by=self.world.office)


def opened(bid: Bid) -> OpenedBid:
    return OpenedBid.objects.get(bid=bid)


def assert_only(bid: Bid, *others_valid: Bid) -> None:
    for other in others_valid:
        assert opened(other).validity == OpenedBid.Validity.VALID, other


# --- appending, receipts, the published head ----------------------------------------------


def test_every_event_is_an_entry_and_the_head_is_published_at_close(world: World) -> None:
    s = Scenario(world)
    rows = list(BidLogEntry.objects.filter(round=world.round))
    assert [(r.position, r.bid_id, r.version_number, r.action) for r in rows] == [
        (0, s.bid.pk, 1, "submit"),
        (1, s.bid.pk, 2, "revise"),
        (2, s.bid.pk, 3, "revise"),
        (3, s.bid.pk, 4, "revise"),
        (4, s.bid40.pk, 1, "submit"),
        (5, s.rival.pk, 1, "submit"),
    ]
    leaves = [bytes.fromhex(r.leaf_hash) for r in rows]
    head = BidLogHead.objects.get(round=world.round)
    assert head.closed_at is not None
    assert (head.closed_size, head.closed_root) == (6, bidlog.merkle_root(leaves).hex())
    # Each receipt carries its position and the head right after it, outside the hash.
    for position, receipt in enumerate(s.receipts):
        log = receipt.document["log"]
        assert log["position"] == position
        assert (log["tree_size"], log["root"]) == (
            position + 1,
            bidlog.merkle_root(leaves[: position + 1]).hex(),
        )
        assert sealing.receipt_verify(receipt.document)
        assert bidlog.receipt_entry(receipt.document).leaf_hash() == leaves[position]
    # A receipt downloaded later carries the same section.
    again = bid_version_receipt(version=s.version(2), by=world.bidder, purpose="receipt")
    assert again["log"] == s.receipts[1].document["log"]
    # The public page shows the head and the count before the opening.
    page = Client().get(f"/bidding/rounds/{world.round.code}/opening/", HTTP_ACCEPT_LANGUAGE="en")
    assert head.closed_root in page.content.decode()


def test_the_receipt_hash_format_is_unchanged() -> None:
    """The ``log`` section is outside the receipt hash: a fixed receipt keeps its hash
    (the vector is ``sha256sum`` of the canonical JSON, computed apart from this code)."""
    document = {
        "format": "jicai-bid-receipt/1",
        "content": {"round": "R", "bid": 1, "version": 1, "action": "submit"},
        "server_time": "2026-11-22T12:00:00.000000+00:00",
        "salt": "ab" * 16,
    }
    fixed = "83756c216a09668192d39b701fe50b462492a62f17a9b7659c60a9253964c933"
    assert sealing.receipt_hash(document) == fixed
    assert sealing.receipt_hash({**document, "hash": fixed, "log": {"position": 1}}) == fixed


def test_an_honest_round_opens_with_a_clean_log(world: World) -> None:
    s = Scenario(world)
    opening = s.open()
    assert opening.tampered_count == 0
    assert opening.log_report["findings"] == []
    assert opening.log_report["recomputed_root"] == opening.log_report["closed_root"]
    assert opened(s.bid).unit_price == D("1.1000")
    assert opened(s.bid).version.number == 4


# --- each tampering between the close and the opening, named at the opening ---------------


def test_a_flipped_ciphertext_byte_is_named(world: World) -> None:
    s = Scenario(world)
    v4 = s.version(4)
    altered = bytearray(bytes(v4.ciphertext))
    altered[5] ^= 0x01
    _sql("UPDATE bidding_bidversion SET ciphertext = %s WHERE id = %s", [bytes(altered), v4.pk])
    s.open()
    bad = opened(s.bid)
    assert bad.validity == OpenedBid.Validity.TAMPERED
    assert bad.reasons == ["version_altered", "ciphertext_failed"]
    assert_only(s.bid, s.rival, s.bid40)


def test_an_altered_receipt_is_named(world: World) -> None:
    s = Scenario(world)
    _sql(
        "UPDATE bidding_bidversion SET receipt_hash = %s WHERE id = %s", ["0" * 64, s.version(4).pk]
    )
    s.open()
    assert opened(s.bid).reasons == ["version_altered", "receipt_mismatch"]
    assert_only(s.bid, s.rival, s.bid40)


def test_current_version_rolled_back_does_not_publish_the_older_price_as_valid(
    world: World,
) -> None:
    s = Scenario(world)
    _sql("UPDATE bidding_bid SET current_version = 3 WHERE id = %s", [s.bid.pk])
    opening = s.open()
    bad = opened(s.bid)
    assert bad.validity == OpenedBid.Validity.TAMPERED
    assert bad.reasons == ["log_state_mismatch"]
    # The log's latest version is what was opened: 1.1000, never version 3's 1.5000.
    assert (bad.version.number, bad.unit_price) == (4, D("1.1000"))
    assert not OpenedBid.objects.filter(unit_price=D("1.5000")).exists()
    assert opening.tampered_count == 1
    assert_only(s.bid, s.rival, s.bid40)


def test_a_deleted_version_is_named(world: World) -> None:
    s = Scenario(world)
    _sql("DELETE FROM bidding_bidversion WHERE id = %s", [s.version(4).pk])
    s.open()
    bad = opened(s.bid)  # still listed, never silently dropped
    assert bad.validity == OpenedBid.Validity.TAMPERED
    assert "log_version_missing" in bad.reasons
    assert_only(s.bid, s.rival, s.bid40)


def test_a_forged_inserted_version_is_named(world: World) -> None:
    s = Scenario(world)
    v3 = s.version(3)
    _sql(
        "INSERT INTO bidding_bidversion (bid_id, number, action, product_id, nonce, ciphertext,"
        " receipt_hash, server_time, submitted_by_id, idempotency_key, manufacturer_id)"
        " VALUES (%s, 5, 'revise', %s, %s, %s, %s, %s, %s, '', %s)",
        [
            s.bid.pk,
            v3.product_id,
            bytes(v3.nonce),
            bytes(v3.ciphertext),
            "f" * 64,
            v3.server_time,
            v3.submitted_by_id,
            v3.manufacturer_id,
        ],
    )
    _sql("UPDATE bidding_bid SET current_version = 5 WHERE id = %s", [s.bid.pk])
    s.open()
    bad = opened(s.bid)
    assert bad.validity == OpenedBid.Validity.TAMPERED
    assert bad.reasons[:2] == ["log_state_mismatch", "version_not_in_log"]
    assert bad.version.number == 4 and bad.unit_price == D("1.1000")
    assert_only(s.bid, s.rival, s.bid40)


def test_status_flipped_to_withdrawn_is_named_not_dropped(world: World) -> None:
    s = Scenario(world)
    _sql("UPDATE bidding_bid SET status = 'withdrawn' WHERE id = %s", [s.rival.pk])
    opening = s.open()
    bad = opened(s.rival)
    assert (bad.validity, bad.reasons) == (OpenedBid.Validity.TAMPERED, ["log_state_mismatch"])
    assert bad.unit_price == D("1.9000")
    assert opening.bid_count == 3
    assert_only(s.rival, s.bid, s.bid40)


def test_current_version_99_is_named_not_dropped(world: World) -> None:
    s = Scenario(world)
    _sql("UPDATE bidding_bid SET current_version = 99 WHERE id = %s", [s.bid40.pk])
    s.open()
    bad = opened(s.bid40)
    assert (bad.validity, bad.reasons) == (OpenedBid.Validity.TAMPERED, ["log_state_mismatch"])
    assert_only(s.bid40, s.bid, s.rival)


def test_two_reordered_log_entries_name_both_bids(world: World) -> None:
    s = Scenario(world)
    # Swap the rival's entry (5) with the 40mg bid's entry (4).
    _sql(
        "UPDATE bidding_bidlogentry SET position = 100 WHERE round_id = %s AND position = 4",
        [world.round.pk],
    )
    _sql(
        "UPDATE bidding_bidlogentry SET position = 4 WHERE round_id = %s AND position = 5",
        [world.round.pk],
    )
    _sql(
        "UPDATE bidding_bidlogentry SET position = 5 WHERE round_id = %s AND position = 100",
        [world.round.pk],
    )
    opening = s.open()
    assert opened(s.rival).reasons == ["log_entry_altered"]
    assert opened(s.bid40).reasons == ["log_entry_altered"]
    assert opened(s.bid).validity == OpenedBid.Validity.VALID
    assert {"code": "head_mismatch"} in opening.log_report["findings"]


def test_a_consistently_rewritten_log_taints_every_bid(world: World) -> None:
    """A writer who recomputes every stored hash after reordering leaves no single entry
    showing it; the head published at close does, and then no bid is trusted as valid."""
    s = Scenario(world)
    rows = list(BidLogEntry.objects.filter(round=world.round).order_by("position"))
    rows[4], rows[5] = rows[5], rows[4]
    compact = bidlog.CompactRange.empty()
    _sql(
        "UPDATE bidding_bidlogentry SET position = position + 100 WHERE round_id = %s",
        [world.round.pk],
    )
    for position, row in enumerate(rows):
        entry = bidlog.Entry(
            round=world.round.code,
            position=position,
            bid=row.bid_id,
            version=row.version_number,
            action=row.action,
            ciphertext_sha256=row.ciphertext_sha256,
            receipt_hash=row.receipt_hash,
            server_time=row.server_time,
            previous_root=compact.root().hex(),
        )
        compact = compact.append(entry.leaf_hash())
        _sql(
            "UPDATE bidding_bidlogentry SET position = %s, previous_root = %s, leaf_hash = %s,"
            " root = %s WHERE id = %s",
            [position, entry.previous_root, entry.leaf_hash().hex(), compact.root().hex(), row.pk],
        )
    opening = s.open()
    assert opening.valid_count == 0
    assert {o.reasons[0] for o in OpenedBid.objects.all()} == {"log_head_mismatch"}
    assert opening.bid_count == 3


def test_an_entry_added_after_the_close_is_named(world: World) -> None:
    s = Scenario(world)
    v1 = BidVersion.objects.get(bid=s.rival, number=1)
    _sql("DELETE FROM bidding_bidlogentry WHERE round_id = %s AND position = 5", [world.round.pk])
    head = BidLogHead.objects.get(round=world.round)
    # The rival's entry re-appended later than the close (positions 5 -> 6, a gap).
    row = BidLogEntry(
        round=world.round,
        position=6,
        bid=s.rival,
        version_number=1,
        action="submit",
        ciphertext_sha256=bidlog.ciphertext_digest(bytes(v1.ciphertext)),
        receipt_hash=v1.receipt_hash,
        server_time=v1.server_time.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        previous_root=head.root,
        leaf_hash="0" * 64,
        root="0" * 64,
    )
    row.save()
    opening = s.open()
    assert "log_after_close" in opened(s.rival).reasons
    assert {"code": "missing_positions", "from": 5, "to": 6} in opening.log_report["findings"]


# --- the opening page's tamper report -----------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_opening_page_lists_every_tampered_bid_with_its_reason(
    world: World, language: str
) -> None:
    s = Scenario(world)
    _sql("UPDATE bidding_bid SET status = 'withdrawn' WHERE id = %s", [s.rival.pk])
    s.open()
    html = (
        Client()
        .get(f"/bidding/rounds/{world.round.code}/opening/", HTTP_ACCEPT_LANGUAGE=language)
        .content.decode()
    )
    assert 'id="tamper-report"' in html
    with override(language):
        assert world.rival.organization.display_name in html
    label = {
        "en": "Its current version or withdrawn state disagrees with the bid log",
        "zh-hans": "当前版本或撤回状态与投标日志不一致",
    }[language]
    assert label in html


# --- inclusion proofs ---------------------------------------------------------------------


def test_a_genuine_receipt_is_included_and_a_forged_one_is_not(
    world: World, tmp_path: Path
) -> None:
    s = Scenario(world)
    document = json.loads(json.dumps(s.receipts[2].document))
    check = log_inclusion(round_=world.round, receipt=document)
    assert check.ok, check.problem
    assert check.consistent_with_receipt is True
    assert check.computed_root == BidLogHead.objects.get(round=world.round).closed_root
    assert len(check.steps) == len(check.proof) > 0

    forged = json.loads(json.dumps(document))
    forged["content"]["version"] = 5
    assert log_inclusion(round_=world.round, receipt=forged).problem == "not_included"
    moved = json.loads(json.dumps(document))
    moved["log"]["position"] = 1
    assert not log_inclusion(round_=world.round, receipt=moved).ok
    bad_head = json.loads(json.dumps(document))
    bad_head["log"]["root"] = "ab" * 32
    assert log_inclusion(round_=world.round, receipt=bad_head).problem == (
        "receipt_head_inconsistent"
    )

    genuine, fake = tmp_path / "genuine.json", tmp_path / "forged.json"
    genuine.write_text(json.dumps(document), encoding="utf-8")
    fake.write_text(json.dumps(forged), encoding="utf-8")
    with override("en"):
        call_command("bidding_verify_inclusion", str(genuine))
        with pytest.raises(CommandError):
            call_command("bidding_verify_inclusion", str(fake))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_public_inclusion_page_shows_the_proof(world: World, language: str) -> None:
    s = Scenario(world)
    receipt_hash = s.receipts[1].hash
    client = Client()
    page = client.get(
        f"/bidding/rounds/{world.round.code}/log/",
        {"q": receipt_hash},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    html = page.content.decode()
    assert page.status_code == 200
    head = BidLogHead.objects.get(round=world.round)
    assert head.closed_root in html
    assert 'id="inclusion-ok"' in html
    by_position = client.get(
        f"/bidding/rounds/{world.round.code}/log/", {"q": "3"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert 'id="inclusion-ok"' in by_position.content.decode()
    unknown = client.get(
        f"/bidding/rounds/{world.round.code}/log/", {"q": "f" * 64}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert unknown.status_code == 200
    assert 'id="inclusion-failed"' in unknown.content.decode()


# --- the office's decision on a tampered bid ----------------------------------------------


def test_the_office_admits_a_tampered_bid_its_receipts_prove(world: World) -> None:
    s = Scenario(world)
    _sql("UPDATE bidding_bid SET current_version = 3 WHERE id = %s", [s.bid.pk])
    opening = s.open()
    bad = opened(s.bid)
    with override("en"):
        with pytest.raises(ValidationError) as exc:
            tampered_bid_decide(opened=bad, decision="admit", evidence=" ", by=world.office)
        assert exc.value.code == "evidence"
        with pytest.raises(ValidationError) as exc:
            tampered_bid_decide(opened=bad, decision="admit", evidence="x", by=world.bidder)
        assert exc.value.messages == [
            "Only the round's procurement office decides on tampered bids."
        ]
    decision = tampered_bid_decide(
        opened=bad,
        decision="admit",
        evidence="Receipt v4 (position 3) verified under the published head.",
        by=world.office,
    )
    bad.refresh_from_db()
    opening.refresh_from_db()
    assert (bad.validity, bad.unit_price) == (OpenedBid.Validity.VALID, D("1.1000"))
    assert bad.reasons == ["log_state_mismatch"]  # the record keeps what was found
    assert decision.previous_validity == OpenedBid.Validity.TAMPERED
    assert (opening.tampered_count, opening.valid_count) == (0, 3)
    with override("en"), pytest.raises(ValidationError) as exc:
        tampered_bid_decide(opened=bad, decision="exclude", evidence="again", by=world.office)
    assert exc.value.code == "already_decided"
    html = (
        Client()
        .get(f"/bidding/rounds/{world.round.code}/opening/", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert "Admitted: the bidder&#x27;s receipts prove the opened version" in html
    assert "Receipt v4 (position 3) verified under the published head." in html


def test_an_unreadable_tampered_bid_can_only_be_excluded(world: World) -> None:
    s = Scenario(world)
    _sql(
        "UPDATE bidding_bidversion SET receipt_hash = %s WHERE id = %s", ["0" * 64, s.version(4).pk]
    )
    s.open()
    bad = opened(s.bid)
    with override("en"), pytest.raises(ValidationError) as exc:
        tampered_bid_decide(opened=bad, decision="admit", evidence="none", by=world.office)
    assert exc.value.code == "unreadable"
    tampered_bid_decide(opened=bad, decision="exclude", evidence="No receipt.", by=world.office)
    bad.refresh_from_db()
    assert bad.validity == OpenedBid.Validity.TAMPERED
    assert bad.tamper_decision.decision == "exclude"


def test_the_office_records_a_decision_from_the_opening_page(world: World) -> None:
    s = Scenario(world)
    _sql("UPDATE bidding_bid SET status = 'withdrawn' WHERE id = %s", [s.rival.pk])
    s.open()
    client = Client()
    client.force_login(world.office)
    page = client.get(f"/bidding/rounds/{world.round.code}/opening/", HTTP_ACCEPT_LANGUAGE="en")
    decide = f"/bidding/rounds/{world.round.code}/opening/decide/{opened(s.rival).pk}/"
    assert decide in page.content.decode()
    answer = client.post(decide, {"decision": "admit", "evidence": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 302
    assert not hasattr(opened(s.rival), "tamper_decision")
    client.post(decide, {"decision": "admit", "evidence": "Receipt checked."})
    assert opened(s.rival).validity == OpenedBid.Validity.VALID
    rival_client = Client()
    rival_client.force_login(world.rival)
    assert rival_client.post(decide, {"decision": "exclude", "evidence": "x"}).status_code in (
        302,
        403,
        404,
    )
    assert opened(s.rival).tamper_decision.decision == "admit"


def test_the_inclusion_page_refuses_odd_queries_clearly(world: World) -> None:
    Scenario(world)
    client = Client()
    for query in ["²", "-1", "99999999999", "zz", "0" * 200]:
        page = client.get(
            f"/bidding/rounds/{world.round.code}/log/", {"q": query}, HTTP_ACCEPT_LANGUAGE="en"
        )
        assert page.status_code == 200, query
        assert 'id="inclusion-failed"' in page.content.decode(), query
    # Before the opening a position shows the proof, not which bid it is.
    html = client.get(f"/bidding/rounds/{world.round.code}/log/", {"q": "1"}).content.decode()
    assert 'id="inclusion-ok"' in html
    assert BidLogEntry.objects.get(round=world.round, position=1).receipt_hash not in html


def test_a_withdrawal_is_logged_and_a_revived_status_is_named(world: World) -> None:
    s = Scenario.__new__(Scenario)  # bids only; the close comes after the withdrawal
    s.world = world
    mine = bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=D("1.2000"),
        annual_capacity=1000,
        by=world.bidder,
    )
    rival = bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.rival_20,
        unit_price=D("1.3000"),
        annual_capacity=1000,
        by=world.rival,
    )
    withdrawal = bid_withdraw(bid=rival.version.bid, by=world.rival)
    assert withdrawal.document["log"]["position"] == 2
    assert BidLogEntry.objects.get(position=2).action == "withdraw"
    past_opening(world.round)
    # The opening closes bidding itself: the head is stored before anything is decrypted.
    _sql("UPDATE bidding_bid SET status = 'active' WHERE id = %s", [rival.version.bid_id])
    opening = round_open_bids(round_=world.round, by=world.office)
    assert (opening.log_report["closed_size"], opening.log_report["findings"]) == (3, [])
    revived = opened(rival.version.bid)
    assert (revived.validity, revived.reasons) == (
        OpenedBid.Validity.TAMPERED,
        ["log_state_mismatch"],
    )
    assert revived.version.action == "withdraw" and revived.unit_price is None
    assert opened(mine.version.bid).validity == OpenedBid.Validity.VALID


def test_an_honestly_withdrawn_bid_is_not_opened(world: World) -> None:
    rival = bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.rival_20,
        unit_price=D("1.3000"),
        annual_capacity=1000,
        by=world.rival,
    )
    bid_withdraw(bid=rival.version.bid, by=world.rival)
    past_opening(world.round)
    opening = round_open_bids(round_=world.round, by=world.office)
    assert (opening.bid_count, opening.tampered_count) == (0, 0)


def test_an_altered_entry_names_its_bid_only(world: World) -> None:
    s = Scenario(world)
    # The entry of version 2 (position 1) now claims another ciphertext digest.
    _sql(
        "UPDATE bidding_bidlogentry SET ciphertext_sha256 = %s"
        " WHERE round_id = %s AND position = 1",
        ["ab" * 32, world.round.pk],
    )
    s.open()
    assert opened(s.bid).reasons == ["version_altered", "log_entry_altered"]
    assert_only(s.bid, s.rival, s.bid40)


def test_a_forged_revision_appended_after_the_close_is_not_what_opens(world: World) -> None:
    s = Scenario(world)
    v3 = s.version(3)
    _sql(
        "INSERT INTO bidding_bidversion (bid_id, number, action, product_id, nonce, ciphertext,"
        " receipt_hash, server_time, submitted_by_id, idempotency_key, manufacturer_id)"
        " VALUES (%s, 5, 'revise', %s, %s, %s, %s, %s, %s, '', %s)",
        [
            s.bid.pk,
            v3.product_id,
            bytes(v3.nonce),
            bytes(v3.ciphertext),
            "e" * 64,
            v3.server_time,
            v3.submitted_by_id,
            v3.manufacturer_id,
        ],
    )
    forged = BidVersion.objects.get(bid=s.bid, number=5)
    from bidding.services.log import log_append  # as the application itself would append

    log_append(round_=world.round, version=forged)
    _sql("UPDATE bidding_bid SET current_version = 5 WHERE id = %s", [s.bid.pk])
    s.open()
    bad = opened(s.bid)
    assert "log_after_close" in bad.reasons and "log_state_mismatch" in bad.reasons
    assert (bad.version.number, bad.unit_price) == (4, D("1.1000"))

"""Bid services: sealing on submit, revisions, withdrawal, the deadline, idempotency,
the opening (receipts, tampering, validity, unit comparable price) and the audit log."""

from __future__ import annotations

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import override

from bidding import custody, sealing
from bidding.keys import round_keys_rewrap
from bidding.models import Bid, BidVersion, DecryptionAudit, OpenedBid, Opening
from bidding.services import (
    bid_revise,
    bid_submit,
    bid_version_receipt,
    bid_withdraw,
    opening_due_check,
)
from catalog.models import Product
from procurement.models import Round
from tests.bidding.conftest import World, move_clock, past_opening
from tests.ceremony import open_bids as round_open_bids

D = Decimal
pytestmark = pytest.mark.django_db


def submit(
    world: World,
    *,
    price: str = "1.9876",
    capacity: int = 7654321,
    spec=None,
    product=None,
    user=None,
    key: str = "",
):
    return bid_submit(
        round_item=world.round_item,
        specification=spec or world.spec20,
        product=product or world.bidder_20,
        unit_price=D(price),
        annual_capacity=capacity,
        by=user or world.bidder,
        idempotency_key=key,
    )


def test_submit_seals_and_returns_a_verifiable_receipt(world: World) -> None:
    receipt = submit(world)
    assert receipt.document["content"]["unit_price"] == "1.9876"
    assert receipt.document["content"]["annual_capacity"] == "7654321"
    assert sealing.receipt_verify(receipt.document)
    assert receipt.warnings == []
    version = BidVersion.objects.get()
    assert version.receipt_hash == receipt.document["hash"]
    assert b"1.9876" not in bytes(version.ciphertext)
    assert len(bytes(version.ciphertext)) == sealing.SEALED_BID_BYTES
    # The server cannot read it back before the opening: the bidder's view says "sealed".
    sealed = bid_version_receipt(version=version, by=world.bidder, purpose="receipt")
    assert sealed["content"]["unit_price"] == "sealed"
    assert sealed["hash"] == receipt.document["hash"]


def test_same_terms_submitted_twice_get_different_receipts(world: World) -> None:
    first = submit(world)
    second = bid_revise(
        bid=first.version.bid,
        product=world.bidder_20,
        unit_price=D("1.9876"),
        annual_capacity=7654321,
        by=world.bidder,
    )
    assert first.hash != second.hash  # the random salt and the version differ


def test_price_above_the_ceiling_is_accepted_with_a_warning(world: World) -> None:
    with override("en"):
        receipt = submit(world, price="2.5000")
    assert receipt.warnings == [
        "The unit price is above the maximum valid bid price of specification 20mg: the bid "
        "will be accepted but judged invalid at the opening."
    ]
    assert Bid.objects.count() == 1


def test_ineligible_product_is_refused(world: World) -> None:
    with override("en"), pytest.raises(ValidationError) as exc:
        submit(world, product=world.bidder_ineligible_20)
    assert exc.value.messages == [
        f"Product {world.bidder_ineligible_20.name_en} is not eligible: a drug must be the "
        "originator or have passed the consistency evaluation."
    ]
    assert not Bid.objects.exists()


def test_rivals_product_is_refused(world: World) -> None:
    with override("en"), pytest.raises(ValidationError) as exc:
        submit(world, product=world.rival_20)
    assert exc.value.messages == ["You can only bid with your own organization's products."]


def test_product_of_another_specification_is_refused(world: World) -> None:
    with override("en"), pytest.raises(ValidationError) as exc:
        submit(world, spec=world.spec40, product=world.bidder_20)
    assert exc.value.messages == [
        f"Product {world.bidder_20.name_en} is not registered under item {world.item.code}, "
        "specification 40MG."
    ]


def test_price_with_five_decimals_is_refused_without_repeating_it(world: World) -> None:
    with override("en"), pytest.raises(ValidationError) as exc:
        submit(world, price="1.98765")
    assert exc.value.message_dict == {
        "unit_price": ["The unit price can have at most 4 decimal places."]
    }
    assert "1.98765" not in str(exc.value)


def test_hospital_and_office_cannot_bid(world: World) -> None:
    for user in (world.hospital, world.office):
        with override("en"), pytest.raises(ValidationError) as exc:
            submit(world, user=user)
        assert exc.value.messages == ["Only a manufacturer can bid."]


def test_bid_after_the_deadline_is_refused_with_a_clear_message(world: World) -> None:
    move_clock(
        world.round,
        deadline_in=-datetime.timedelta(seconds=1),
        opening_in=datetime.timedelta(hours=1),
    )
    with override("en"), pytest.raises(ValidationError) as exc:
        submit(world)
    when = timezone.localtime(world.round.bid_deadline).strftime("%Y-%m-%d %H:%M:%S")
    assert exc.value.messages == [
        f"Bidding for round {world.round.code} closed at {when} (server time); this bid was "
        "not accepted."
    ]
    assert not Bid.objects.exists()


def test_a_transaction_reaching_commit_after_the_deadline_is_rolled_back(world: World) -> None:
    """The form was opened, and the request started, before the deadline: the clock is
    read again as the last step, and a late commit is refused and leaves nothing behind."""
    deadline = world.round.bid_deadline
    before = deadline - datetime.timedelta(milliseconds=5)
    after = deadline + datetime.timedelta(milliseconds=1)
    with (
        mock.patch("bidding.services.deadline._now", side_effect=[before, after]),
        override("en"),
        pytest.raises(ValidationError) as exc,
    ):
        submit(world)
    assert exc.value.code == "deadline"
    assert not Bid.objects.exists()
    assert not BidVersion.objects.exists()


def test_revisions_keep_every_version_and_only_the_latest_is_opened(world: World) -> None:
    first = submit(world, price="2.0000")
    bid = first.version.bid
    bid_revise(
        bid=bid,
        product=world.bidder_20,
        unit_price=D("1.8000"),
        annual_capacity=500,
        by=world.bidder,
    )
    last = bid_revise(
        bid=bid,
        product=world.bidder_20,
        unit_price=D("1.7000"),
        annual_capacity=600,
        by=world.bidder,
    )
    bid.refresh_from_db()
    assert bid.current_version == 3
    assert list(bid.versions.values_list("action", flat=True)) == ["submit", "revise", "revise"]
    past_opening(world.round)
    opening = round_open_bids(round_=world.round, by=world.office)
    opened = OpenedBid.objects.get(opening=opening)
    assert (opened.unit_price, opened.annual_capacity) == (D("1.7000"), 600)
    assert opened.version_id == last.version.pk
    assert opened.receipt_hash == last.hash


def test_withdrawn_bid_is_not_opened_and_can_be_resubmitted(world: World) -> None:
    mine = submit(world)
    rival = submit(world, user=world.rival, product=world.rival_20, price="1.5000")
    withdrawal = bid_withdraw(bid=rival.version.bid, by=world.rival)
    assert withdrawal.document["content"]["action"] == "withdraw"
    assert withdrawal.document["content"]["unit_price"] is None
    assert sealing.receipt_verify(withdrawal.document)
    with override("en"), pytest.raises(ValidationError) as exc:
        bid_withdraw(bid=rival.version.bid, by=world.rival)
    assert exc.value.messages == ["This bid is already withdrawn."]
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    assert list(OpenedBid.objects.values_list("bid_id", flat=True)) == [mine.version.bid_id]


def test_withdrawn_bid_can_be_bid_again(world: World) -> None:
    first = submit(world)
    bid_withdraw(bid=first.version.bid, by=world.bidder)
    again = submit(world, price="1.1111")
    assert again.version.bid_id == first.version.bid_id
    assert again.version.number == 3
    assert again.version.action == "submit"


def test_rival_cannot_revise_or_withdraw_my_bid(world: World) -> None:
    bid = submit(world).version.bid
    with override("en"), pytest.raises(ValidationError) as exc:
        bid_withdraw(bid=bid, by=world.rival)
    assert exc.value.messages == ["This bid belongs to another organization."]
    with pytest.raises(ValidationError):
        bid_revise(
            bid=bid, product=world.rival_20, unit_price=D("1"), annual_capacity=1, by=world.rival
        )
    assert BidVersion.objects.count() == 1


def test_idempotency_key_returns_the_first_receipt_and_never_a_second_bid(world: World) -> None:
    first = submit(world, key="k-1")
    again = submit(world, key="k-1")
    assert again.replayed
    assert again.hash == first.hash
    # The terms are sealed: the replay carries the hash, not a rebuilt receipt.
    assert again.document["hash"] == first.document["hash"]
    assert again.document["content"]["unit_price"] == "sealed"
    assert BidVersion.objects.count() == 1
    assert not DecryptionAudit.objects.exists()


def test_idempotency_key_reused_for_a_different_request_is_refused(world: World) -> None:
    submit(world, key="k-1")
    with override("en"), pytest.raises(ValidationError) as exc:
        submit(world, key="k-1", spec=world.spec40, product=world.bidder_40)
    assert exc.value.messages == [
        "This Idempotency-Key was already used for a different request; use a new key for a "
        "new submission."
    ]
    assert BidVersion.objects.count() == 1


def test_opening_judges_validity_and_computes_unit_comparable_prices(world: World) -> None:
    valid = submit(world, price="1.9876")
    above = submit(world, user=world.rival, product=world.rival_20, price="2.5000")
    forty = submit(world, spec=world.spec40, product=world.bidder_40, price="3.4000", capacity=0)
    # Eligibility is judged again at the opening: this one lost its status meanwhile.
    other = drug_rival_40(world)
    late_ineligible = submit(
        world, user=world.rival, spec=world.spec40, product=other, price="3.0000"
    )
    Product.objects.filter(pk=other.pk).update(is_consistency_evaluated=False)
    past_opening(world.round)
    opening = round_open_bids(round_=world.round, by=world.office)
    world.refresh()
    assert world.round.status == Round.Status.BIDS_OPENED
    assert (opening.bid_count, opening.valid_count, opening.tampered_count) == (4, 1, 0)
    by_bid = {o.bid_id: o for o in OpenedBid.objects.all()}
    assert by_bid[valid.version.bid_id].validity == "valid"
    assert by_bid[valid.version.bid_id].unit_comparable_price == D("1.9876")
    assert by_bid[above.version.bid_id].reasons == ["above_ceiling"]
    assert by_bid[forty.version.bid_id].reasons == ["no_capacity"]
    # 40 mg -> 20 mg representative: one halving of strength, price / 1.7 (batch-4 rule).
    assert by_bid[forty.version.bid_id].unit_comparable_price == (D("3.4000") / D("1.7")).quantize(
        D("0.0001")
    )
    assert by_bid[late_ineligible.version.bid_id].reasons == ["ineligible_product"]
    assert Bid.objects.filter(locked_at__isnull=True).count() == 0
    assert DecryptionAudit.objects.filter(purpose="opening").count() == 4


def drug_rival_40(world: World) -> Product:
    from tests.bidding.conftest import drug_product

    return drug_product(world.rival.organization, world.spec40)


def test_bids_are_locked_after_the_opening(world: World) -> None:
    bid = submit(world).version.bid
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    with override("en"), pytest.raises(ValidationError) as exc:
        bid_revise(
            bid=bid, product=world.bidder_20, unit_price=D("1"), annual_capacity=1, by=world.bidder
        )
    assert exc.value.code == "deadline"
    with pytest.raises(ValidationError):
        bid_withdraw(bid=bid, by=world.bidder)


def test_receipts_verify_after_the_opening(world: World) -> None:
    receipt = submit(world)
    downloaded = receipt.document  # handed over at submission, the only time it can be
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    published = OpenedBid.objects.get().receipt_hash
    assert sealing.receipt_verify(downloaded, expected_hash=published)
    tampered = {**downloaded, "content": {**downloaded["content"], "unit_price": "1.0000"}}
    assert not sealing.receipt_verify(tampered, expected_hash=published)


def test_one_altered_ciphertext_byte_makes_the_opening_report_tampering(world: World) -> None:
    honest = submit(world)
    victim = submit(world, user=world.rival, product=world.rival_20)
    version = BidVersion.objects.get(pk=victim.version.pk)
    altered = bytearray(bytes(version.ciphertext))
    altered[3] ^= 0x01
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bidding_bidversion SET ciphertext = %s WHERE id = %s",
            [bytes(altered), version.pk],
        )
    past_opening(world.round)
    opening = round_open_bids(round_=world.round, by=world.office)
    assert opening.tampered_count == 1
    bad = OpenedBid.objects.get(bid_id=victim.version.bid_id)
    assert bad.validity == "tampered"
    # The bid log names the altered version too (docs/sealed-bidding.md, "Bid log").
    assert bad.reasons == ["version_altered", "ciphertext_failed"]
    assert bad.unit_price is None
    assert OpenedBid.objects.get(bid_id=honest.version.bid_id).validity == "valid"
    # The failed decryption attempt is on record too.
    assert DecryptionAudit.objects.filter(bid_version_id=version.pk, purpose="opening").exists()


def test_an_altered_receipt_hash_is_reported_as_tampered(world: World) -> None:
    receipt = submit(world)
    BidVersion.objects.filter(pk=receipt.version.pk).update(receipt_hash="0" * 64)
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    opened = OpenedBid.objects.get()
    assert (opened.validity, opened.reasons) == (
        "tampered",
        ["version_altered", "receipt_mismatch"],
    )


def test_a_ciphertext_moved_to_another_bid_fails_authentication(world: World) -> None:
    mine = submit(world, price="1.0000")
    rival = submit(world, user=world.rival, product=world.rival_20, price="2.0000")
    source = BidVersion.objects.get(pk=mine.version.pk)
    BidVersion.objects.filter(pk=rival.version.pk).update(
        ciphertext=bytes(source.ciphertext), nonce=bytes(source.nonce)
    )
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    assert OpenedBid.objects.get(bid_id=rival.version.bid_id).validity == "tampered"


def test_opening_before_the_opening_time_is_refused(world: World) -> None:
    submit(world)
    move_clock(
        world.round,
        deadline_in=-datetime.timedelta(minutes=1),
        opening_in=datetime.timedelta(minutes=30),
    )
    with override("en"), pytest.raises(ValidationError) as exc:
        round_open_bids(round_=world.round, by=world.office)
    when = timezone.localtime(world.round.opening_at).strftime("%Y-%m-%d %H:%M:%S")
    assert exc.value.messages == [
        f"The bids of round {world.round.code} can be opened from {when}."
    ]
    assert not Opening.objects.exists()


def test_second_opening_is_refused(world: World) -> None:
    submit(world)
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    with override("en"), pytest.raises(ValidationError) as exc:
        round_open_bids(round_=world.round, by=world.office)
    assert exc.value.messages == [f"The bids of round {world.round.code} have already been opened."]
    assert OpenedBid.objects.count() == 1


def test_scheduled_check_closes_bidding_and_waits_for_the_ceremony(world: World) -> None:
    """No task holds the round's key: at the opening time bidding closes and the
    opening waits for k officials (bidding.services.ceremony)."""
    submit(world)
    now = timezone.now()
    assert opening_due_check(now=now) == 0  # not due yet
    past_opening(world.round)
    assert opening_due_check(now=timezone.now()) == 1
    assert opening_due_check(now=timezone.now()) == 1  # still waiting, nothing changes
    assert not Opening.objects.exists()
    world.refresh()
    assert world.round.status == Round.Status.BIDDING_CLOSED
    round_open_bids(round_=world.round, by=None)
    assert opening_due_check(now=timezone.now()) == 0
    world.refresh()
    assert world.round.status == Round.Status.BIDS_OPENED


def test_deadline_sweep_then_opening_check_in_one_beat(world: World, settings) -> None:
    from config.tasks import run_deadline_checks

    submit(world)
    past_opening(world.round)
    # Bidding closed, the bidder's "bidding open" notice done (it has bid), and one round
    # waits for its ceremony.
    assert run_deadline_checks() == 3
    assert not Opening.objects.exists()


def test_audit_log_is_append_only(world: World) -> None:
    submit(world)
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    entry = DecryptionAudit.objects.get()
    assert (entry.by, entry.organization, entry.purpose) == (
        world.office,
        world.office.organization,
        "opening",
    )
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        DecryptionAudit.objects.all().update(note="x")
    with pytest.raises(PermissionError):
        DecryptionAudit.objects.all().delete()
    assert DecryptionAudit.objects.count() == 1


def test_master_key_rotation_reseals_custody_records_and_bids_still_open(
    world: World, settings
) -> None:
    submit(world)
    old = sealing.parse_master_key(settings.JICAI_MASTER_KEY)
    new = sealing.generate_key()
    assert round_keys_rewrap(old_master_key=old, new_master_key=new) == 3  # 3 officials
    settings.JICAI_MASTER_KEY = sealing.encode_key(old)
    with pytest.raises(custody.CustodyError, match="master key"):
        round_open_bids(round_=world.round, by=world.office)
    settings.JICAI_MASTER_KEY = sealing.encode_key(new)
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    assert OpenedBid.objects.get().unit_price == D("1.9876")


def test_rotation_command_rewraps_and_refuses_a_bad_old_key(
    world: World, settings, monkeypatch
) -> None:
    from django.core.management import CommandError, call_command

    submit(world)
    old_text = settings.JICAI_MASTER_KEY
    new = sealing.generate_key()
    settings.JICAI_MASTER_KEY = sealing.encode_key(new)
    monkeypatch.setenv("JICAI_OLD_MASTER_KEY", "too-short")
    with pytest.raises(CommandError, match=r"not valid base64|must decode to 32 bytes"):
        call_command("bidding_rotate_master_key")
    monkeypatch.setenv("JICAI_OLD_MASTER_KEY", old_text)
    call_command("bidding_rotate_master_key")
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    assert OpenedBid.objects.get().annual_capacity == 7654321


def test_a_round_without_bids_opens_to_an_empty_record(world: World) -> None:
    past_opening(world.round)
    opening = round_open_bids(round_=world.round, by=world.office)
    assert (opening.bid_count, opening.valid_count) == (0, 0)
    world.refresh()
    assert world.round.status == Round.Status.BIDS_OPENED

"""Signed bids: a round that requires signatures seals only bids signed with the bidder's
own registered key over the version's canonical content; the opening verifies every
signature again and shows it; a bid altered after it was signed is caught."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.signing import SignatureInput
from bidding import sealing
from bidding.keys import round_public_key
from bidding.models import BidLogEntry, BidVersion, OpenedBid
from bidding.services import bid_revise, bid_submit
from bidding.services.terms import product_code
from bidding.signatures import bid_signed_content, version_signature_check
from catalog.models import Product
from procurement.models import Round
from tests.bidding.conftest import World, past_opening
from tests.ceremony import open_bids
from tests.signing.keys import BrowserKey, browser_key

D = Decimal
REFUSED_EN = (
    "The signature does not verify with key {key}: it was not made over this content with "
    "this key. Nothing was saved."
)


@pytest.fixture
def signed_world(world: World) -> World:
    Round.objects.filter(pk=world.round.pk).update(signatures_required=True)
    world.round.refresh_from_db()
    return world


def content(world: World, *, product: Product, price: str, capacity: int, version: int) -> bytes:
    return bid_signed_content(
        round_code=world.round.code,
        manufacturer_code=world.bidder.organization.social_credit_code,
        item_code=world.item.code,
        specification_code=world.spec20.code,
        product_code=product_code(product),
        version=version,
        unit_price=D(price),
        annual_capacity=capacity,
    )


def seal(world: World, *, price: str, signature: SignatureInput | None):  # type: ignore[no-untyped-def]
    return bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=D(price),
        annual_capacity=1000,
        by=world.bidder,
        signature=signature,
    )


def signed(world: World, key: BrowserKey, *, price: str, version: int = 1) -> SignatureInput:
    return key.sign(
        content(world, product=world.bidder_20, price=price, capacity=1000, version=version)
    )


def test_an_unsigned_bid_is_refused_when_the_round_requires_signatures(signed_world: World) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        seal(signed_world, price="1.5000", signature=None)
    assert refused.value.messages == [
        "This round requires every bid to be signed with your registered signing key. "
        "Register a key on the Signing keys page, then sign and seal again."
    ]
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused_zh:
        seal(signed_world, price="1.5000", signature=None)
    assert "签名" in refused_zh.value.messages[0]
    assert not BidVersion.objects.exists()
    assert not BidLogEntry.objects.exists()


def test_a_bad_signature_is_refused_and_nothing_is_written(signed_world: World) -> None:
    key = browser_key(signed_world.bidder)
    other_price = signed(signed_world, key, price="1.4000")  # signed a different price
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        seal(signed_world, price="1.5000", signature=other_price)
    assert refused.value.messages == [REFUSED_EN.format(key=key.key.short_fingerprint)]
    assert refused.value.code == "bad_signature"
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused_zh:
        seal(signed_world, price="1.5000", signature=other_price)
    assert "签名" in refused_zh.value.messages[0]
    assert not BidVersion.objects.exists()
    assert not BidLogEntry.objects.exists()


def test_a_signature_with_a_rivals_key_is_refused(signed_world: World) -> None:
    rival_key = browser_key(signed_world.rival)
    forged = signed(signed_world, rival_key, price="1.5000")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        seal(signed_world, price="1.5000", signature=forged)
    assert refused.value.code == "unknown_key"
    assert not BidVersion.objects.exists()


def test_an_old_signature_cannot_be_replayed_for_a_later_version(signed_world: World) -> None:
    key = browser_key(signed_world.bidder)
    first_signature = signed(signed_world, key, price="1.5000", version=1)
    receipt = seal(signed_world, price="1.5000", signature=first_signature)
    with pytest.raises(ValidationError) as refused:
        bid_revise(
            bid=receipt.version.bid,
            product=signed_world.bidder_20,
            unit_price=D("1.5000"),
            annual_capacity=1000,
            by=signed_world.bidder,
            signature=first_signature,  # signed for version 1, this would be version 2
        )
    assert refused.value.code == "bad_signature"
    again = bid_revise(
        bid=receipt.version.bid,
        product=signed_world.bidder_20,
        unit_price=D("1.5000"),
        annual_capacity=1000,
        by=signed_world.bidder,
        signature=signed(signed_world, key, price="1.5000", version=2),
    )
    assert again.version.number == 2


def test_a_revoked_or_expired_key_signs_nothing(signed_world: World) -> None:
    from accounts.models import SigningKey

    key = browser_key(signed_world.bidder)
    SigningKey.objects.filter(pk=key.key.pk).update(
        valid_until=timezone.now() - datetime.timedelta(seconds=1),
        valid_from=timezone.now() - datetime.timedelta(days=2),
    )
    with pytest.raises(ValidationError) as expired:
        seal(signed_world, price="1.5000", signature=signed(signed_world, key, price="1.5000"))
    assert expired.value.code == "key_expired"
    key2 = browser_key(signed_world.bidder, name="second")
    SigningKey.objects.filter(pk=key2.key.pk).update(revoked_at=timezone.now())
    with pytest.raises(ValidationError) as revoked:
        seal(signed_world, price="1.5000", signature=signed(signed_world, key2, price="1.5000"))
    assert revoked.value.code == "key_revoked"
    assert not BidVersion.objects.exists()


def test_a_signed_bid_is_sealed_with_its_signature_and_verifies_at_the_opening(
    signed_world: World,
) -> None:
    key = browser_key(signed_world.bidder)
    receipt = seal(
        signed_world, price="1.5000", signature=signed(signed_world, key, price="1.5000")
    )
    version = BidVersion.objects.get()
    assert version.signing_key == key.key
    assert receipt.document["signature"]["key"] == key.key.fingerprint  # type: ignore[index]
    assert sealing.receipt_verify(receipt.document)  # the receipt hash covers the signature
    # ... and the bid log entry records that receipt hash.
    assert BidLogEntry.objects.get().receipt_hash == receipt.document["hash"]
    round_ = past_opening(signed_world.round)
    opening = open_bids(round_=round_, by=signed_world.office)
    opened = OpenedBid.objects.get(opening=opening)
    assert opened.validity == OpenedBid.Validity.VALID
    assert opened.signature == OpenedBid.Signature.VALID
    assert opened.signature_key == key.key.fingerprint
    # The public opening record shows it, with the key's fingerprint.
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("bidding:opening", args=[round_.code]))
    html = page.content.decode()
    assert 'data-signature="valid"' in html and key.key.fingerprint[:16] in html
    csv = Client().get(reverse("bidding:opening-csv", args=[round_.code])).content.decode()
    assert csv.splitlines()[0].endswith("receipt_hash,signature,signature_key")
    assert csv.splitlines()[1].endswith(f",valid,{key.key.fingerprint}")


def test_an_unsigned_bid_of_a_round_without_the_requirement_opens_as_absent(world: World) -> None:
    seal(world, price="1.5000", signature=None)
    opening = open_bids(round_=past_opening(world.round), by=world.office)
    opened = OpenedBid.objects.get(opening=opening)
    assert opened.validity == OpenedBid.Validity.VALID
    assert opened.signature == OpenedBid.Signature.ABSENT
    assert opened.signature_key == ""


def test_a_signed_bid_altered_after_sealing_is_detected_at_the_opening(
    signed_world: World,
) -> None:
    """Whoever holds the round's public key (anybody) can seal other terms into the stored
    version and even recompute its receipt hash; the bidder's signature does not follow."""
    key = browser_key(signed_world.bidder)
    seal(signed_world, price="1.5000", signature=signed(signed_world, key, price="1.5000"))
    version = BidVersion.objects.select_related(
        "bid__round", "bid__round_item__item", "bid__specification", "bid__manufacturer", "product"
    ).get()
    from bidding.services.versions import _receipt_document, _version_identity
    from bidding.signatures import BidSignature

    identity = _version_identity(version)
    forged_terms = sealing.SealedTerms(
        unit_price=D("2.0000"), annual_capacity=1000, salt=sealing.new_salt()
    )
    document = _receipt_document(
        identity=identity,
        terms=forged_terms,
        server_time=version.server_time,
        signed=BidSignature(key=key.key, value=bytes(version.signature)),
    )
    BidVersion.objects.filter(pk=version.pk).update(
        ciphertext=sealing.seal(
            terms=forged_terms,
            identity=identity,
            public_key=round_public_key(round_=signed_world.round),
        ),
        receipt_hash=document["hash"],
    )
    opening = open_bids(round_=past_opening(signed_world.round), by=signed_world.office)
    opened = OpenedBid.objects.get(opening=opening)
    assert opened.signature == OpenedBid.Signature.INVALID
    assert opened.validity == OpenedBid.Validity.TAMPERED
    assert OpenedBid.Reason.SIGNATURE_INVALID in opened.reasons


def test_the_check_costs_no_query_unrequired_and_one_query_required(signed_world: World) -> None:
    key = browser_key(signed_world.bidder)
    args = dict(
        manufacturer_code=signed_world.bidder.organization.social_credit_code,
        item_code=signed_world.item.code,
        specification_code=signed_world.spec20.code,
        product_code=product_code(signed_world.bidder_20),
        version=1,
        unit_price=D("1.5000"),
        annual_capacity=1000,
        by=signed_world.bidder,
    )
    unrequired = Round.objects.get(pk=signed_world.round.pk)
    unrequired.signatures_required = False
    with CaptureQueriesContext(connection) as none:
        assert version_signature_check(round_=unrequired, signature=None, **args) is None  # type: ignore[arg-type]
    assert len(none) == 0
    with CaptureQueriesContext(connection) as one:
        checked = version_signature_check(
            round_=signed_world.round,
            signature=signed(signed_world, key, price="1.5000"),
            **args,  # type: ignore[arg-type]
        )
    assert checked is not None and checked.key == key.key
    assert len(one) == 1

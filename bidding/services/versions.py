"""Sealing a bid version and reading one back: its identity (what the seal binds), the
receipt document, the stored version, the audited decryption.

No price and no capacity appear in any exception message or log line here.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from decimal import Decimal

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from bidding import sealing
from bidding.keys import round_public_key
from bidding.models import Bid, BidVersion
from bidding.services.terms import BidReceipt, product_code, server_time_text
from bidding.signatures import (
    BidSignature,
    receipt_section,
    signature_missing,
    signatures_required,
)
from catalog.models import Product
from procurement.models import Round

logger = logging.getLogger("bidding.services")


def _identity(
    *, bid: Bid, number: int, action: str, product: Product | None
) -> sealing.BidIdentity:
    round_ = bid.round
    return sealing.BidIdentity(
        round_code=round_.code,
        round_id=round_.pk,
        bid_id=bid.pk,
        version=number,
        manufacturer_id=bid.manufacturer_id,
        manufacturer_code=bid.manufacturer.social_credit_code,
        item_code=bid.round_item.item.code,
        specification_code=bid.specification.code,
        product_id=product.pk if product is not None else None,
        product_code=product_code(product),
        action=action,
    )


def _version_identity(version: BidVersion) -> sealing.BidIdentity:
    return _identity(
        bid=version.bid, number=version.number, action=version.action, product=version.product
    )


@sensitive_variables()  # no price in a traceback's local variables
def _receipt_document(
    *,
    identity: sealing.BidIdentity,
    terms: sealing.SealedTerms,
    server_time: datetime.datetime,
    signed: BidSignature | None = None,
) -> dict[str, object]:
    document: dict[str, object] = dict(
        sealing.receipt_document(
            identity=identity, terms=terms, server_time=server_time_text(server_time)
        )
    )
    if signed is not None:  # covered by the hash, so by the bid log entry
        document["signature"] = signed.receipt_section()
    document["hash"] = sealing.receipt_hash(document)  # type: ignore[arg-type]
    return document


@sensitive_variables()  # no price in a traceback's local variables
def _seal_version(
    *,
    round_: Round,
    bid: Bid,
    number: int,
    action: str,
    product: Product | None,
    unit_price: Decimal | None,
    annual_capacity: int | None,
    by: User,
    idempotency_key: str,
    public_key: bytes,
    signed: BidSignature | None = None,
) -> BidReceipt:
    """Seal one version of ``bid`` in memory (no SQL): its ciphertext, receipt and the
    unsaved row. Every version (new bid, revision, withdrawal, sheet line) passes here
    once, before it is stored.

    ``signed``: the bidder's signature of this version, verified by the caller before it
    wrote anything (``bidding.services.submission._signature_checked``: one query, the
    key); it is stored with the version and its digest and key go on the receipt. A
    version with terms in a round that requires signatures is refused here without one
    (no SQL: the requirement is a column of the round row), so no path stores it."""
    if (
        signed is None
        and action != BidVersion.Action.WITHDRAW
        and signatures_required(round_=round_)
    ):
        raise signature_missing()
    identity = _identity(bid=bid, number=number, action=action, product=product)
    terms = sealing.SealedTerms(
        unit_price=unit_price, annual_capacity=annual_capacity, salt=sealing.new_salt()
    )
    ciphertext = sealing.seal(terms=terms, identity=identity, public_key=public_key)
    server_time = timezone.now()
    document = _receipt_document(
        identity=identity, terms=terms, server_time=server_time, signed=signed
    )
    version = BidVersion(
        bid=bid,
        number=number,
        action=action,
        product=product,
        nonce=b"",
        ciphertext=ciphertext,
        receipt_hash=str(document["hash"]),
        server_time=server_time,
        submitted_by=by,
        idempotency_key=idempotency_key,
        manufacturer=bid.manufacturer,
        signature=signed.value if signed is not None else b"",
        signing_key=signed.key if signed is not None else None,
    )
    return BidReceipt(version=version, document=document)


def _logged_version(receipt: BidReceipt, *, round_: Round, by: User) -> None:
    version = receipt.version
    logger.info(
        "bid %s version %s %s by user %s (round %s)",
        version.bid_id,
        version.number,
        version.action,
        by.pk,
        round_.code,
    )


@sensitive_variables()  # no price in a traceback's local variables
def _write_version(
    *,
    round_: Round,
    bid: Bid,
    action: str,
    product: Product | None,
    unit_price: Decimal | None,
    annual_capacity: int | None,
    by: User,
    idempotency_key: str,
    public_key: bytes | None = None,
    number: int | None = None,
    new_bid: bool = False,
    signed: BidSignature | None = None,
) -> BidReceipt:
    """Seal and store one version of ``bid``; the caller holds the round and bid locks.

    ``public_key``: as read with the round row (else read here); ``number``: the bid's
    next version number when the caller knows it (its locked row's ``current_version``
    + 1), else the stored versions' highest + 1; ``new_bid``: ``bid`` was just inserted
    with this first version's state (version 1, active), so its row needs no update;
    ``signed``: the bidder's verified signature of this version (``_seal_version``)."""
    if public_key is None:
        public_key = round_public_key(round_=round_)  # a clear refusal if the round has none
    if number is None:
        number = _stored_next_number(bid)
    receipt = _seal_version(
        round_=round_,
        bid=bid,
        number=number,
        action=action,
        product=product,
        unit_price=unit_price,
        annual_capacity=annual_capacity,
        by=by,
        idempotency_key=idempotency_key,
        public_key=public_key,
        signed=signed,
    )
    receipt.version.save(force_insert=True)
    if new_bid:
        assert number == 1 and bid.current_version == 1 and bid.status == Bid.Status.ACTIVE
    else:
        bid.current_version = number
        bid.status = (
            Bid.Status.WITHDRAWN if action == BidVersion.Action.WITHDRAW else Bid.Status.ACTIVE
        )
        bid.save(update_fields=["current_version", "status", "updated_at"])
    _logged_version(receipt, round_=round_, by=by)
    return receipt


def _stored_next_number(bid: Bid) -> int:
    """The bid's next version number counted from its stored versions (one query)."""
    number = (
        BidVersion.objects.filter(bid=bid)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    ) or 0
    return number + 1


def _sealed_receipt(version: BidVersion) -> dict[str, object]:
    """What the server can still say about a stored version before the opening: everything
    on the receipt except the sealed terms and salt (it cannot read them), and the hash.

    The full receipt (with the terms and the salt, which the hash covers) is handed to the
    bidder once, at submission; it verifies offline (``python -m bidding.verify_receipt``).
    """
    identity = _version_identity(version)
    signature = receipt_signature_of(version)
    return {
        **({"signature": signature} if signature else {}),
        "format": sealing.RECEIPT_FORMAT,
        "content": {
            "round": identity.round_code,
            "item": identity.item_code,
            "specification": identity.specification_code,
            "manufacturer": identity.manufacturer_code,
            "product": identity.product_code,
            "bid": identity.bid_id,
            "version": identity.version,
            "action": identity.action,
            "unit_price": "sealed" if version.action != BidVersion.Action.WITHDRAW else None,
            "annual_capacity": "sealed" if version.action != BidVersion.Action.WITHDRAW else None,
        },
        "server_time": server_time_text(version.server_time),
        "salt": "sealed",
        "hash": version.receipt_hash,
        "sealed": True,
        "ciphertext_sha256": hashlib.sha256(bytes(version.ciphertext)).hexdigest(),
    }


def receipt_signature_of(version: BidVersion) -> dict[str, str] | None:
    """The receipt's ``signature`` section of a stored version (None when unsigned)."""
    if not version.signature or version.signing_key_id is None:
        return None
    assert version.signing_key is not None
    return receipt_section(
        fingerprint=version.signing_key.fingerprint, value=bytes(version.signature)
    )

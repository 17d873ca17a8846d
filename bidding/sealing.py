"""Sealing bids: canonical content, authenticated encryption, keys and receipts.

Pure Python on the ``cryptography`` package; imports nothing from Django, so it is tested
without a database and a manufacturer can run the receipt check on its own machine
(``python -m bidding.verify_receipt receipt.json``).

Sealing (docs/sealed-bidding.md):

* each bid version's sealed payload (price, capacity and the receipt salt), padded to a
  fixed size, is encrypted with HPKE (RFC 9180; ``bidding.custody``) to its **round's
  public key**. The round's private key exists only while the opening officials rebuild it
  from k of their n shares at the opening ceremony; nobody, the server included, holds it
  during bidding. The HPKE ``info`` binds the ciphertext to its round, bid, version,
  manufacturer, item, specification and product, so a ciphertext copied onto another row
  (or a row whose product was changed) fails authentication;
* the **master key** (``JICAI_MASTER_KEY``) no longer seals bids: it is the outer layer of
  the officials' custody records (``bidding.custody.master_seal``) and still wraps the data
  keys of rounds sealed before (``wrap_key``, rotation).

A receipt is SHA-256 over the canonical receipt document: the canonical bid content (price
and capacity included), the server timestamp and a 128-bit random salt. The salt travels
inside the ciphertext, so the stored hash cannot be brute-forced over plausible prices by
someone who reads the database before the opening.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from bidding import custody

RECEIPT_FORMAT = "jicai-bid-receipt/1"
PAYLOAD_FORMAT = "jicai-sealed-bid/2"
AAD_FORMAT = "jicai-bid-aad/2"
KEY_BYTES = 32
SALT_BYTES = 16
PRICE_QUANTUM = Decimal("0.0001")
MAX_PRICE = Decimal("9999999999.9999")  # DecimalField(max_digits=14, decimal_places=4)
MAX_CAPACITY = 10**15
# Every sealed payload is padded (PKCS#7, from ``cryptography``) to exactly this many bytes
# before encryption, so every ciphertext has the same length whatever the price and the
# capacity (issue 13, item 5). The longest possible payload (``MAX_PRICE``, ``MAX_CAPACITY``)
# is 141 bytes; ``SealedTerms.to_bytes`` refuses one that would not fit.
PADDED_PAYLOAD_BYTES = 160

JsonScalar = str | int | None
JsonDoc = Mapping[str, "JsonScalar | JsonDoc"]


class SealingError(Exception):
    """A sealed payload, key or receipt failed a check. Messages never carry a price."""


class MasterKeyError(SealingError):
    """The configured master key is missing or malformed."""


class UnsealError(SealingError):
    """A ciphertext did not authenticate: wrong key, moved or altered bytes."""


def canonical_json(document: JsonDoc) -> bytes:
    """The one byte form of a document that is hashed or authenticated.

    Sorted keys, no whitespace, UTF-8. Values are strings, integers or null only (money
    is a string with exactly four decimals), so there is no float formatting to disagree on.
    """
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def price_text(price: Decimal) -> str:
    """A unit price in its canonical text form: yuan with exactly four decimals."""
    if not isinstance(price, Decimal) or not price.is_finite():
        raise SealingError("unit price must be a finite Decimal")
    quantized = price.quantize(PRICE_QUANTUM)
    if quantized != price:
        raise SealingError("unit price has more than 4 decimal places")
    if quantized <= 0 or quantized > MAX_PRICE:
        raise SealingError("unit price is out of range")
    return f"{quantized:.4f}"


def capacity_text(capacity: int) -> str:
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise SealingError("annual capacity must be an integer")
    if capacity < 0 or capacity > MAX_CAPACITY:
        raise SealingError("annual capacity is out of range")
    return str(capacity)


# --- keys ---------------------------------------------------------------------------------


def generate_key() -> bytes:
    """A fresh 256-bit key from the operating system's CSPRNG."""
    return os.urandom(KEY_BYTES)


def encode_key(key: bytes) -> str:
    """The text form of a master key, as ``JICAI_MASTER_KEY`` holds it."""
    return base64.urlsafe_b64encode(key).decode("ascii")


def parse_master_key(text: str) -> bytes:
    """Decode a base64 (standard or URL-safe) 32-byte master key."""
    cleaned = text.strip()
    if not cleaned:
        raise MasterKeyError("JICAI_MASTER_KEY is empty")
    try:
        raw = base64.b64decode(
            cleaned.replace("-", "+").replace("_", "/") + "=" * (-len(cleaned) % 4),
            validate=True,
        )
    except (binascii.Error, ValueError) as exc:
        raise MasterKeyError("JICAI_MASTER_KEY is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise MasterKeyError(f"JICAI_MASTER_KEY must decode to {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def key_fingerprint(key: bytes) -> str:
    """A short public identifier of a key (which master key wrapped a round key).

    Derived with a domain-separated hash, so it reveals nothing usable about the key.
    """
    return hashlib.sha256(b"jicai-key-fingerprint\x00" + key).hexdigest()[:16]


def wrap_key(*, data_key: bytes, master_key: bytes) -> bytes:
    """Wrap a round data key under the master key (AES key wrap, RFC 3394)."""
    if len(data_key) != KEY_BYTES or len(master_key) != KEY_BYTES:
        raise SealingError("keys must be 32 bytes")
    return aes_key_wrap(master_key, data_key)


def unwrap_key(*, wrapped: bytes, master_key: bytes) -> bytes:
    try:
        return aes_key_unwrap(master_key, wrapped)
    except InvalidUnwrap as exc:
        raise UnsealError("the round key does not unwrap with this master key") from exc


# --- bid content, payload, associated data -------------------------------------------------


@dataclass(frozen=True)
class BidIdentity:
    """Where a sealed payload belongs; authenticated as associated data, never encrypted."""

    round_code: str
    round_id: int
    bid_id: int
    version: int
    manufacturer_id: int
    manufacturer_code: str
    item_code: str
    specification_code: str
    product_id: int | None
    product_code: str | None
    action: str  # "submit" | "revise" | "withdraw"

    def associated_data(self) -> bytes:
        return canonical_json(
            {
                "format": AAD_FORMAT,
                "round_code": self.round_code,
                "round_id": self.round_id,
                "bid_id": self.bid_id,
                "version": self.version,
                "manufacturer_id": self.manufacturer_id,
                "item_code": self.item_code,
                "specification_code": self.specification_code,
                "product_id": self.product_id,
                "action": self.action,
            }
        )


@dataclass(frozen=True)
class SealedTerms:
    """What the ciphertext holds: the commercial terms and the receipt salt."""

    unit_price: Decimal | None  # None for a withdrawal
    annual_capacity: int | None
    salt: str  # hex, SALT_BYTES random bytes

    def to_bytes(self) -> bytes:
        """The canonical payload, padded to exactly ``PADDED_PAYLOAD_BYTES`` bytes."""
        body = self.canonical()
        if len(body) >= PADDED_PAYLOAD_BYTES:
            raise SealingError("the sealed payload is too long to pad")
        padder = padding.PKCS7(PADDED_PAYLOAD_BYTES * 8).padder()
        return padder.update(body) + padder.finalize()

    def canonical(self) -> bytes:
        return canonical_json(
            {
                "format": PAYLOAD_FORMAT,
                "unit_price": None if self.unit_price is None else price_text(self.unit_price),
                "annual_capacity": (
                    None if self.annual_capacity is None else capacity_text(self.annual_capacity)
                ),
                "salt": self.salt,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedTerms:
        if len(data) != PADDED_PAYLOAD_BYTES:
            raise SealingError("the sealed payload has the wrong length")
        try:
            unpadder = padding.PKCS7(PADDED_PAYLOAD_BYTES * 8).unpadder()
            body = unpadder.update(data) + unpadder.finalize()
            doc = json.loads(body.decode("utf-8"))
            if doc.get("format") != PAYLOAD_FORMAT:
                raise SealingError("unknown sealed payload format")
            price = doc["unit_price"]
            capacity = doc["annual_capacity"]
            return cls(
                unit_price=None if price is None else Decimal(price),
                annual_capacity=None if capacity is None else int(capacity),
                salt=str(doc["salt"]),
            )
        except (ValueError, KeyError, TypeError, InvalidOperation, AttributeError) as exc:
            raise SealingError("the sealed payload is malformed") from exc


def new_salt() -> str:
    return os.urandom(SALT_BYTES).hex()


SEALED_BID_BYTES = PADDED_PAYLOAD_BYTES + custody.HPKE_OVERHEAD  # 208, every bid


def seal(*, terms: SealedTerms, identity: BidIdentity, public_key: bytes) -> bytes:
    """HPKE-seal the padded ``terms`` to the round's public key (X25519), binding
    ``identity`` as the HPKE ``info``: the ciphertext opens only under that identity."""
    return custody.hpke_seal(
        plaintext=terms.to_bytes(), public_key=public_key, info=identity.associated_data()
    )


def unseal(
    *, ciphertext: bytes, identity: BidIdentity, private_key: X25519PrivateKey
) -> SealedTerms:
    """Decrypt and authenticate; a moved, altered or foreign ciphertext raises UnsealError."""
    try:
        plaintext = custody.hpke_open(
            ciphertext=ciphertext, private_key=private_key, info=identity.associated_data()
        )
    except custody.CustodyError as exc:
        raise UnsealError("the sealed bid failed authentication") from exc
    return SealedTerms.from_bytes(plaintext)


# --- receipts -----------------------------------------------------------------------------


def receipt_document(
    *, identity: BidIdentity, terms: SealedTerms, server_time: str
) -> dict[str, JsonScalar | dict[str, JsonScalar]]:
    """The canonical receipt document (everything the hash covers), without the hash.

    ``server_time`` is the ISO 8601 UTC timestamp the server recorded for this version.
    """
    content: dict[str, JsonScalar] = {
        "round": identity.round_code,
        "item": identity.item_code,
        "specification": identity.specification_code,
        "manufacturer": identity.manufacturer_code,
        "product": identity.product_code,
        "bid": identity.bid_id,
        "version": identity.version,
        "action": identity.action,
        "unit_price": None if terms.unit_price is None else price_text(terms.unit_price),
        "annual_capacity": (
            None if terms.annual_capacity is None else capacity_text(terms.annual_capacity)
        ),
    }
    return {
        "format": RECEIPT_FORMAT,
        "content": content,
        "server_time": server_time,
        "salt": terms.salt,
    }


# Keys of a receipt file that the receipt hash does not cover: the hash itself, and the
# bid log section (the log entry commits to the receipt hash, not the other way round).
UNHASHED_RECEIPT_KEYS = frozenset({"hash", "log"})


def receipt_hash(document: JsonDoc) -> str:
    """SHA-256 (hex) over the canonical receipt document; ``hash`` and ``log`` are ignored."""
    body = {k: v for k, v in document.items() if k not in UNHASHED_RECEIPT_KEYS}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def receipt_verify(document: JsonDoc, expected_hash: str | None = None) -> bool:
    """True when the document hashes to its own ``hash`` (and to ``expected_hash`` if given).

    Constant-time comparisons; a malformed document is simply not verified.
    """
    try:
        computed = receipt_hash(document)
    except (TypeError, ValueError):
        return False
    claimed = document.get("hash")
    if not isinstance(claimed, str) or not hmac.compare_digest(computed, claimed.lower()):
        return False
    if expected_hash is not None:
        return hmac.compare_digest(computed, expected_hash.strip().lower())
    return True

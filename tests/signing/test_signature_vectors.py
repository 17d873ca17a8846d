"""Fixed vector of the persisted bid-signature format (``jicai-bid-signature/1``).

``vectors/bid-signature-v1.json`` was written once: a P-256 key's SubjectPublicKeyInfo, the
exact bytes a bidder signs for one version of one bid, a signature over them as WebCrypto
sends it (raw ``r || s``) and in DER, the key's fingerprint and the receipt's ``signature``
section. Stored signatures must keep verifying after any refactoring or library upgrade:
a change of the signed content (a renamed key, a price written with other digits, the
version left out) is a deliberate format change with a migration, never an accident.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.signing import (
    fingerprint_of,
    signature_decode,
    signature_der,
    signature_valid,
)
from bidding.signatures import bid_signed_content, receipt_section

VECTOR = json.loads(
    (Path(__file__).resolve().parent / "vectors" / "bid-signature-v1.json").read_text("utf-8")
)
FIELDS = VECTOR["fields"]
SPKI = base64.b64decode(VECTOR["spki_der_b64"])
RAW = signature_decode(VECTOR["signature_raw_b64url"])
DER = base64.b64decode(VECTOR["signature_der_b64"])


def _content(**changes: object) -> bytes:
    fields: dict[str, object] = {
        "round_code": FIELDS["round_code"],
        "manufacturer_code": FIELDS["manufacturer_code"],
        "item_code": FIELDS["item_code"],
        "specification_code": FIELDS["specification_code"],
        "product_code": FIELDS["product_code"],
        "version": int(FIELDS["version"]),
        "unit_price": Decimal(FIELDS["unit_price"]),
        "annual_capacity": int(FIELDS["annual_capacity"]),
    }
    fields.update(changes)
    return bid_signed_content(**fields)  # type: ignore[arg-type]


def test_the_signed_content_is_byte_for_byte_the_stored_one() -> None:
    assert _content() == VECTOR["content_utf8"].encode("utf-8")


def test_the_stored_signature_verifies_in_both_encodings() -> None:
    assert len(RAW) == 64
    assert signature_der(RAW) == DER
    assert signature_valid(spki_der=SPKI, message=_content(), signature=RAW)
    assert signature_valid(spki_der=SPKI, message=_content(), signature=DER)


def test_the_fingerprint_and_receipt_section_are_the_stored_ones() -> None:
    assert fingerprint_of(SPKI) == VECTOR["fingerprint"]
    assert (
        receipt_section(fingerprint=VECTOR["fingerprint"], value=RAW) == VECTOR["receipt_section"]
    )


@pytest.mark.parametrize(
    "change",
    [
        {"unit_price": Decimal("0.3001")},
        {"annual_capacity": 1200001},
        {"version": 3},
        {"specification_code": "ATV-40-7"},
        {"product_code": None},
        {"round_code": "VEC-2026-02"},
    ],
)
def test_the_stored_signature_does_not_cover_other_terms(change: dict[str, object]) -> None:
    assert not signature_valid(spki_der=SPKI, message=_content(**change), signature=RAW)


def test_a_price_written_with_other_digits_is_the_same_signed_content() -> None:
    """The price is signed in its canonical text (4 decimals), whatever the input's digits."""
    assert _content(unit_price=Decimal("0.30")) == _content()
    assert signature_valid(
        spki_der=SPKI, message=_content(unit_price=Decimal("0.3")), signature=RAW
    )

"""The pure sealing module: no database, no Django."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding import custody, sealing

ROOT = Path(__file__).resolve().parents[2]
D = Decimal
IDENTITY = sealing.BidIdentity(
    round_code="R1",
    round_id=1,
    bid_id=10,
    version=2,
    manufacturer_id=5,
    manufacturer_code="91110100000000001X",
    item_code="D-ATV-OS",
    specification_code="20MG",
    product_id=7,
    product_code="国药准字H20193001",
    action="revise",
)
TERMS = sealing.SealedTerms(unit_price=D("1.2345"), annual_capacity=1000000, salt="ab" * 16)


def new_key() -> X25519PrivateKey:
    return custody.generate_private_key()


def sealed_with(key: X25519PrivateKey) -> bytes:
    return sealing.seal(terms=TERMS, identity=IDENTITY, public_key=custody.public_bytes(key))


def test_seal_and_unseal_round_trip() -> None:
    key = new_key()
    sealed = sealed_with(key)
    assert sealing.unseal(ciphertext=sealed, identity=IDENTITY, private_key=key) == TERMS
    assert b"1.2345" not in sealed
    assert len(sealed) == sealing.SEALED_BID_BYTES == 208


def test_every_seal_uses_a_fresh_ephemeral_key() -> None:
    key = new_key()
    first, second = sealed_with(key), sealed_with(key)
    assert first[:32] != second[:32]  # the HPKE encapsulated key
    assert first != second


@pytest.mark.parametrize(
    "field,value",
    [
        ("bid_id", 11),
        ("version", 1),
        ("round_id", 2),
        ("manufacturer_id", 6),
        ("product_id", 8),
        ("specification_code", "40MG"),
        ("action", "submit"),
    ],
)
def test_a_ciphertext_cannot_be_moved_to_another_identity(field: str, value: object) -> None:
    key = new_key()
    sealed = sealed_with(key)
    with pytest.raises(sealing.UnsealError, match="failed authentication"):
        sealing.unseal(
            ciphertext=sealed, identity=replace(IDENTITY, **{field: value}), private_key=key
        )


def test_one_flipped_bit_fails_authentication() -> None:
    key = new_key()
    sealed = sealed_with(key)
    for position in (0, len(sealed) // 2, len(sealed) - 1):
        altered = bytearray(sealed)
        altered[position] ^= 0x80
        with pytest.raises(sealing.UnsealError):
            sealing.unseal(ciphertext=bytes(altered), identity=IDENTITY, private_key=key)


def test_another_key_cannot_unseal() -> None:
    sealed = sealed_with(new_key())
    with pytest.raises(sealing.UnsealError):
        sealing.unseal(ciphertext=sealed, identity=IDENTITY, private_key=new_key())


# A stored bid of format jicai-sealed-bid/2, sealed (HPKE X25519/HKDF-SHA256/AES-256-GCM)
# to the public key of VECTOR_PRIVATE_KEY under IDENTITY: it must keep opening to TERMS.
VECTOR_PRIVATE_KEY = bytes.fromhex(
    "a8abababababababababababababababababababababababababababababab6b"
)
VECTOR_CIPHERTEXT = bytes.fromhex(
    "e3b0a6e4c5194d9b22625bcc9418fe85e3477c5d1ea3e1f9e404fa9f4fb89b71f7c4510d6ad6b5c578162e50"
    "4d0d815e68da51716f54086421620c59dc528b94718564d73a731cd93428eb03428697ff1d794486dc66ead5"
    "0e1ea0ffc0728bfa4e47c7faf313a14b049e09166b4896b05434d4aabe8898f84ba217a2a530c62970f89728"
    "cc80ec1faf3768c4662cc5509aa0251bcac882b02341c65419feb807e56ccfe082f17803b40e147d922543b4"
    "a5e81428fd2b3ccc7a1f312ccf697412d5d16e58101900e7d8c8098172873816"
)


def test_stored_format_test_vector_still_opens() -> None:
    key = custody.private_key_from(VECTOR_PRIVATE_KEY)
    assert len(VECTOR_CIPHERTEXT) == 208
    assert sealing.unseal(ciphertext=VECTOR_CIPHERTEXT, identity=IDENTITY, private_key=key) == TERMS


def test_key_wrap_round_trip_and_wrong_master_key() -> None:
    master, data_key = sealing.generate_key(), sealing.generate_key()
    wrapped = sealing.wrap_key(data_key=data_key, master_key=master)
    assert wrapped != data_key and len(wrapped) == 40
    assert sealing.unwrap_key(wrapped=wrapped, master_key=master) == data_key
    with pytest.raises(sealing.UnsealError, match="does not unwrap"):
        sealing.unwrap_key(wrapped=wrapped, master_key=sealing.generate_key())


def test_master_key_parsing() -> None:
    key = sealing.generate_key()
    assert sealing.parse_master_key(sealing.encode_key(key)) == key
    assert sealing.parse_master_key(base64.b64encode(key).decode()) == key
    with pytest.raises(sealing.MasterKeyError, match="must decode to 32 bytes, not 16"):
        sealing.parse_master_key(base64.b64encode(b"x" * 16).decode())
    with pytest.raises(sealing.MasterKeyError, match="not valid base64"):
        sealing.parse_master_key("not base64 at all!")
    with pytest.raises(sealing.MasterKeyError, match="empty"):
        sealing.parse_master_key("  ")


def test_fingerprint_identifies_a_key_without_revealing_it() -> None:
    key = sealing.generate_key()
    fingerprint = sealing.key_fingerprint(key)
    assert len(fingerprint) == 16
    assert fingerprint == sealing.key_fingerprint(key)
    assert fingerprint != sealing.key_fingerprint(sealing.generate_key())
    assert fingerprint not in key.hex()


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert sealing.canonical_json({"b": "药", "a": 1, "c": None}) == (
        '{"a":1,"b":"药","c":null}'.encode()
    )


def test_price_text_has_exactly_four_decimals_and_refuses_more() -> None:
    assert sealing.price_text(D("3")) == "3.0000"
    assert sealing.price_text(D("0.1000")) == "0.1000"
    with pytest.raises(sealing.SealingError, match="more than 4 decimal places"):
        sealing.price_text(D("1.23456"))
    with pytest.raises(sealing.SealingError, match="out of range"):
        sealing.price_text(D("0"))


def receipt(terms: sealing.SealedTerms = TERMS) -> dict:
    document = dict(
        sealing.receipt_document(
            identity=IDENTITY, terms=terms, server_time="2026-11-22T12:00:00.000001+00:00"
        )
    )
    document["hash"] = sealing.receipt_hash(document)
    return document


def test_receipt_verifies_and_detects_any_change() -> None:
    document = receipt()
    assert document["content"]["unit_price"] == "1.2345"
    assert sealing.receipt_verify(document)
    assert sealing.receipt_verify(document, expected_hash=document["hash"])
    assert not sealing.receipt_verify(document, expected_hash="0" * 64)
    for key, value in [("unit_price", "1.2344"), ("annual_capacity", "1000001"), ("version", 3)]:
        changed = {**document, "content": {**document["content"], key: value}}
        assert not sealing.receipt_verify(changed)
    assert not sealing.receipt_verify({**document, "salt": "cd" * 16})
    assert not sealing.receipt_verify({**document, "server_time": "2026-11-22T12:00:01+00:00"})


def test_the_salt_makes_equal_bids_hash_differently() -> None:
    other = replace(TERMS, salt=sealing.new_salt())
    assert receipt()["hash"] != receipt(other)["hash"]


def test_receipt_hash_is_plain_sha256_over_canonical_json() -> None:
    """Anyone can recompute it with the standard library alone (docs/sealed-bidding.md)."""
    import hashlib

    document = receipt()
    body = {k: v for k, v in document.items() if k != "hash"}
    expected = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert document["hash"] == expected


def test_verify_receipt_command(tmp_path: Path) -> None:
    document = receipt()
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    ok = subprocess.run(
        [sys.executable, "-m", "bidding.verify_receipt", str(path), document["hash"]],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: the receipt is intact" in ok.stdout
    document["content"]["unit_price"] = "1.0000"
    path.write_text(json.dumps(document), encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "bidding.verify_receipt", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert "MISMATCH" in bad.stdout


def test_sealing_module_imports_no_django() -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bidding.sealing, bidding.verify_receipt; "
            "print(any(m.startswith('django') for m in sys.modules))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "False"


# --- fixed-size payloads (issue 13, item 5) -----------------------------------------------

PRICES_AND_CAPACITIES = [
    (D("1.2345"), 111111),
    (D("23.4567"), 2222222222),
    (D("345.6789"), 3),
    (D("0.0001"), 0),
    (sealing.MAX_PRICE, sealing.MAX_CAPACITY),
]


def test_every_sealed_payload_has_the_same_length_whatever_the_price() -> None:
    """Before padding, 1.2345/111111, 23.4567/2222222222 and 345.6789/3 gave 138, 143
    and 135 bytes of ciphertext: the length told the price's length."""
    key = custody.public_bytes(new_key())
    lengths = {
        len(
            sealing.seal(
                terms=sealing.SealedTerms(
                    unit_price=price, annual_capacity=capacity, salt="ab" * 16
                ),
                identity=IDENTITY,
                public_key=key,
            )
        )
        for price, capacity in PRICES_AND_CAPACITIES
    }
    withdrawal = sealing.seal(
        terms=sealing.SealedTerms(unit_price=None, annual_capacity=None, salt="ab" * 16),
        identity=IDENTITY,
        public_key=key,
    )
    lengths.add(len(withdrawal))
    assert lengths == {sealing.SEALED_BID_BYTES}


def test_padded_payload_test_vector() -> None:
    """The stored plaintext format, byte for byte: canonical JSON, then PKCS#7 padding to
    160 bytes (here 160 - 141 = 19 bytes of 0x13)."""
    terms = sealing.SealedTerms(
        unit_price=sealing.MAX_PRICE, annual_capacity=sealing.MAX_CAPACITY, salt="ab" * 16
    )
    body = (
        b'{"annual_capacity":"1000000000000000","format":"jicai-sealed-bid/2",'
        b'"salt":"abababababababababababababababab","unit_price":"9999999999.9999"}'
    )
    assert len(body) == 141
    assert terms.to_bytes() == body + bytes([19]) * 19
    assert sealing.SealedTerms.from_bytes(body + bytes([19]) * 19) == terms


def test_a_payload_of_the_wrong_length_or_padding_is_refused() -> None:
    padded = TERMS.to_bytes()
    with pytest.raises(sealing.SealingError, match="wrong length"):
        sealing.SealedTerms.from_bytes(padded[:-1])
    with pytest.raises(sealing.SealingError, match="malformed"):
        sealing.SealedTerms.from_bytes(padded[:-1] + b"\x00")


# --- exact messages, boundaries and fixed vectors (mutation testing) ----------------------


def raises_exactly(error: type[Exception], message: str) -> pytest.RaisesContext:
    """The error, with exactly this message (messages are part of what operators read)."""
    return pytest.raises(error, match=f"^{re.escape(message)}$")


def test_canonical_json_keeps_non_ascii_text_as_utf8_bytes() -> None:
    assert sealing.canonical_json({"药": "国药准字"}) == (
        b'{"\xe8\x8d\xaf":"\xe5\x9b\xbd\xe8\x8d\xaf\xe5\x87\x86\xe5\xad\x97"}'
    )
    assert b"\\u" not in sealing.canonical_json({"product": IDENTITY.product_code})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_canonical_json_refuses_non_finite_floats(value: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        sealing.canonical_json({"x": value})


PRICE_NOT_DECIMAL = "unit price must be a finite Decimal"


@pytest.mark.parametrize("value", [1.5, 3, "1.2345", None, True])
def test_price_text_refuses_what_is_not_a_decimal(value: object) -> None:
    with raises_exactly(sealing.SealingError, PRICE_NOT_DECIMAL):
        sealing.price_text(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity"])
def test_price_text_refuses_non_finite_decimals(text: str) -> None:
    with raises_exactly(sealing.SealingError, PRICE_NOT_DECIMAL):
        sealing.price_text(D(text))


@pytest.mark.parametrize("text", ["1.23456", "0.00001", "9999999999.99991", "-0.00001"])
def test_price_text_refuses_more_than_four_places(text: str) -> None:
    with raises_exactly(sealing.SealingError, "unit price has more than 4 decimal places"):
        sealing.price_text(D(text))


@pytest.mark.parametrize(
    "text", ["0", "0.0000", "-0.0001", "-1", "10000000000", "10000000000.0000"]
)
def test_price_text_refuses_prices_out_of_range(text: str) -> None:
    assert D("9999999999.9999") == sealing.MAX_PRICE
    with raises_exactly(sealing.SealingError, "unit price is out of range"):
        sealing.price_text(D(text))


def test_price_text_range_boundaries() -> None:
    assert sealing.price_text(D("0.0001")) == "0.0001"
    assert sealing.price_text(D("9999999999.9999")) == "9999999999.9999"
    assert sealing.price_text(D("1.20")) == "1.2000"
    assert sealing.price_text(D("1E+2")) == "100.0000"
    with raises_exactly(sealing.SealingError, "unit price is out of range"):
        sealing.price_text(D("9999999999.9999") + D("0.0001"))


@pytest.mark.parametrize("value", [True, False, 1.0, "1", None, D("1")])
def test_capacity_text_refuses_what_is_not_an_integer(value: object) -> None:
    with raises_exactly(sealing.SealingError, "annual capacity must be an integer"):
        sealing.capacity_text(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, -(10**15), 10**15 + 1, 10**16])
def test_capacity_text_refuses_capacities_out_of_range(value: int) -> None:
    assert sealing.MAX_CAPACITY == 10**15
    with raises_exactly(sealing.SealingError, "annual capacity is out of range"):
        sealing.capacity_text(value)


def test_capacity_text_range_boundaries() -> None:
    assert sealing.capacity_text(0) == "0"
    assert sealing.capacity_text(1) == "1"
    assert sealing.capacity_text(10**15) == "1000000000000000"


# A fixed 32-byte key and its text and fingerprint, computed once with base64 and hashlib:
# sha256(b"jicai-key-fingerprint\x00" + key).hexdigest()[:16].
FIXED_KEY = bytes(range(32))
FIXED_KEY_FINGERPRINT = "a83cdc1f9c5e7663"
# 0xfb 0xff repeated: its base64 holds every character that differs between the alphabets.
ALPHABET_KEY = bytes([0xFB, 0xFF]) * 16
ALPHABET_KEY_URLSAFE = "-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-_8="
ALPHABET_KEY_STANDARD = "+//7//v/+//7//v/+//7//v/+//7//v/+//7//v/+/8="


def test_key_fingerprint_fixed_vector() -> None:
    assert sealing.key_fingerprint(FIXED_KEY) == FIXED_KEY_FINGERPRINT
    assert sealing.key_fingerprint(b"") == "0b0857a441059cdd"


def test_encode_key_fixed_vectors() -> None:
    assert sealing.encode_key(FIXED_KEY) == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    assert sealing.encode_key(ALPHABET_KEY) == ALPHABET_KEY_URLSAFE
    assert isinstance(sealing.encode_key(FIXED_KEY), str)


@pytest.mark.parametrize(
    "text",
    [
        ALPHABET_KEY_URLSAFE,
        ALPHABET_KEY_STANDARD,
        ALPHABET_KEY_URLSAFE.rstrip("="),  # the one '=' it needs is missing
        ALPHABET_KEY_STANDARD.rstrip("="),
        f"  {ALPHABET_KEY_URLSAFE}\n",
    ],
)
def test_parse_master_key_reads_both_alphabets_with_or_without_padding(text: str) -> None:
    assert sealing.parse_master_key(text) == ALPHABET_KEY


@pytest.mark.parametrize(
    "raw",
    [
        bytes([0xFB, 0xFF]) * 15 + b"\xfb",  # 31 bytes: 44 characters, two of them '='
        bytes([0xFB, 0xFF]) * 16 + b"\xfb",  # 33 bytes: 44 characters, no '='
        bytes([0xFB, 0xFF]) * 8,  # 16 bytes: 24 characters, two of them '='
        bytes([0xFB, 0xFF]) * 8 + b"\xfb",  # 17 bytes: 24 characters, one '='
    ],
)
def test_parse_master_key_reports_the_decoded_length(raw: bytes) -> None:
    message = f"JICAI_MASTER_KEY must decode to 32 bytes, not {len(raw)}"
    for text in (
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b64encode(raw).decode().rstrip("="),
    ):
        with raises_exactly(sealing.MasterKeyError, message):
            sealing.parse_master_key(text)


@pytest.mark.parametrize("text", ["", "  ", "\n\t"])
def test_parse_master_key_refuses_an_empty_key(text: str) -> None:
    with raises_exactly(sealing.MasterKeyError, "JICAI_MASTER_KEY is empty"):
        sealing.parse_master_key(text)


@pytest.mark.parametrize(
    "text",
    [
        "not base64 at all!",
        ALPHABET_KEY_URLSAFE + "=",  # too much padding
        ALPHABET_KEY_URLSAFE[:-3],  # 41 characters: no padding makes that whole bytes
        "A",
        "国药",
        ALPHABET_KEY_URLSAFE.replace("-", "*"),
    ],
)
def test_parse_master_key_refuses_invalid_base64(text: str) -> None:
    with raises_exactly(sealing.MasterKeyError, "JICAI_MASTER_KEY is not valid base64"):
        sealing.parse_master_key(text)


def test_master_key_error_is_a_sealing_error() -> None:
    assert issubclass(sealing.MasterKeyError, sealing.SealingError)
    assert issubclass(sealing.UnsealError, sealing.SealingError)


@pytest.mark.parametrize(
    "data_key,master_key",
    [(b"k" * 31, b"m" * 32), (b"k" * 32, b"m" * 31), (b"k" * 33, b"m" * 33)],
)
def test_wrap_key_refuses_keys_that_are_not_32_bytes(data_key: bytes, master_key: bytes) -> None:
    with raises_exactly(sealing.SealingError, "keys must be 32 bytes"):
        sealing.wrap_key(data_key=data_key, master_key=master_key)


def test_exact_messages_of_unwrap_and_unseal() -> None:
    wrapped = sealing.wrap_key(data_key=FIXED_KEY, master_key=ALPHABET_KEY)
    with raises_exactly(sealing.UnsealError, "the round key does not unwrap with this master key"):
        sealing.unwrap_key(wrapped=wrapped, master_key=FIXED_KEY)
    with raises_exactly(sealing.UnsealError, "the sealed bid failed authentication"):
        sealing.unseal(ciphertext=sealed_with(new_key()), identity=IDENTITY, private_key=new_key())


WITHDRAWAL = sealing.SealedTerms(unit_price=None, annual_capacity=None, salt="ab" * 16)


def test_payload_round_trip_of_a_withdrawal_and_of_partial_terms() -> None:
    assert sealing.SealedTerms.from_bytes(WITHDRAWAL.to_bytes()) == WITHDRAWAL
    assert WITHDRAWAL.canonical() == (
        b'{"annual_capacity":null,"format":"jicai-sealed-bid/2",'
        b'"salt":"abababababababababababababababab","unit_price":null}'
    )
    price_only = replace(WITHDRAWAL, unit_price=D("2.5000"))
    assert sealing.SealedTerms.from_bytes(price_only.to_bytes()) == price_only
    capacity_only = replace(WITHDRAWAL, annual_capacity=0)
    assert sealing.SealedTerms.from_bytes(capacity_only.to_bytes()) == capacity_only


def test_a_payload_that_fills_the_padded_size_is_refused() -> None:
    """159 bytes still pad (one byte of 0x01); 160 would need a whole extra block."""
    fits = replace(WITHDRAWAL, salt="a" * 77)
    assert len(fits.canonical()) == 159
    assert fits.to_bytes() == fits.canonical() + b"\x01"
    assert sealing.SealedTerms.from_bytes(fits.to_bytes()) == fits
    too_long = replace(WITHDRAWAL, salt="a" * 78)
    assert len(too_long.canonical()) == 160
    with raises_exactly(sealing.SealingError, "the sealed payload is too long to pad"):
        too_long.to_bytes()


def padded(body: bytes) -> bytes:
    return body + bytes([160 - len(body)]) * (160 - len(body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"annual_capacity":null,"format":"jicai-sealed-bid/1","salt":"ab","unit_price":null}',
        b'{"annual_capacity":null,"salt":"ab","unit_price":null}',
    ],
)
def test_a_payload_of_another_format_is_refused(body: bytes) -> None:
    with raises_exactly(sealing.SealingError, "unknown sealed payload format"):
        sealing.SealedTerms.from_bytes(padded(body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"annual_capacity":null,"format":"jicai-sealed-bid/2","salt":"ab"}',
        b'{"annual_capacity":"x","format":"jicai-sealed-bid/2","salt":"ab","unit_price":null}',
        b'{"annual_capacity":null,"format":"jicai-sealed-bid/2","salt":"ab","unit_price":"x"}',
        b"[]",
        b"not json",
        b"\xff\xfe",
    ],
)
def test_a_malformed_payload_is_refused_with_its_message(body: bytes) -> None:
    with raises_exactly(sealing.SealingError, "the sealed payload is malformed"):
        sealing.SealedTerms.from_bytes(padded(body))


def test_exact_message_of_a_payload_of_the_wrong_length() -> None:
    for data in (b"", TERMS.to_bytes() + b"\x00", TERMS.to_bytes()[:-1]):
        with raises_exactly(sealing.SealingError, "the sealed payload has the wrong length"):
            sealing.SealedTerms.from_bytes(data)


# The stored receipt format, byte for byte: the receipt of TERMS under IDENTITY at
# RECEIPT_TIME, its canonical JSON (UTF-8, the product code unescaped) and its SHA-256,
# computed once with hashlib over these bytes.
RECEIPT_TIME = "2026-11-22T12:00:00.000001+00:00"
RECEIPT_BYTES = (
    '{"content":{"action":"revise","annual_capacity":"1000000","bid":10,"item":"D-ATV-OS",'
    '"manufacturer":"91110100000000001X","product":"国药准字H20193001","round":"R1",'
    '"specification":"20MG","unit_price":"1.2345","version":2},"format":"jicai-bid-receipt/1",'
    '"salt":"abababababababababababababababab","server_time":"2026-11-22T12:00:00.000001+00:00"}'
).encode()
RECEIPT_HASH = "8d2a0ddbbfb77db875ea44d69644c15063b4a938dd88fcac19db71a16d629c58"


def test_receipt_document_fixed_vector() -> None:
    document = sealing.receipt_document(identity=IDENTITY, terms=TERMS, server_time=RECEIPT_TIME)
    assert document == {
        "format": "jicai-bid-receipt/1",
        "content": {
            "round": "R1",
            "item": "D-ATV-OS",
            "specification": "20MG",
            "manufacturer": "91110100000000001X",
            "product": "国药准字H20193001",
            "bid": 10,
            "version": 2,
            "action": "revise",
            "unit_price": "1.2345",
            "annual_capacity": "1000000",
        },
        "server_time": RECEIPT_TIME,
        "salt": "abababababababababababababababab",
    }
    assert sealing.canonical_json(document) == RECEIPT_BYTES
    assert sealing.receipt_hash(document) == RECEIPT_HASH
    assert sealing.receipt_hash({**document, "hash": "x", "log": {"seq": 1}}) == RECEIPT_HASH
    assert sealing.receipt_verify({**document, "hash": RECEIPT_HASH}, RECEIPT_HASH)
    assert sealing.receipt_verify({**document, "hash": RECEIPT_HASH.upper()}, f" {RECEIPT_HASH} ")


def test_receipt_document_of_a_withdrawal() -> None:
    identity = replace(IDENTITY, action="withdraw", product_id=None, product_code=None)
    document = sealing.receipt_document(
        identity=identity, terms=WITHDRAWAL, server_time=RECEIPT_TIME
    )
    assert document["content"] == {
        "round": "R1",
        "item": "D-ATV-OS",
        "specification": "20MG",
        "manufacturer": "91110100000000001X",
        "product": None,
        "bid": 10,
        "version": 2,
        "action": "withdraw",
        "unit_price": None,
        "annual_capacity": None,
    }
    partial = replace(WITHDRAWAL, annual_capacity=7)
    content = sealing.receipt_document(identity=identity, terms=partial, server_time="t")["content"]
    assert (content["unit_price"], content["annual_capacity"]) == (None, "7")


@pytest.mark.parametrize("bad", [object(), {1, 2}, float("nan"), D("1")])
def test_a_receipt_that_cannot_be_hashed_is_not_verified(bad: object) -> None:
    document = {"format": "jicai-bid-receipt/1", "content": bad, "hash": RECEIPT_HASH}
    assert sealing.receipt_verify(document) is False


def test_a_receipt_without_a_string_hash_is_not_verified() -> None:
    document = sealing.receipt_document(identity=IDENTITY, terms=TERMS, server_time=RECEIPT_TIME)
    assert sealing.receipt_verify(document) is False
    assert sealing.receipt_verify({**document, "hash": None}) is False
    assert sealing.receipt_verify({**document, "hash": int(RECEIPT_HASH, 16)}) is False
    assert sealing.receipt_verify({**document, "hash": RECEIPT_HASH}) is True

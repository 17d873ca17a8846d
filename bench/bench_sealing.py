"""Sealing one bid, without the database: HPKE to the round's public key (X25519,
HKDF-SHA256, AES-256-GCM, the payload padded to 160 bytes) beside the former seal of the
same padded payload, AES-256-GCM under a symmetric round data key with the same associated
data. Also the opening's side: HPKE open (one X25519 exchange per bid) beside AES-GCM
decryption, and the k-of-n key rebuild (Shamir, 2 of 3) that the ceremony does once.

Run alone: ``python -m bench.run sealing``.
"""

from __future__ import annotations

import os
from decimal import Decimal

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.common import Row, load, stopwatch
from bidding import custody, sealing

N = 2000


def _identity(i: int) -> sealing.BidIdentity:
    return sealing.BidIdentity(
        round_code="BENCH-1",
        round_id=1,
        bid_id=i,
        version=1,
        manufacturer_id=7,
        manufacturer_code="91110000000000000X",
        item_code="D-ATV-OS",
        specification_code="20MG",
        product_id=3,
        product_code="H20260001",
        action="submit",
    )


def run() -> list[Row]:
    private = custody.generate_private_key()
    public = custody.public_bytes(private)
    data_key = AESGCM.generate_key(bit_length=256)
    terms = [
        sealing.SealedTerms(
            unit_price=Decimal("1.2345") + i, annual_capacity=100000 + i, salt=sealing.new_salt()
        )
        for i in range(N)
    ]
    identities = [_identity(i) for i in range(N)]
    with stopwatch() as hpke_seal:
        sealed = [
            sealing.seal(terms=t, identity=d, public_key=public)
            for t, d in zip(terms, identities, strict=True)
        ]
    aes = AESGCM(data_key)
    nonces = [os.urandom(12) for _ in range(N)]
    with stopwatch() as aes_seal:
        former = [
            aes.encrypt(n, t.to_bytes(), d.associated_data())
            for n, t, d in zip(nonces, terms, identities, strict=True)
        ]
    with stopwatch() as hpke_open:
        opened = [
            sealing.unseal(ciphertext=c, identity=d, private_key=private)
            for c, d in zip(sealed, identities, strict=True)
        ]
    with stopwatch() as aes_open:
        for n, c, d in zip(nonces, former, identities, strict=True):
            aes.decrypt(n, c, d.associated_data())
    assert [o.unit_price for o in opened] == [t.unit_price for t in terms]
    shares = custody.split_private_key(private, threshold=2, count=3)
    with stopwatch() as rebuild:
        custody.combine_shares(shares[:2], public_key=public)
    note = f"{N} bids; {load()}; every seal {sealing.SEALED_BID_BYTES} bytes"
    benchmark = "sealing a bid (no database)"
    return [
        Row(
            benchmark,
            "seal one bid: HPKE to the round key",
            hpke_seal[0] / N * 1e6,
            "µs",
            baseline="AES-256-GCM under a round data key (the former seal)",
            baseline_value=aes_seal[0] / N * 1e6,
            baseline_unit="µs",
            note=note,
        ),
        Row(
            benchmark,
            "open one bid: HPKE",
            hpke_open[0] / N * 1e6,
            "µs",
            baseline="AES-256-GCM decryption",
            baseline_value=aes_open[0] / N * 1e6,
            baseline_unit="µs",
            note=note,
        ),
        Row(
            benchmark,
            "rebuild the round key from 2 of 3 shares (once per opening)",
            rebuild[0] * 1e3,
            "ms",
            note=note,
        ),
    ]

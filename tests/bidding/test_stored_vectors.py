"""Fixed vectors of the persisted key-custody and bid-log formats: records written once
and committed under ``tests/bidding/vectors/`` must keep opening and verifying.

A change to any of these formats is a data migration (every stored round would stop
opening), never an accident of a refactoring or a library upgrade. The sealed payload and
the receipt have their vectors in ``test_sealing.py`` (``VECTOR_CIPHERTEXT``,
``test_padded_payload_test_vector``, ``test_receipt_document_fixed_vector``); the bid-log
entry's encoding and the RFC 6962 tree heads in ``test_bidlog.py``. This file adds:

* ``custody-v1.json``: a 2-of-3 opening-key custody as the database keeps it, written
  once by ``bidding.custody`` (random nonces and keys, so it cannot be recomputed, only
  opened): per official the custody public key, ``custody_private_sealed`` (AES-256-GCM
  under the master key around the scrypt passphrase envelope of the official's custody
  private key), ``sealed_share`` (HPKE to the custody key, bound to round and share),
  ``presented_share`` (a share held during a ceremony, sealed under the master key) and
  the plain Shamir share it contains. The round key they rebuild is the one
  ``test_sealing.VECTOR_CIPHERTEXT`` was sealed to, so the chain ends at a stored bid.
* ``bid-log-v1.json``: a three-entry bid log (entries with their chained previous roots,
  leaf hashes and the head after each entry) computed with ``hashlib`` alone, apart from
  ``bidding.bidlog``.
* The round data key wrap (RFC 3394, still used for rounds sealed before HPKE): the
  RFC's own 256-bit test vector.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bidding import bidlog, custody, sealing
from bidding.keys import official_aad
from bidding.services.ceremony import _share_info
from tests.bidding.test_sealing import IDENTITY, TERMS, VECTOR_CIPHERTEXT, VECTOR_PRIVATE_KEY

VECTORS = Path(__file__).resolve().parent / "vectors"
MASTER_KEY = bytes(range(32))  # the master key the custody vector was sealed under
CUSTODY_ID, ROUND_ID = 5, 9
PASSPHRASES = {
    1: "opening official one",
    2: "second official's phrase",
    3: "第三位开标官员的开标口令短语",
}
USERS = {1: 41, 2: 42, 3: 43}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


CUSTODY = load("custody-v1.json")
OFFICIALS = {o["index"]: o for o in CUSTODY["officials"]}


def official(index: int) -> SimpleNamespace:
    return SimpleNamespace(custody_id=CUSTODY_ID, user_id=USERS[index])


def test_the_binding_strings_are_unchanged() -> None:
    """What each sealed record is bound to (its AAD or HPKE info) is part of its format."""
    assert official_aad(official(2), "private") == b"jicai-custody/1|private|custody 5|user 42"
    assert official_aad(official(2), "held") == b"jicai-custody/1|held|custody 5|user 42"
    assert _share_info(SimpleNamespace(round_id=ROUND_ID), 3) == b"jicai-share/1|round 9|share 3"


def open_custody_key(index: int) -> custody.X25519PrivateKey:
    """The official's custody private key: master key, then passphrase (scrypt)."""
    stored = OFFICIALS[index]
    aad = official_aad(official(index), "private")
    envelope = custody.master_open(
        sealed=bytes.fromhex(stored["custody_private_sealed"]), master_key=MASTER_KEY, aad=aad
    )
    assert envelope[:4] == bytes([1, 12, 8, 1])  # version 1, scrypt 2^12 x 8 x 1
    secret = custody.passphrase_open(envelope=envelope, passphrase=PASSPHRASES[index], aad=aad)
    key = custody.private_key_from(secret)
    assert custody.public_bytes(key).hex() == stored["custody_public"]
    return key


def open_share(index: int) -> custody.Share:
    stored = OFFICIALS[index]
    data = custody.hpke_open(
        ciphertext=bytes.fromhex(stored["sealed_share"]),
        private_key=open_custody_key(index),
        info=_share_info(SimpleNamespace(round_id=ROUND_ID), index),
    )
    return custody.Share(index=index, data=data)


@pytest.mark.parametrize("index", [1, 2, 3])
def test_each_stored_share_opens_to_its_shamir_share(index: int) -> None:
    stored = OFFICIALS[index]
    assert len(bytes.fromhex(stored["custody_private_sealed"])) == 12 + 4 + 16 + 12 + 32 + 16 + 16
    assert len(bytes.fromhex(stored["sealed_share"])) == 32 + custody.HPKE_OVERHEAD
    assert open_share(index) == custody.Share(index=index, data=bytes.fromhex(stored["share_data"]))
    held = custody.master_open(
        sealed=bytes.fromhex(stored["presented_share"]),
        master_key=MASTER_KEY,
        aad=official_aad(official(index), "held"),
    )
    assert held.hex() == stored["share_data"]


@pytest.mark.parametrize("pair", list(itertools.combinations([1, 2, 3], 2)))
def test_any_two_stored_shamir_shares_rebuild_the_round_key(pair: tuple[int, int]) -> None:
    """The plain shares (PyCryptodome's Shamir over GF(2^128), two 16-byte halves each):
    a library upgrade that changed the field's representation would fail here."""
    shares = [custody.Share(index=i, data=bytes.fromhex(OFFICIALS[i]["share_data"])) for i in pair]
    public = bytes.fromhex(CUSTODY["round_public"])
    key = custody.combine_shares(shares, public_key=public)
    assert custody.private_bytes(key) == VECTOR_PRIVATE_KEY
    with pytest.raises(custody.CustodyError, match="do not rebuild"):
        custody.combine_shares(shares[:1], public_key=public)


def test_the_stored_custody_opens_the_stored_bid() -> None:
    """The whole chain as at a ceremony: two officials' passphrases open their shares,
    the shares rebuild the round key, the round key opens a stored sealed bid."""
    public = bytes.fromhex(CUSTODY["round_public"])
    key = custody.combine_shares([open_share(3), open_share(1)], public_key=public)
    assert custody.public_bytes(key) == public
    assert sealing.unseal(ciphertext=VECTOR_CIPHERTEXT, identity=IDENTITY, private_key=key) == TERMS


def test_the_stored_custody_refuses_a_wrong_passphrase_or_master_key() -> None:
    stored = OFFICIALS[2]
    aad = official_aad(official(2), "private")
    envelope = custody.master_open(
        sealed=bytes.fromhex(stored["custody_private_sealed"]), master_key=MASTER_KEY, aad=aad
    )
    with pytest.raises(custody.WrongPassphraseError):
        custody.passphrase_open(envelope=envelope, passphrase=PASSPHRASES[1], aad=aad)
    with pytest.raises(custody.CustodyError, match="master key"):
        custody.master_open(
            sealed=bytes.fromhex(stored["custody_private_sealed"]),
            master_key=bytes(32),
            aad=aad,
        )
    with pytest.raises(custody.CustodyError, match="master key"):  # moved to another user
        custody.master_open(
            sealed=bytes.fromhex(stored["custody_private_sealed"]),
            master_key=MASTER_KEY,
            aad=official_aad(official(3), "private"),
        )


def test_a_stored_share_is_bound_to_its_round_and_index() -> None:
    stored = OFFICIALS[1]
    with pytest.raises(custody.CustodyError, match="authentication"):
        custody.hpke_open(
            ciphertext=bytes.fromhex(stored["sealed_share"]),
            private_key=open_custody_key(1),
            info=_share_info(SimpleNamespace(round_id=ROUND_ID + 1), 1),
        )


# --- the round data key wrap ------------------------------------------------------------------

# RFC 3394 section 4.6: 256 bits of key data with a 256-bit KEK.
RFC3394_KEK = bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
RFC3394_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
RFC3394_WRAPPED = bytes.fromhex(
    "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"
)


def test_round_data_key_wrap_matches_rfc_3394() -> None:
    assert sealing.wrap_key(data_key=RFC3394_KEY, master_key=RFC3394_KEK) == RFC3394_WRAPPED
    assert sealing.unwrap_key(wrapped=RFC3394_WRAPPED, master_key=RFC3394_KEK) == RFC3394_KEY


# --- a stored bid log -------------------------------------------------------------------------

LOG = load("bid-log-v1.json")


def test_the_stored_bid_log_verifies() -> None:
    entries = [bidlog.Entry.from_mapping(e) for e in LOG["entries"]]
    leaves = [e.leaf_hash() for e in entries]
    assert [leaf.hex() for leaf in leaves] == LOG["leaves"]
    roots = [bytes.fromhex(r) for r in LOG["roots"]]
    for size in range(len(leaves) + 1):
        assert bidlog.merkle_root(leaves[:size]) == roots[size]
    for position, entry in enumerate(entries):
        assert entry.position == position
        assert entry.previous_root == LOG["roots"][position]  # each entry names the head before it
    head, size = roots[-1], len(leaves)
    for index, leaf in enumerate(leaves):
        proof = bidlog.inclusion_proof(index, leaves)
        assert bidlog.verify_inclusion(index, size, leaf, proof, head)
    for old in range(1, size + 1):
        proof = bidlog.consistency_proof(old, leaves)
        assert bidlog.verify_consistency(old, size, roots[old], head, proof)


def test_a_changed_stored_entry_no_longer_verifies() -> None:
    changed = dict(LOG["entries"][1], action="withdraw")
    leaves = [bytes.fromhex(h) for h in LOG["leaves"]]
    forged = bidlog.Entry.from_mapping(changed).leaf_hash()
    proof = bidlog.inclusion_proof(1, leaves)
    assert not bidlog.verify_inclusion(1, 3, forged, proof, bytes.fromhex(LOG["roots"][3]))

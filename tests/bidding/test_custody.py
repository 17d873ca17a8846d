"""Opening-key custody (``bidding.custody``), pure: key sizes, the k-of-n ranges, share
checks, the passphrase envelope's layout and limits, the master-key layer, each refusal
with its exact message (docs/sealed-bidding.md, "Opening keys"). The stored formats'
fixed vectors are in ``test_stored_vectors.py``."""

from __future__ import annotations

import itertools

import pytest

from bidding import custody
from tests.bidding.test_sealing import raises_exactly

FAST = 10  # scrypt 2^10 in tests; the envelope carries it, so opening needs nothing else
PASSPHRASE = "correct horse battery"
AAD = b"jicai-custody/1|private|custody 1|user 2"


@pytest.fixture(scope="module")
def key() -> custody.X25519PrivateKey:
    return custody.private_key_from(bytes(range(1, 33)))


# --- keys and HPKE ------------------------------------------------------------------------------


def test_key_bytes_round_trip(key: custody.X25519PrivateKey) -> None:
    raw = custody.private_bytes(key)
    assert raw == bytes(range(1, 33))
    assert len(custody.public_bytes(key)) == 32
    assert custody.public_bytes(custody.private_key_from(raw)) == custody.public_bytes(key)
    other = custody.generate_private_key()
    assert len(custody.private_bytes(other)) == 32
    assert custody.private_bytes(other) != raw


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_a_private_key_is_32_bytes(size: int) -> None:
    with raises_exactly(custody.CustodyError, "an X25519 private key is 32 bytes"):
        custody.private_key_from(bytes(size))


@pytest.mark.parametrize("size", [0, 31, 33])
def test_a_public_key_is_32_bytes(size: int) -> None:
    with raises_exactly(custody.CustodyError, "an X25519 public key is 32 bytes"):
        custody.hpke_seal(plaintext=b"x", public_key=bytes(size), info=b"i")


def test_hpke_round_trip_layout_and_binding(key: custody.X25519PrivateKey) -> None:
    public = custody.public_bytes(key)
    sealed = custody.hpke_seal(plaintext=b"share data", public_key=public, info=b"info 1")
    assert len(sealed) == len(b"share data") + custody.HPKE_OVERHEAD == 10 + 48
    assert custody.hpke_open(ciphertext=sealed, private_key=key, info=b"info 1") == b"share data"
    again = custody.hpke_seal(plaintext=b"share data", public_key=public, info=b"info 1")
    assert again[:32] != sealed[:32]  # a fresh encapsulated key each time
    message = "the HPKE ciphertext failed authentication"
    with raises_exactly(custody.CustodyError, message):
        custody.hpke_open(ciphertext=sealed, private_key=key, info=b"info 2")
    with raises_exactly(custody.CustodyError, message):
        custody.hpke_open(
            ciphertext=sealed, private_key=custody.generate_private_key(), info=b"info 1"
        )
    with raises_exactly(custody.CustodyError, message):  # too short to hold enc and a tag
        custody.hpke_open(ciphertext=sealed[:20], private_key=key, info=b"info 1")


# --- Shamir k-of-n ---------------------------------------------------------------------------


@pytest.mark.parametrize(("threshold", "count"), [(1, 3), (0, 2), (3, 2), (2, 1), (2, 256)])
def test_split_refuses_k_and_n_outside_2_k_n_255(
    key: custody.X25519PrivateKey, threshold: int, count: int
) -> None:
    with raises_exactly(custody.CustodyError, "need 2 <= k <= n <= 255"):
        custody.split_private_key(key, threshold=threshold, count=count)


@pytest.mark.parametrize(("threshold", "count"), [(2, 2), (2, 3), (3, 5), (5, 5)])
def test_any_k_of_n_shares_rebuild_the_key_and_k_minus_1_do_not(
    key: custody.X25519PrivateKey, threshold: int, count: int
) -> None:
    public = custody.public_bytes(key)
    shares = custody.split_private_key(key, threshold=threshold, count=count)
    assert [s.index for s in shares] == list(range(1, count + 1))
    assert all(len(s.data) == 32 for s in shares)
    assert len({s.data[:16] for s in shares}) == count  # distinct points, both halves
    assert len({s.data[16:] for s in shares}) == count
    raw = custody.private_bytes(key)
    for chosen in itertools.combinations(shares, threshold):
        rebuilt = custody.combine_shares(list(reversed(chosen)), public_key=public)
        assert custody.private_bytes(rebuilt) == raw
    for chosen in itertools.combinations(shares, threshold - 1):
        with raises_exactly(
            custody.CustodyError, "the shares do not rebuild the round's private key"
        ):
            custody.combine_shares(list(chosen), public_key=public)


def test_the_largest_split(key: custody.X25519PrivateKey) -> None:
    shares = custody.split_private_key(key, threshold=2, count=255)
    assert [s.index for s in shares] == list(range(1, 256))
    public = custody.public_bytes(key)
    rebuilt = custody.combine_shares([shares[0], shares[254]], public_key=public)
    assert custody.private_bytes(rebuilt) == custody.private_bytes(key)


def test_each_half_is_shared_separately(key: custody.X25519PrivateKey) -> None:
    """A share is the share of the first 16 bytes, then of the last 16: swapping the
    halves of every share rebuilds the key with its halves swapped, which is refused."""
    shares = custody.split_private_key(key, threshold=2, count=3)
    swapped = [custody.Share(index=s.index, data=s.data[16:] + s.data[:16]) for s in shares[:2]]
    raw = custody.private_bytes(key)
    with raises_exactly(custody.CustodyError, "the shares do not rebuild the round's private key"):
        custody.combine_shares(swapped, public_key=custody.public_bytes(key))
    target = custody.private_key_from(raw[16:] + raw[:16])
    rebuilt = custody.combine_shares(swapped, public_key=custody.public_bytes(target))
    assert custody.private_bytes(rebuilt) == raw[16:] + raw[:16]


def test_combine_refuses_repeated_or_malformed_shares(key: custody.X25519PrivateKey) -> None:
    public = custody.public_bytes(key)
    first, second, _ = custody.split_private_key(key, threshold=2, count=3)
    message = "shares must be distinct and 32 bytes each"
    with raises_exactly(custody.CustodyError, message):
        custody.combine_shares([first, first], public_key=public)
    with raises_exactly(custody.CustodyError, message):  # same index, other data
        custody.combine_shares([first, custody.Share(first.index, second.data)], public_key=public)
    for data in (first.data[:31], first.data + b"\x00"):
        with raises_exactly(custody.CustodyError, message):
            custody.combine_shares([custody.Share(first.index, data), second], public_key=public)
    damaged = custody.Share(first.index, bytes([first.data[0] ^ 1]) + first.data[1:])
    with raises_exactly(custody.CustodyError, "the shares do not rebuild the round's private key"):
        custody.combine_shares([damaged, second], public_key=public)


# --- the passphrase envelope -----------------------------------------------------------------


def test_the_passphrase_envelope_layout() -> None:
    secret = bytes(range(32))
    envelope = custody.passphrase_seal(secret=secret, passphrase=PASSPHRASE, aad=AAD, log2_n=FAST)
    assert envelope[:4] == bytes([1, FAST, 8, 1])  # version, log2(N), r, p
    assert len(envelope) == 4 + 16 + 12 + 32 + 16  # header, salt, nonce, ciphertext, tag
    assert secret not in envelope
    assert custody.passphrase_open(envelope=envelope, passphrase=PASSPHRASE, aad=AAD) == secret
    other = custody.passphrase_seal(secret=secret, passphrase=PASSPHRASE, aad=AAD, log2_n=FAST)
    assert other[4:20] != envelope[4:20]  # fresh salt
    assert other[20:32] != envelope[20:32]  # fresh nonce


def test_the_default_scrypt_cost() -> None:
    """2^15 x 8 x 1 (about 32 MiB per try) unless a cost is given."""
    envelope = custody.passphrase_seal(secret=b"s", passphrase=PASSPHRASE, aad=AAD)
    assert envelope[:4] == bytes([1, 15, 8, 1])
    assert custody.passphrase_open(envelope=envelope, passphrase=PASSPHRASE, aad=AAD) == b"s"


def test_a_passphrase_has_at_least_12_characters() -> None:
    with raises_exactly(custody.CustodyError, "passphrase too short"):
        custody.passphrase_seal(secret=b"s", passphrase="x" * 11, aad=AAD, log2_n=FAST)
    with raises_exactly(custody.CustodyError, "passphrase too short"):
        custody.passphrase_seal(secret=b"s", passphrase="", aad=AAD, log2_n=FAST)
    twelve = "开标口令" * 3  # 12 characters (36 bytes): characters count, not bytes
    envelope = custody.passphrase_seal(secret=b"s", passphrase=twelve, aad=AAD, log2_n=FAST)
    assert custody.passphrase_open(envelope=envelope, passphrase=twelve, aad=AAD) == b"s"
    with raises_exactly(custody.CustodyError, "passphrase too short"):
        custody.passphrase_seal(secret=b"s", passphrase="开标口令" * 2, aad=AAD, log2_n=FAST)


def test_the_envelope_refuses_a_wrong_passphrase_or_aad() -> None:
    envelope = custody.passphrase_seal(secret=b"s", passphrase=PASSPHRASE, aad=AAD, log2_n=FAST)
    message = "the passphrase does not open this share"
    with raises_exactly(custody.WrongPassphraseError, message):
        custody.passphrase_open(envelope=envelope, passphrase=PASSPHRASE + " ", aad=AAD)
    with raises_exactly(custody.WrongPassphraseError, message):
        custody.passphrase_open(envelope=envelope, passphrase=PASSPHRASE, aad=AAD + b"x")
    altered = envelope[:1] + bytes([FAST + 1]) + envelope[2:]  # the header is authenticated
    with raises_exactly(custody.WrongPassphraseError, message):
        custody.passphrase_open(envelope=altered, passphrase=PASSPHRASE, aad=AAD)
    assert issubclass(custody.WrongPassphraseError, custody.CustodyError)


@pytest.mark.parametrize("envelope", [b"", b"\x01\x0a\x08", b"\x02\x0a\x08\x01" + bytes(60)])
def test_an_unknown_envelope_is_refused(envelope: bytes) -> None:
    with raises_exactly(custody.CustodyError, "unknown passphrase envelope"):
        custody.passphrase_open(envelope=envelope, passphrase=PASSPHRASE, aad=AAD)


# --- the master-key layer ------------------------------------------------------------------------


def test_master_seal_layout_and_refusals() -> None:
    master = bytes(range(32))
    sealed = custody.master_seal(data=b"record", master_key=master, aad=AAD)
    assert len(sealed) == 12 + 6 + 16  # nonce, ciphertext, tag
    assert custody.master_open(sealed=sealed, master_key=master, aad=AAD) == b"record"
    assert custody.master_seal(data=b"record", master_key=master, aad=AAD)[:12] != sealed[:12]
    message = "this record does not open with the configured master key"
    with raises_exactly(custody.CustodyError, message):
        custody.master_open(sealed=sealed, master_key=bytes(32), aad=AAD)
    with raises_exactly(custody.CustodyError, message):
        custody.master_open(sealed=sealed, master_key=master, aad=b"another record")
    with raises_exactly(custody.CustodyError, message):
        custody.master_open(sealed=sealed[:-1], master_key=master, aad=AAD)
    with raises_exactly(custody.CustodyError, message):  # not even a nonce
        custody.master_open(sealed=b"", master_key=master, aad=AAD)

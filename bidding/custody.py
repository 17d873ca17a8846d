"""Opening-key custody: a round's X25519 key pair, k-of-n shares, passphrase envelopes.

Pure Python on maintained libraries, no Django (docs/sealed-bidding.md, "Opening keys"):

* HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256 + AES-256-GCM, from
  ``cryptography`` (``cryptography.hazmat.primitives.hpke``): bids are sealed to a round's
  public key (``bidding.sealing.seal``) and each share to its official's custody key;
* Shamir secret sharing from PyCryptodome (``Crypto.Protocol.SecretSharing.Shamir``, over
  GF(2^128)): it shares 16-byte secrets, so the 32-byte private key is shared as its two
  halves, each split k-of-n with the same share indices (the documented way for longer
  secrets); a share is the two 16-byte halves side by side;
* scrypt (``cryptography``) derives an AES-256-GCM key from an official's passphrase; it
  seals that official's custody private key, which opens the official's share;
* AES-256-GCM under the master key (``JICAI_MASTER_KEY``) is the outer layer of whatever
  the database keeps for an official, so a database copy alone does not even allow
  guessing passphrases offline.

Nothing here writes a key anywhere; the caller keeps private keys in memory only.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from Crypto.Protocol.SecretSharing import Shamir
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
HPKE_OVERHEAD = 32 + 16  # the encapsulated X25519 key, the AES-GCM tag
KEY_BYTES = 32
HALF = 16
NONCE_BYTES = 12
SALT_BYTES = 16
ENVELOPE_VERSION = 1
# scrypt cost: 2^15 x 8 x 1 is about 32 MiB and a fifth of a second per try here. The
# parameters travel with each envelope, so raising them later keeps old envelopes readable.
SCRYPT_LOG2_N = 15
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSPHRASE_LENGTH = 12


class CustodyError(Exception):
    """A key, share or envelope failed a check. Messages never carry key material."""


class WrongPassphraseError(CustodyError):
    """The passphrase does not open this official's envelope."""


# --- key pairs and HPKE --------------------------------------------------------------------


def generate_private_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def private_bytes(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def private_key_from(raw: bytes) -> X25519PrivateKey:
    if len(raw) != KEY_BYTES:
        raise CustodyError("an X25519 private key is 32 bytes")
    return X25519PrivateKey.from_private_bytes(raw)


def hpke_seal(*, plaintext: bytes, public_key: bytes, info: bytes) -> bytes:
    """HPKE base-mode single-shot encryption: enc (32 bytes) followed by the ciphertext."""
    if len(public_key) != KEY_BYTES:
        raise CustodyError("an X25519 public key is 32 bytes")
    return SUITE.encrypt(plaintext, X25519PublicKey.from_public_bytes(public_key), info=info)


def hpke_open(*, ciphertext: bytes, private_key: X25519PrivateKey, info: bytes) -> bytes:
    try:
        return SUITE.decrypt(ciphertext, private_key, info=info)
    except (InvalidTag, ValueError) as exc:
        raise CustodyError("the HPKE ciphertext failed authentication") from exc


# --- Shamir k-of-n -------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    index: int  # 1..n, the x coordinate of both halves
    data: bytes  # 32 bytes: the share of the first half, then of the second


def split_private_key(key: X25519PrivateKey, *, threshold: int, count: int) -> list[Share]:
    """Split ``key`` so that any ``threshold`` of ``count`` shares rebuild it."""
    if not 2 <= threshold <= count <= 255:
        raise CustodyError("need 2 <= k <= n <= 255")
    raw = private_bytes(key)
    first = Shamir.split(threshold, count, raw[:HALF])
    second = Shamir.split(threshold, count, raw[HALF:])
    shares = []
    for (i, a), (j, b) in zip(first, second, strict=True):
        assert i == j
        shares.append(Share(index=i, data=bytes(a) + bytes(b)))
    return shares


def combine_shares(shares: list[Share], *, public_key: bytes) -> X25519PrivateKey:
    """Rebuild the private key from at least k shares and check it against ``public_key``.

    Fewer than k (or a corrupted share) give some other number, which the check against
    the stored public key refuses: the caller never uses a wrong key.
    """
    if len({s.index for s in shares}) != len(shares) or any(len(s.data) != 32 for s in shares):
        raise CustodyError("shares must be distinct and 32 bytes each")
    first = Shamir.combine([(s.index, s.data[:HALF]) for s in shares])
    second = Shamir.combine([(s.index, s.data[HALF:]) for s in shares])
    key = private_key_from(bytes(first) + bytes(second))
    if public_bytes(key) != public_key:
        raise CustodyError("the shares do not rebuild the round's private key")
    return key


# --- envelopes -----------------------------------------------------------------------------


def passphrase_seal(
    *, secret: bytes, passphrase: str, aad: bytes, log2_n: int = SCRYPT_LOG2_N
) -> bytes:
    """Encrypt ``secret`` under a key derived from ``passphrase`` with scrypt.

    Layout: version, log2(N), r, p (one byte each), salt (16), nonce (12), AES-GCM output.
    """
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise CustodyError("passphrase too short")
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    key = _scrypt(passphrase, salt, log2_n, SCRYPT_R, SCRYPT_P)
    header = struct.pack("BBBB", ENVELOPE_VERSION, log2_n, SCRYPT_R, SCRYPT_P)
    return header + salt + nonce + AESGCM(key).encrypt(nonce, secret, header + aad)


def passphrase_open(*, envelope: bytes, passphrase: str, aad: bytes) -> bytes:
    header, rest = envelope[:4], envelope[4:]
    if len(header) != 4 or header[0] != ENVELOPE_VERSION:
        raise CustodyError("unknown passphrase envelope")
    _, log2_n, r, p = struct.unpack("BBBB", header)
    salt, nonce, body = rest[:SALT_BYTES], rest[SALT_BYTES : SALT_BYTES + NONCE_BYTES], rest[28:]
    key = _scrypt(passphrase, salt, log2_n, r, p)
    try:
        return AESGCM(key).decrypt(nonce, body, header + aad)
    except InvalidTag as exc:
        raise WrongPassphraseError("the passphrase does not open this share") from exc


def _scrypt(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_BYTES, n=2**log2_n, r=r, p=p).derive(
        passphrase.encode("utf-8")
    )


def master_seal(*, data: bytes, master_key: bytes, aad: bytes) -> bytes:
    """AES-256-GCM under the master key: nonce (12) followed by the ciphertext."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master_key).encrypt(nonce, data, aad)


def master_open(*, sealed: bytes, master_key: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(master_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as exc:
        raise CustodyError("this record does not open with the configured master key") from exc

"""The tamper-evident bid log: a per-round Merkle tree as Certificate Transparency keeps
one (RFC 6962 / RFC 9162, section 2.1), with inclusion and consistency proofs.

Pure Python on ``hashlib``; imports nothing from Django, so a bidder (or anyone) can check
a receipt against a published log head on its own machine.

* A **leaf** is one submission event (seal, revise, withdraw) in its canonical JSON form
  (:class:`Entry`): the round, the entry's position, the bid, the version number, the
  action, the SHA-256 of the stored ciphertext, the receipt hash, the server time and the
  root of the log *before* this entry (so each entry also commits to everything before
  it, as a hash chain would).
* ``leaf hash = SHA-256(0x00 || leaf)``, ``node hash = SHA-256(0x01 || left || right)``,
  the tree head of ``n`` entries is RFC 6962's ``MTH(D[n])``; the empty tree's head is
  ``SHA-256("")``.
* An **inclusion proof** shows that one entry is at position ``m`` of the tree of size
  ``n`` with a given head; a **consistency proof** shows that the head a bidder saw at
  submission (size ``m``) is a prefix of a later head (size ``n``): nothing before it was
  changed, removed or reordered.

The server keeps the log's *compact range* (the roots of its perfect subtrees, at most
log2(n) hashes) in the round's log head row, so appending an entry is O(log n).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

ENTRY_FORMAT = "jicai-bid-log-entry/1"
HASH_BYTES = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class LogError(ValueError):
    """A log entry, proof or head is malformed."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 ``MTH`` over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 6962 ``PATH(m, D[n])``: the audit path of leaf ``index``."""
    n = len(leaves)
    if not 0 <= index < n:
        raise LogError("leaf index out of range")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), merkle_root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), merkle_root(leaves[:k])]


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 6962 ``PROOF(m, D[n])``: the head of size ``old_size`` is a prefix of this one."""
    if not 0 <= old_size <= len(leaves):
        raise LogError("old tree size out of range")
    if old_size in (0, len(leaves)):
        return []
    return _subproof(old_size, leaves, complete=True)


def _subproof(m: int, leaves: Sequence[bytes], *, complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [merkle_root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete=complete), merkle_root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], complete=False), merkle_root(leaves[:k])]


@dataclass(frozen=True)
class ProofStep:
    """One step of an inclusion proof check, as the public page shows it."""

    sibling: str  # hex
    side: str  # "left" when the sibling is hashed on the left of the running hash
    result: str  # hex of the running hash after this step


def inclusion_steps(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes]
) -> tuple[bytes, list[ProofStep]] | None:
    """Run RFC 9162 section 2.1.3.2; the recomputed root and each step, or None when the
    proof has the wrong shape for this index and size."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    steps: list[ProofStep] = []
    for p in proof:
        if len(p) != HASH_BYTES or sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            steps.append(ProofStep(p.hex(), "left", r.hex()))
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
            steps.append(ProofStep(p.hex(), "right", r.hex()))
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r, steps


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    result = inclusion_steps(index, size, leaf, proof)
    return result is not None and hmac.compare_digest(result[0], root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and hmac.compare_digest(old_root, new_root)
    if old_size == 0:
        return not proof
    if not proof or any(len(p) != HASH_BYTES for p in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)


# --- the compact range the server keeps ---------------------------------------------------


@dataclass(frozen=True)
class CompactRange:
    """The roots of the perfect subtrees of a log of ``size`` leaves, left to right (one
    per set bit of ``size``): enough to append and to compute the head."""

    size: int
    nodes: tuple[bytes, ...]

    @classmethod
    def empty(cls) -> CompactRange:
        return cls(0, ())

    @classmethod
    def of(cls, leaves: Sequence[bytes]) -> CompactRange:
        compact = cls.empty()
        for leaf in leaves:
            compact = compact.append(leaf)
        return compact

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.nodes) != bin(self.size).count("1"):
            raise LogError("the compact range does not match the log size")

    def append(self, leaf: bytes) -> CompactRange:
        nodes = list(self.nodes)
        merged, size = leaf, self.size
        while size & 1:
            merged = node_hash(nodes.pop(), merged)
            size >>= 1
        nodes.append(merged)
        return CompactRange(self.size + 1, tuple(nodes))

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            root = node_hash(node, root)
        return root

    def to_hex(self) -> list[str]:
        return [n.hex() for n in self.nodes]

    @classmethod
    def from_hex(cls, size: int, nodes: Sequence[str]) -> CompactRange:
        try:
            return cls(size, tuple(bytes.fromhex(n) for n in nodes))
        except ValueError as exc:
            raise LogError("the compact range is malformed") from exc


# --- entries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One submission event as the log commits to it (the leaf's content)."""

    round: str  # the round's code
    position: int  # 0-based index in the round's log
    bid: int
    version: int
    action: str  # "submit" | "revise" | "withdraw"
    ciphertext_sha256: str  # hex
    receipt_hash: str  # hex
    server_time: str  # ISO 8601, UTC, microseconds (as on the receipt)
    previous_root: str  # hex head of the log of ``position`` entries

    def to_bytes(self) -> bytes:
        return json.dumps(
            {"format": ENTRY_FORMAT, **asdict(self)},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.to_bytes())

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Entry:
        try:
            return cls(
                round=str(data["round"]),
                position=_int(data["position"]),
                bid=_int(data["bid"]),
                version=_int(data["version"]),
                action=str(data["action"]),
                ciphertext_sha256=str(data["ciphertext_sha256"]).lower(),
                receipt_hash=str(data["receipt_hash"]).lower(),
                server_time=str(data["server_time"]),
                previous_root=str(data["previous_root"]).lower(),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LogError("the log entry is malformed") from exc


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise LogError("not an integer")
    return int(value)


def ciphertext_digest(ciphertext: bytes) -> str:
    return hashlib.sha256(ciphertext).hexdigest()


def hex_hash(text: object) -> bytes:
    """A 32-byte hash from its hex text; LogError when it is not one."""
    if not isinstance(text, str):
        raise LogError("a hash must be hex text")
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise LogError("a hash must be hex text") from exc
    if len(raw) != HASH_BYTES:
        raise LogError("a hash must be 32 bytes")
    return raw


def receipt_entry(receipt: Mapping[str, object]) -> Entry:
    """The log entry a receipt document claims (its ``log`` section and its content)."""
    log = receipt.get("log")
    content = receipt.get("content")
    if not isinstance(log, Mapping) or not isinstance(content, Mapping):
        raise LogError("the receipt has no bid log section")
    return Entry.from_mapping(
        {
            "round": content.get("round"),
            "position": log.get("position"),
            "bid": content.get("bid"),
            "version": content.get("version"),
            "action": content.get("action"),
            "ciphertext_sha256": log.get("ciphertext_sha256"),
            "receipt_hash": receipt.get("hash"),
            "server_time": receipt.get("server_time"),
            "previous_root": log.get("previous_root"),
        }
    )

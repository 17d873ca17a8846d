"""The bid log's Merkle tree (bidding.bidlog), pure: the RFC 6962 reference vectors
(the Certificate Transparency test data), proofs over every tree shape, and the entry's
fixed encoding."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import asdict, replace

import pytest

from bidding import bidlog

# RFC 6962 reference inputs and tree heads (certificate-transparency merkle tree tests).
INPUTS = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
LEAVES = [bidlog.leaf_hash(d) for d in INPUTS]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (0-based leaf index, tree size, audit path)
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def test_tree_heads_match_rfc_6962() -> None:
    compact = bidlog.CompactRange.empty()
    assert compact.root().hex() == ROOTS[0]
    for n in range(1, 9):
        assert bidlog.merkle_root(LEAVES[:n]).hex() == ROOTS[n]
        compact = compact.append(LEAVES[n - 1])
        assert compact.root().hex() == ROOTS[n], f"incremental head of size {n}"
        assert bidlog.CompactRange.from_hex(n, compact.to_hex()) == compact


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_rfc_6962(index: int, size: int, path: list[str]) -> None:
    proof = bidlog.inclusion_proof(index, LEAVES[:size])
    assert [p.hex() for p in proof] == path
    root = bytes.fromhex(ROOTS[size])
    assert bidlog.verify_inclusion(index, size, LEAVES[index], proof, root)
    assert not bidlog.verify_inclusion(index, size, LEAVES[index], proof, bytes(32))
    assert not bidlog.verify_inclusion(index, size, bidlog.leaf_hash(b"forged"), proof, root)
    other = (index + 1) % size
    assert not bidlog.verify_inclusion(other, size, LEAVES[index], proof, root)
    assert not bidlog.verify_inclusion(index, size, LEAVES[index], proof[:-1], root)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_match_rfc_6962(old: int, new: int, path: list[str]) -> None:
    proof = bidlog.consistency_proof(old, LEAVES[:new])
    assert [p.hex() for p in proof] == path
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert bidlog.verify_consistency(old, new, old_root, new_root, proof)
    if old != new:
        assert not bidlog.verify_consistency(old, new, bytes(32), new_root, proof)
        assert not bidlog.verify_consistency(old, new, old_root, bytes(32), proof)


def test_every_shape_proves_and_refuses() -> None:
    rng = random.Random(6962)
    for n in range(1, 40):
        leaves = [bidlog.leaf_hash(rng.randbytes(rng.randint(0, 9))) for _ in range(n)]
        root = bidlog.merkle_root(leaves)
        assert bidlog.CompactRange.of(leaves).root() == root
        for i in range(n):
            proof = bidlog.inclusion_proof(i, leaves)
            assert bidlog.verify_inclusion(i, n, leaves[i], proof, root)
            flipped = bytes([leaves[i][0] ^ 1]) + leaves[i][1:]
            assert not bidlog.verify_inclusion(i, n, flipped, proof, root)
        for m in range(0, n + 1):
            proof = bidlog.consistency_proof(m, leaves)
            old_root = bidlog.merkle_root(leaves[:m])
            assert bidlog.verify_consistency(m, n, old_root, root, proof), (m, n)
        if n >= 3:
            # Two entries swapped: a different head, and the old head no longer a prefix.
            swapped = [leaves[1], leaves[0], *leaves[2:]]
            assert bidlog.merkle_root(swapped) != root
            proof = bidlog.consistency_proof(2, swapped)
            assert not bidlog.verify_consistency(
                2, n, bidlog.merkle_root(leaves[:2]), bidlog.merkle_root(swapped), proof
            )


ENTRY = bidlog.Entry(
    round="T-2026-D1",
    position=3,
    bid=7,
    version=2,
    action="revise",
    ciphertext_sha256="ab" * 32,
    receipt_hash="cd" * 32,
    server_time="2026-05-01T02:03:04.000005+00:00",
    previous_root=ROOTS[3],
)


def test_entry_encoding_is_fixed() -> None:
    assert ENTRY.to_bytes() == (
        b'{"action":"revise","bid":7,"ciphertext_sha256":"' + b"ab" * 32 + b'",'
        b'"format":"jicai-bid-log-entry/1","position":3,"previous_root":"'
        + ROOTS[3].encode()
        + b'","receipt_hash":"'
        + b"cd" * 32
        + b'","round":"T-2026-D1",'
        b'"server_time":"2026-05-01T02:03:04.000005+00:00","version":2}'
    )
    # Computed apart from this code: `sha256sum` of the byte 0x00 followed by the bytes above.
    assert (
        ENTRY.leaf_hash().hex()
        == "52e43befceae5642547df86ada169c38cf6fa187610ad8892068f950cd0f1ec4"
    )


def test_receipt_entry_round_trip_and_malformed() -> None:
    receipt = {
        "content": {"round": "T-2026-D1", "bid": 7, "version": 2, "action": "revise"},
        "hash": "cd" * 32,
        "server_time": "2026-05-01T02:03:04.000005+00:00",
        "log": {"position": 3, "ciphertext_sha256": "ab" * 32, "previous_root": ROOTS[3]},
    }
    assert bidlog.receipt_entry(receipt) == ENTRY
    with pytest.raises(bidlog.LogError):
        bidlog.receipt_entry({"content": {}, "hash": "x"})
    with pytest.raises(bidlog.LogError):
        bidlog.receipt_entry({**receipt, "log": {"position": True}})
    with pytest.raises(bidlog.LogError):
        bidlog.hex_hash("zz")
    with pytest.raises(bidlog.LogError):
        bidlog.CompactRange(3, (bytes(32),))


# --- exact inputs at the edges (RFC 6962 section 2.1, RFC 9162 section 2.1.3/2.1.4) ------


def _raises(message: str) -> pytest.RaisesExc[bidlog.LogError]:
    """LogError with exactly this text, not merely some LogError."""
    return pytest.raises(bidlog.LogError, match=f"^{re.escape(message)}$")


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 MTH over leaf hashes, written apart from the module."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _audit_path(index: int, leaves: list[bytes]) -> list[tuple[bytes, str]]:
    """RFC 6962 section 2.1.1 PATH(m, D[n]), bottom up, with the side each sibling is on."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if index < k:
        return [*_audit_path(index, leaves[:k]), (_mth(leaves[k:]), "right")]
    return [*_audit_path(index - k, leaves[k:]), (_mth(leaves[:k]), "left")]


# The side of each sibling, bottom up, drawn by hand from the tree shapes of RFC 6962
# section 2.1.3 (7 leaves: d0..d3 | d4 d5 | d6; 5 leaves: d0..d3 | d4).
SIDES = {
    7: [
        ["right", "right", "right"],
        ["left", "right", "right"],
        ["right", "left", "right"],
        ["left", "left", "right"],
        ["right", "right", "left"],
        ["left", "right", "left"],
        ["left", "left"],
    ],
    5: [
        ["right", "right", "right"],
        ["left", "right", "right"],
        ["right", "left", "right"],
        ["left", "left", "right"],
        ["left"],
    ],
}


@pytest.mark.parametrize("size", [5, 7])
def test_inclusion_steps_show_each_sibling_side_and_running_hash(size: int) -> None:
    """RFC 9162 section 2.1.3.2: every step of the check, for every leaf of a 5- and a
    7-leaf tree, against the audit path and hashes computed here with hashlib alone."""
    leaves = LEAVES[:size]
    for index in range(size):
        proof = bidlog.inclusion_proof(index, leaves)
        path = _audit_path(index, leaves)
        assert [side for _, side in path] == SIDES[size][index]
        assert proof == [sibling for sibling, _ in path]
        expected, running = [], leaves[index]
        for sibling, side in path:
            pair = sibling + running if side == "left" else running + sibling
            running = hashlib.sha256(b"\x01" + pair).digest()
            expected.append(bidlog.ProofStep(sibling.hex(), side, running.hex()))
        result = bidlog.inclusion_steps(index, size, leaves[index], proof)
        assert result is not None
        root, steps = result
        assert steps == expected, (size, index)
        assert root == running == bytes.fromhex(ROOTS[size])


def test_inclusion_steps_refuse_wrong_shapes() -> None:
    """RFC 9162 section 2.1.3.2 step 1 (0 <= index < size), step 5 (a sibling while sn is
    already 0 is one too many) and step 6 (sn must end at 0); a sibling not 32 bytes long
    is not a hash."""
    leaf, proof = LEAVES[1], bidlog.inclusion_proof(1, LEAVES[:5])
    assert bidlog.inclusion_steps(1, 5, leaf, proof) is not None
    # index == size: one past the last leaf.
    assert bidlog.inclusion_steps(1, 1, leaf, []) is None
    assert bidlog.inclusion_steps(5, 5, leaf, proof) is None
    assert not bidlog.verify_inclusion(1, 1, leaf, [], leaf)
    assert bidlog.inclusion_steps(-1, 5, leaf, proof) is None
    assert bidlog.inclusion_steps(0, 0, leaf, []) is None
    # A single leaf is its own root: no sibling, and a sibling is one too many.
    assert bidlog.inclusion_steps(0, 1, leaf, []) == (leaf, [])
    assert bidlog.inclusion_steps(0, 1, leaf, [bytes(32)]) is None
    # A proof one sibling too long or too short.
    assert bidlog.inclusion_steps(1, 5, leaf, [*proof, bytes(32)]) is None
    assert bidlog.inclusion_steps(1, 5, leaf, proof[:-1]) is None
    # A sibling of 31 or 33 bytes, in first or last place.
    for short in (proof[0][:-1], proof[0] + b"\x00"):
        assert bidlog.inclusion_steps(1, 5, leaf, [short, *proof[1:]]) is None
        assert bidlog.inclusion_steps(1, 5, leaf, [*proof[:-1], short]) is None
    assert bidlog.inclusion_steps(0, 2, LEAVES[0], [LEAVES[1][:16]]) is None


def test_inclusion_proof_index_range() -> None:
    """RFC 6962 section 2.1.1: PATH(m, D[n]) is defined for 0 <= m < n only."""
    assert bidlog.inclusion_proof(4, LEAVES[:5]) == [bytes.fromhex(ROOTS[4])]
    for index in (5, 6, -1):
        with _raises("leaf index out of range"):
            bidlog.inclusion_proof(index, LEAVES[:5])
    with _raises("leaf index out of range"):
        bidlog.inclusion_proof(0, [])


def test_consistency_proof_size_range() -> None:
    """RFC 6962 section 2.1.2: PROOF(m, D[n]) for 0 <= m <= n; empty for m == 0 and m == n."""
    assert bidlog.consistency_proof(0, LEAVES[:5]) == []
    assert bidlog.consistency_proof(5, LEAVES[:5]) == []
    assert bidlog.consistency_proof(4, LEAVES[:8]) == [_mth(LEAVES[4:8])]
    for old_size in (6, -1):
        with _raises("old tree size out of range"):
            bidlog.consistency_proof(old_size, LEAVES[:5])


def test_verify_consistency_edges() -> None:
    """RFC 9162 section 2.1.4.2: sizes out of order, equal sizes, an empty old tree, an
    empty or malformed proof, and a proof of the wrong length are all refused."""
    root = {n: bytes.fromhex(ROOTS[n]) for n in range(9)}
    proof = bidlog.consistency_proof(3, LEAVES[:7])
    assert bidlog.verify_consistency(3, 7, root[3], root[7], proof)
    # Step 1: old_size > new_size or negative.
    assert not bidlog.verify_consistency(7, 3, root[7], root[3], proof)
    assert not bidlog.verify_consistency(3, 2, root[3], root[3], [])
    assert not bidlog.verify_consistency(-1, 3, root[0], root[3], [])
    # Equal sizes: an empty proof and the same head, nothing else.
    assert bidlog.verify_consistency(5, 5, root[5], root[5], [])
    assert not bidlog.verify_consistency(5, 5, root[5], root[6], [])
    assert not bidlog.verify_consistency(5, 5, root[5], root[5], [root[5]])
    assert bidlog.verify_consistency(0, 0, root[0], root[0], [])
    # The empty tree is a prefix of every tree: an empty proof, whatever the heads.
    assert bidlog.verify_consistency(0, 5, root[0], root[5], [])
    assert bidlog.verify_consistency(0, 5, bytes(32), bytes(32), [])
    assert not bidlog.verify_consistency(0, 5, root[0], root[5], [root[5]])
    # 0 < old_size < new_size needs a proof, every node of it 32 bytes.
    assert not bidlog.verify_consistency(3, 7, root[3], root[7], [])
    assert not bidlog.verify_consistency(4, 7, root[4], root[7], [])
    for bad in (proof[0][:-1], proof[0] + b"\x00"):
        assert not bidlog.verify_consistency(3, 7, root[3], root[7], [bad, *proof[1:]])
        assert not bidlog.verify_consistency(3, 7, root[3], root[7], [*proof[:-1], bad])
    # Step 5/6: one node too many or too few.
    assert not bidlog.verify_consistency(3, 7, root[3], root[7], [*proof, bytes(32)])
    assert not bidlog.verify_consistency(3, 7, root[3], root[7], proof[:-1])
    assert not bidlog.verify_consistency(1, 2, root[1], root[2], [LEAVES[1], bytes(32)])
    # The proof of another pair of sizes.
    assert not bidlog.verify_consistency(3, 6, root[3], root[6], proof)


def test_hex_hash() -> None:
    """A hash is 64 hex digits as text: not bytes, not another length."""
    assert bidlog.hex_hash("AB" * 32) == bytes([0xAB]) * 32
    assert bidlog.hex_hash(ROOTS[3]) == bytes.fromhex(ROOTS[3])
    for value in (b"ab" * 32, None, 7, bytes(32)):
        with _raises("a hash must be hex text"):
            bidlog.hex_hash(value)
    with _raises("a hash must be hex text"):
        bidlog.hex_hash("zz" * 32)
    for text in ("ab" * 31, "ab" * 33, ""):
        with _raises("a hash must be 32 bytes"):
            bidlog.hex_hash(text)


def test_ciphertext_digest() -> None:
    """SHA-256 of the stored ciphertext (FIPS 180-2's "abc" vector and the empty string)."""
    assert bidlog.ciphertext_digest(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert bidlog.ciphertext_digest(b"") == ROOTS[0]


def test_integers() -> None:
    """Integers arrive from JSON receipts as numbers or digit strings; booleans are not
    integers although Python counts them as such."""
    assert bidlog._int(7) == 7
    assert bidlog._int("7") == 7
    for value in (True, False, 7.0, None, [7]):
        with _raises("not an integer"):
            bidlog._int(value)


def test_entry_from_mapping() -> None:
    """Hex fields are lower-cased; a missing, non-integer or non-numeric field is refused."""
    data: dict[str, object] = {
        **asdict(ENTRY),
        "position": "3",
        "ciphertext_sha256": "AB" * 32,
        "receipt_hash": "CD" * 32,
        "previous_root": ROOTS[3].upper(),
    }
    assert bidlog.Entry.from_mapping(data) == ENTRY
    for broken in (
        {k: v for k, v in data.items() if k != "round"},
        {**data, "bid": True},
        {**data, "version": "two"},
        {**data, "position": None},
    ):
        with _raises("the log entry is malformed"):
            bidlog.Entry.from_mapping(broken)
    with _raises("the log entry is malformed") as caught:
        bidlog.Entry.from_mapping({**data, "bid": True})
    assert str(caught.value.__cause__) == "not an integer"


def test_receipt_without_log_section() -> None:
    """A receipt needs both its ``content`` and its ``log`` section."""
    receipt = {
        "content": {"round": "T-2026-D1", "bid": 7, "version": 2, "action": "revise"},
        "hash": "cd" * 32,
        "server_time": "2026-05-01T02:03:04.000005+00:00",
        "log": {"position": 3, "ciphertext_sha256": "ab" * 32, "previous_root": ROOTS[3]},
    }
    for broken in (
        {k: v for k, v in receipt.items() if k != "log"},
        {k: v for k, v in receipt.items() if k != "content"},
        {**receipt, "log": "3"},
        {**receipt, "content": ["revise"]},
        {},
    ):
        with _raises("the receipt has no bid log section"):
            bidlog.receipt_entry(broken)
    with _raises("the log entry is malformed"):
        bidlog.receipt_entry({**receipt, "log": {"position": True}})


def test_compact_range_checks() -> None:
    """One node per set bit of the size, a size not negative, nodes as hex."""
    with _raises("the compact range does not match the log size"):
        bidlog.CompactRange(3, (bytes(32),))
    with _raises("the compact range does not match the log size"):
        bidlog.CompactRange(-1, (bytes(32),))
    with _raises("the compact range does not match the log size"):
        bidlog.CompactRange(0, (bytes(32),))
    assert bidlog.CompactRange(0, ()) == bidlog.CompactRange.empty()
    with _raises("the compact range is malformed"):
        bidlog.CompactRange.from_hex(1, ["zz"])
    with _raises("the compact range is malformed"):
        bidlog.CompactRange.from_hex(3, [ROOTS[1]])


def test_entry_encoding_keeps_non_ascii_text() -> None:
    """The canonical form is UTF-8 JSON with non-ASCII text as is (not \\u escapes): a
    round code in Chinese is pinned byte for byte."""
    entry = replace(ENTRY, round="集采-2026-第一轮")
    expected = (
        '{"action":"revise","bid":7,"ciphertext_sha256":"' + "ab" * 32 + '",'
        '"format":"jicai-bid-log-entry/1","position":3,"previous_root":"' + ROOTS[3] + '",'
        '"receipt_hash":"' + "cd" * 32 + '","round":"集采-2026-第一轮",'
        '"server_time":"2026-05-01T02:03:04.000005+00:00","version":2}'
    ).encode("utf-8")
    assert entry.to_bytes() == expected
    assert b"\\u" not in entry.to_bytes()
    # Computed apart from this code: `sha256sum` of the byte 0x00 followed by the bytes above.
    assert (
        entry.leaf_hash().hex()
        == "76ade03577e8bb9134fc0aa5d9cd7a914a81fe17b2155bd2929c0b772f7a01f4"
    )

"""The bid log's Merkle tree (bidding.bidlog), pure: the RFC 6962 reference vectors
(the Certificate Transparency test data), proofs over every tree shape, and the entry's
fixed encoding."""

from __future__ import annotations

import random

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

"""The round's tamper-evident bid log (``bidding.bidlog``): appending an entry for every
seal, revision and withdrawal, the receipt's ``log`` section, publishing the head when
bidding closes, inclusion proofs, and the check the opening makes before it decrypts.

Locking: a bid transaction holds the round row in share mode and its bid row ``FOR
UPDATE`` (``bidding.services.deadline``); the append then takes the round's log head row
``FOR UPDATE`` as its last lock, so concurrent bids of one round get consecutive
positions, each entry chained to the head before it. Closing bidding updates the round
row, which waits for every bid transaction in flight: the head it publishes is final.

See docs/sealed-bidding.md, "Bid log".
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import QuerySet

from bidding import bidlog
from bidding.models import Bid, BidLogEntry, BidLogHead, BidVersion, OpenedBid
from bidding.services.statements import log_entry_write, log_head_lock
from bidding.services.terms import BidReceipt, server_time_text
from procurement.models import Round

R = OpenedBid.Reason
EMPTY_ROOT = bidlog.EMPTY_ROOT.hex()


def sealed_digest(version: BidVersion) -> str:
    """The SHA-256 the log records for a version's stored ciphertext."""
    return bidlog.ciphertext_digest(bytes(version.ciphertext))


def _locked_head(round_: Round) -> BidLogHead:
    # Created when bidding opens (``log_head_ensure``), or here for an older round.
    return log_head_lock(round_)


def _entry_of(row: BidLogEntry, *, round_code: str) -> bidlog.Entry:
    return bidlog.Entry(
        round=round_code,
        position=row.position,
        bid=row.bid_id,
        version=row.version_number,
        action=row.action,
        ciphertext_sha256=row.ciphertext_sha256,
        receipt_hash=row.receipt_hash,
        server_time=row.server_time,
        previous_root=row.previous_root,
    )


def log_append(
    *, round_: Round, version: BidVersion, head: BidLogHead | None = None, commit: bool = False
) -> BidLogEntry:
    """Append ``version`` (just written, in the caller's transaction) to the round's log;
    ``head``: the round's head when the caller locked it already (a new bid's insert);
    ``commit``: the append is the transaction's last statement and may carry its COMMIT
    (``statements.log_entry_write``)."""
    if head is None:
        head = _locked_head(round_)
    compact = bidlog.CompactRange.from_hex(head.size, head.compact)
    entry = bidlog.Entry(
        round=round_.code,
        position=head.size,
        bid=version.bid_id,
        version=version.number,
        action=version.action,
        ciphertext_sha256=sealed_digest(version),
        receipt_hash=version.receipt_hash,
        server_time=server_time_text(version.server_time),
        previous_root=compact.root().hex(),
    )
    leaf = entry.leaf_hash()
    compact = compact.append(leaf)
    row = BidLogEntry(
        round=round_,
        position=entry.position,
        bid_id=entry.bid,
        version_number=entry.version,
        action=entry.action,
        ciphertext_sha256=entry.ciphertext_sha256,
        receipt_hash=entry.receipt_hash,
        server_time=entry.server_time,
        previous_root=entry.previous_root,
        leaf_hash=leaf.hex(),
        root=compact.root().hex(),
    )
    head.size = compact.size
    head.root = compact.root().hex()
    head.compact = compact.to_hex()
    log_entry_write(head=head, entry=row, commit=commit)  # one statement (and the COMMIT)
    return row


def log_section(row: BidLogEntry) -> dict[str, object]:
    """The receipt's ``log`` section: the entry's position and the head right after it.

    Not covered by the receipt hash (the entry commits to the receipt hash instead); with
    the receipt's content it rebuilds the log entry (``bidlog.receipt_entry``).
    """
    return {
        "format": bidlog.ENTRY_FORMAT,
        "position": row.position,
        "ciphertext_sha256": row.ciphertext_sha256,
        "previous_root": row.previous_root,
        "leaf_hash": row.leaf_hash,
        "tree_size": row.position + 1,
        "root": row.root,
    }


def receipt_logged(
    *, round_: Round, receipt: BidReceipt, head: BidLogHead | None = None, commit: bool = False
) -> BidReceipt:
    """Append the receipt's version to the log and add the ``log`` section to it (``head``
    and ``commit``: as ``log_append``)."""
    row = log_append(round_=round_, version=receipt.version, head=head, commit=commit)
    receipt.document["log"] = log_section(row)
    return receipt


def document_with_log(document: dict[str, object], version: BidVersion) -> dict[str, object]:
    """A rebuilt receipt document with the ``log`` section of its entry (when logged)."""
    row = (
        BidLogEntry.objects.filter(
            bid_id=version.bid_id,
            version_number=version.number,
            receipt_hash=version.receipt_hash,
        )
        .order_by("position")
        .first()
    )
    if row is not None:
        document["log"] = log_section(row)
    return document


def log_close(*, round_: Round, at: datetime.datetime) -> BidLogHead:
    """Publish the head as it stands when bidding closes (once; idempotent).

    Called in the closing transaction, which has waited for every bid in flight.
    """
    head = _locked_head(round_)
    if head.closed_at is None:
        head.closed_at = at
        head.closed_size = head.size
        head.closed_root = head.root
        head.save(update_fields=["closed_at", "closed_size", "closed_root"])
    return head


def log_head_published(*, round_: Round) -> BidLogHead | None:
    return BidLogHead.objects.filter(round=round_, closed_at__isnull=False).first()


# --- inclusion proofs ---------------------------------------------------------------------


@dataclass
class InclusionCheck:
    """A receipt (or log position) checked against the head published at close."""

    ok: bool
    problem: str = ""  # a code, see ``INCLUSION_PROBLEMS`` in the views
    position: int | None = None
    head: BidLogHead | None = None
    entry: bidlog.Entry | None = None
    leaf_hash: str = ""
    proof: list[str] = field(default_factory=list)
    steps: list[bidlog.ProofStep] = field(default_factory=list)
    computed_root: str = ""
    consistent_with_receipt: bool | None = None  # the receipt's own head is a prefix


def log_position_of(*, round_: Round, receipt_hash: str) -> int | None:
    """The position of the entry carrying ``receipt_hash`` under the published head."""
    head = log_head_published(round_=round_)
    if head is None:
        return None
    return (
        BidLogEntry.objects.filter(
            round=round_, receipt_hash=receipt_hash, position__lt=head.closed_size or 0
        )
        .values_list("position", flat=True)
        .first()
    )


def _closed_leaves(round_: Round, head: BidLogHead) -> list[bytes]:
    """The stored leaf hashes under the published head (one column read: a page view
    stays cheap on a national round). A stored leaf that was altered makes the proof fail
    against the published head, as it should; the claimed leaf itself is always rebuilt
    from the receipt or the entry."""
    hashes = BidLogEntry.objects.filter(round=round_, position__lt=head.closed_size or 0).order_by(
        "position"
    )
    leaves = []
    for text in hashes.values_list("leaf_hash", flat=True):
        try:
            leaves.append(bidlog.hex_hash(text))
        except bidlog.LogError:
            leaves.append(bytes(bidlog.HASH_BYTES))  # unreadable: cannot lead to the head
    return leaves


def log_inclusion(
    *, round_: Round, position: int | None = None, receipt: dict[str, object] | None = None
) -> InclusionCheck:
    """Prove that the entry at ``position`` (or the entry a receipt claims) is in the log
    under the head published at close, recomputing the proof from the stored entries.

    For a receipt the leaf is rebuilt from the receipt itself, so a forged or altered
    receipt does not verify; and the receipt's own head (the log right after it) must be a
    prefix of the published head (a consistency proof).
    """
    head = log_head_published(round_=round_)
    if head is None:
        return InclusionCheck(ok=False, problem="not_published")
    leaves = _closed_leaves(round_, head)
    size = head.closed_size or 0
    claimed: bidlog.Entry | None = None
    if receipt is not None:
        try:
            claimed = bidlog.receipt_entry(receipt)
        except bidlog.LogError:
            return InclusionCheck(ok=False, problem="malformed", head=head)
        if claimed.round != round_.code:
            return InclusionCheck(ok=False, problem="other_round", head=head)
        position = claimed.position
    if position is None or not 0 <= position < size or len(leaves) != size:
        return InclusionCheck(ok=False, problem="no_such_position", head=head, position=position)
    if claimed is None:
        row = BidLogEntry.objects.get(round=round_, position=position)
        claimed = _entry_of(row, round_code=round_.code)
    leaf = claimed.leaf_hash()
    proof = bidlog.inclusion_proof(position, leaves)
    result = bidlog.inclusion_steps(position, size, leaf, proof)
    computed, steps = result if result is not None else (b"", [])
    ok = computed.hex() == head.closed_root
    check = InclusionCheck(
        ok=ok,
        problem="" if ok else "not_included",
        position=position,
        head=head,
        entry=claimed,
        leaf_hash=leaf.hex(),
        proof=[p.hex() for p in proof],
        steps=steps,
        computed_root=computed.hex(),
    )
    if receipt is not None and ok:
        check.consistent_with_receipt = _receipt_head_consistent(receipt, leaves, head)
        if not check.consistent_with_receipt:
            check.ok = False
            check.problem = "receipt_head_inconsistent"
    return check


def _receipt_head_consistent(
    receipt: dict[str, object], leaves: list[bytes], head: BidLogHead
) -> bool:
    log = receipt.get("log")
    if not isinstance(log, dict):
        return False
    try:
        old_size = int(log["tree_size"])
        old_root = bidlog.hex_hash(log["root"])
        new_root = bidlog.hex_hash(head.closed_root)
    except (KeyError, TypeError, ValueError):
        return False
    if not 0 < old_size <= len(leaves):
        return False
    proof = bidlog.consistency_proof(old_size, leaves)
    return bidlog.verify_consistency(old_size, len(leaves), old_root, new_root, proof)


# --- the check at the opening -------------------------------------------------------------


@dataclass
class LogAudit:
    """What the bid log says at the opening, checked against the stored rows.

    ``to_open``: the version of each bid that the opening decrypts (the log's latest, for
    every bid the log has live, and for every bid with a finding); ``reasons``: tamper
    reason codes by bid id; ``report``: the published and recomputed heads and the
    findings not tied to one bid (stored on the opening record).
    """

    to_open: dict[int, BidVersion]
    reasons: dict[int, list[str]]
    report: dict[str, object]


def log_audit(*, round_: Round, bids: list[Bid], versions: QuerySet[BidVersion]) -> LogAudit:
    """Recompute the round's log from its stored entries and compare it with the head
    published at close, the stored versions and the bids' state columns.

    Runs before anything is decrypted. Nothing is dropped: a bid with any finding is
    opened and judged tampered, with the reason, for the office to decide.
    """
    head = BidLogHead.objects.filter(round=round_).first()
    rows = list(BidLogEntry.objects.filter(round=round_).order_by("position"))
    reasons: dict[int, set[str]] = defaultdict(set)
    findings: list[dict[str, object]] = []
    closed_size = head.closed_size if head and head.closed_size is not None else None

    # 1. The chain: every entry's own fields hash to its stored leaf; positions follow one
    #    another; the first entry whose stored heads ("before", "after") leave the heads
    #    recomputed from the entries before it is where an entry was moved or inserted
    #    (after a gap or an altered entry every later head differs: only the first is
    #    reported by its heads; each later one is still checked against its own leaf).
    compact = bidlog.CompactRange.empty()
    expected = 0
    diverged = False
    for row in rows:
        if row.position != expected:
            findings.append({"code": "missing_positions", "from": expected, "to": row.position})
            diverged = True
        leaf = _entry_of(row, round_code=round_.code).leaf_hash()
        before = compact.root().hex()
        compact = compact.append(leaf)
        if row.leaf_hash != leaf.hex():
            reasons[row.bid_id].add(R.LOG_ENTRY_ALTERED)
            diverged = True  # later heads differ because of this entry, not their own
        elif not diverged and (row.previous_root != before or row.root != compact.root().hex()):
            reasons[row.bid_id].add(R.LOG_ENTRY_ALTERED)
            diverged = True
        if closed_size is not None and row.position >= closed_size:
            reasons[row.bid_id].add(R.LOG_AFTER_CLOSE)
        expected = row.position + 1
    recomputed_root = compact.root().hex()
    if head is None or closed_size is None:
        # Bidding closing always publishes the head (``log_close``): its absence is tampering.
        findings.append({"code": "head_not_published"})
        for bid in bids:
            reasons[bid.pk].add(R.LOG_HEAD_MISMATCH)
    else:
        closed_rows = [r for r in rows if r.position < closed_size]
        prefix_root = bidlog.merkle_root(
            [_entry_of(r, round_code=round_.code).leaf_hash() for r in closed_rows]
        ).hex()
        if expected < closed_size:
            findings.append({"code": "missing_positions", "from": expected, "to": closed_size})
        if prefix_root != head.closed_root or len(closed_rows) != closed_size:
            findings.append({"code": "head_mismatch"})
            if not reasons:
                # Rewritten consistently (or entries removed): no single entry shows it,
                # so no bid can be trusted from the database alone; the receipts decide.
                for bid in bids:
                    reasons[bid.pk].add(R.LOG_HEAD_MISMATCH)

    # 2. The log against the stored versions, both ways.
    by_number = {(v.bid_id, v.number): v for v in versions}
    logged: set[tuple[int, int]] = set()
    latest: dict[int, BidLogEntry] = {}
    for row in rows:
        key = (row.bid_id, row.version_number)
        logged.add(key)
        if closed_size is None or row.position < closed_size:
            latest[row.bid_id] = row  # what the published log says; later entries are forged
        version = by_number.get(key)
        if version is None:
            reasons[row.bid_id].add(R.LOG_VERSION_MISSING)
        elif (
            version.action != row.action
            or version.receipt_hash != row.receipt_hash
            or server_time_text(version.server_time) != row.server_time
            or sealed_digest(version) != row.ciphertext_sha256
        ):
            reasons[row.bid_id].add(R.VERSION_ALTERED)
    for key, version in by_number.items():
        if key not in logged:
            reasons[version.bid_id].add(R.VERSION_NOT_IN_LOG)

    # 3. The state columns are caches of the log: any disagreement is tampering.
    for bid in bids:
        last = latest.get(bid.pk)
        if last is None:
            reasons[bid.pk].add(R.VERSION_NOT_IN_LOG)
            continue
        withdrawn = last.action == BidVersion.Action.WITHDRAW
        if bid.current_version != last.version_number or (
            (bid.status == Bid.Status.WITHDRAWN) != withdrawn
        ):
            reasons[bid.pk].add(R.LOG_STATE_MISMATCH)

    # 4. What to open: the log's latest version of every live bid, and of every bid with a
    #    finding (the best stored version there is, when the log's own is gone).
    to_open: dict[int, BidVersion] = {}
    for bid in bids:
        last = latest.get(bid.pk)
        live = last is not None and last.action != BidVersion.Action.WITHDRAW
        if not live and bid.pk not in reasons:
            continue  # withdrawn, as the log says
        version = by_number.get((bid.pk, last.version_number)) if last else None
        if version is None:
            version = by_number.get((bid.pk, bid.current_version))
        if version is None:
            candidates = [v for (b, _n), v in by_number.items() if b == bid.pk]
            version = max(candidates, key=lambda v: v.number) if candidates else None
        if version is None:
            findings.append({"code": "bid_without_versions", "bid": bid.pk})
            continue
        to_open[bid.pk] = version
    order = {code: i for i, code in enumerate(R.values)}
    return LogAudit(
        to_open=to_open,
        reasons={b: sorted(r, key=order.__getitem__) for b, r in reasons.items()},
        report={
            "closed_size": closed_size,
            "closed_root": head.closed_root if head else "",
            "closed_at": head.closed_at.isoformat() if head and head.closed_at else None,
            "recomputed_size": len(rows),
            "recomputed_root": recomputed_root,
            "findings": findings,
            "tampered_bids": sorted(reasons),
        },
    )

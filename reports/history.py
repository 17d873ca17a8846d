"""The round's history for the procurement office (``/reports/office/rounds/<code>/history/``).

Every event of a round, oldest first, from every app: status transitions, procurement
document versions and numbered amendments (with what changed), clarification questions
(with the asker's organization: the office sees it, the public never does) and answers,
sealed bid versions with their signature (signer, key fingerprint), the opening, tampered
bids and the office's decisions on them, objections and their answers, and each
signed contract confirmation (signer, key fingerprint; a national round has about a
million: the page goes on by cursor, never counting or sorting more than a page a source).

Sealed terms stay sealed: a bid version shows only what the office's submission status
and the bid log already show (item, specification, bidder, version, action, time,
receipt hash) plus the signer and the key fingerprint; never a price, capacity or product.

Pages by a cursor (time, kind, id): each source is asked for at most ``PAGE + 1`` events
after the cursor, so a page costs the same number of queries whatever the round's size.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from awards.models import Objection
from bidding.models import BidVersion, OpenedBid, Opening, TamperDecision
from contracts.models import ContractSignature
from procurement.models import Round, RoundTransition
from tender.models import Clarification, ProcurementDocumentVersion
from tender.presentation import amendment_notice

PAGE = 50

# The kinds, in the order they sort when two events have the same time.
TRANSITION = "transition"
DOCUMENT = "document"
QUESTION = "question"
ANSWER = "answer"
BID = "bid"
OPENING = "opening"
TAMPERED = "tampered"
TAMPER_DECISION = "tamper_decision"
OBJECTION = "objection"
OBJECTION_ANSWER = "objection_answer"
CONTRACTS = "contracts"
KINDS = (
    TRANSITION,
    DOCUMENT,
    QUESTION,
    ANSWER,
    BID,
    OPENING,
    TAMPERED,
    TAMPER_DECISION,
    OBJECTION,
    OBJECTION_ANSWER,
    CONTRACTS,
)
RANK = {kind: rank for rank, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Cursor:
    at: datetime.datetime
    rank: int
    key: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}~{self.rank}~{self.key}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        """The cursor a page link carries; None (the first page) for anything else."""
        try:
            at_text, rank, key = text.split("~")
            at = parse_datetime(at_text.replace(" ", "+"))
            if at is None or at.tzinfo is None:
                return None
            return cls(at=at, rank=int(rank), key=int(key))
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Event:
    at: datetime.datetime
    kind: str
    key: int
    data: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cursor(self) -> Cursor:
        return Cursor(at=self.at, rank=RANK[self.kind], key=self.key)


@dataclass(frozen=True)
class HistoryPage:
    events: list[Event]
    next_cursor: str | None
    opened: bool


def _after(cursor: Cursor | None, kind: str, time: str, key: str) -> Q:
    """Events of ``kind`` that sort after ``cursor`` by (time, kind, key)."""
    if cursor is None:
        return Q()
    rank = RANK[kind]
    later = Q(**{f"{time}__gt": cursor.at})
    if rank > cursor.rank:
        return later | Q(**{time: cursor.at})
    if rank == cursor.rank:
        return later | Q(**{time: cursor.at, f"{key}__gt": cursor.key})
    return later


def _first(queryset: QuerySet[Any], cursor: Cursor | None, kind: str, time: str) -> list[Any]:
    return list(queryset.filter(_after(cursor, kind, time, "pk")).order_by(time, "pk")[: PAGE + 1])


def _transitions(round_: Round, cursor: Cursor | None) -> Iterable[Event]:
    rows = _first(
        RoundTransition.objects.filter(round=round_).select_related("by"), cursor, TRANSITION, "at"
    )
    return (Event(t.at, TRANSITION, t.pk, t) for t in rows)


def _documents(round_: Round, cursor: Cursor | None) -> Iterable[Event]:
    rows = _first(
        ProcurementDocumentVersion.objects.filter(round=round_)
        .select_related("amendment__published_by")
        .prefetch_related(
            "amendment__changes__round_item__item", "amendment__changes__specification"
        )
        .defer("content"),
        cursor,
        DOCUMENT,
        "published_at",
    )
    return (
        Event(
            v.published_at,
            DOCUMENT,
            v.pk,
            v,
            {"notice": amendment_notice(v.amendment) if v.amendment_id else None},
        )
        for v in rows
    )


def _clarifications(round_: Round, cursor: Cursor | None) -> Iterable[Event]:
    base = Clarification.objects.filter(round=round_).select_related(
        "asked_by", "asked_by_organization", "answered_by", "round_item__item"
    )
    asked = _first(base, cursor, QUESTION, "asked_at")
    answered = _first(base.filter(answered_at__isnull=False), cursor, ANSWER, "answered_at")
    yield from (Event(c.asked_at, QUESTION, c.pk, c) for c in asked)
    yield from (Event(c.answered_at, ANSWER, c.pk, c) for c in answered)


def _bids(round_: Round, cursor: Cursor | None, opened: bool) -> Iterable[Event]:
    queryset = (
        BidVersion.objects.filter(bid__round=round_)
        .select_related(
            "bid__round_item__item",
            "bid__specification",
            "manufacturer",
            "submitted_by",
            "signing_key__user",
        )
        # Sealed: nothing of the seal is read, nor the product (shown by nobody before
        # the opening); only what the submission status and the bid log show.
        .defer("nonce", "ciphertext", "signature", "product", "idempotency_key")
    )
    rows = _first(queryset, cursor, BID, "server_time")
    verdicts: dict[int, OpenedBid] = {}
    if opened and rows:
        verdicts = {
            o.version_id: o
            for o in OpenedBid.objects.filter(version_id__in=[v.pk for v in rows]).only(
                "version_id", "signature", "signature_key", "validity"
            )
        }
    return (Event(v.server_time, BID, v.pk, v, {"opened": verdicts.get(v.pk)}) for v in rows)


def _opening(round_: Round, cursor: Cursor | None) -> Iterable[Event]:
    openings = _first(Opening.objects.filter(round=round_), cursor, OPENING, "opened_at")
    yield from (Event(o.opened_at, OPENING, o.pk, o) for o in openings)
    tampered = _first(
        OpenedBid.objects.filter(
            opening__round=round_, validity=OpenedBid.Validity.TAMPERED
        ).select_related("opening", "manufacturer", "round_item__item"),
        cursor,
        TAMPERED,
        "opening__opened_at",
    )
    yield from (Event(o.opening.opened_at, TAMPERED, o.pk, o) for o in tampered)
    decisions = _first(
        TamperDecision.objects.filter(opened_bid__opening__round=round_).select_related(
            "decided_by", "opened_bid__manufacturer", "opened_bid__round_item__item"
        ),
        cursor,
        TAMPER_DECISION,
        "decided_at",
    )
    yield from (Event(d.decided_at, TAMPER_DECISION, d.pk, d) for d in decisions)


def _objections(round_: Round, cursor: Cursor | None) -> Iterable[Event]:
    base = Objection.objects.filter(round=round_).select_related(
        "organization", "filed_by", "answered_by", "round_item__item"
    )
    filed = _first(base, cursor, OBJECTION, "filed_at")
    answered = _first(
        base.filter(answered_at__isnull=False), cursor, OBJECTION_ANSWER, "answered_at"
    )
    yield from (Event(o.filed_at, OBJECTION, o.pk, o) for o in filed)
    yield from (Event(o.answered_at, OBJECTION_ANSWER, o.pk, o) for o in answered)


def _contract_signatures(round_: Round, cursor: Cursor | None) -> Iterable[Event]:
    rows = _first(
        ContractSignature.objects.filter(contract__round=round_)
        .select_related("contract", "signed_by", "signing_key")
        .defer("content", "signature"),
        cursor,
        CONTRACTS,
        "signed_at",
    )
    return (Event(s.signed_at, CONTRACTS, s.pk, s) for s in rows)


def round_history(*, round_: Round, cursor: Cursor | None) -> HistoryPage:
    """One page of the round's events after ``cursor``, oldest first."""
    opened = Opening.objects.filter(round=round_).exists()
    sources: list[Callable[[], Iterable[Event]]] = [
        lambda: _transitions(round_, cursor),
        lambda: _documents(round_, cursor),
        lambda: _clarifications(round_, cursor),
        lambda: _bids(round_, cursor, opened),
        lambda: _opening(round_, cursor),
        lambda: _objections(round_, cursor),
        lambda: _contract_signatures(round_, cursor),
    ]
    events = sorted(
        (event for source in sources for event in source()),
        key=lambda e: (e.at, RANK[e.kind], e.key),
    )
    page = events[:PAGE]
    more = len(events) > PAGE
    return HistoryPage(
        events=page,
        next_cursor=page[-1].cursor.encode() if more and page else None,
        opened=opened,
    )

"""Execution progress totalled once per change, not per page load (issue 19).

A national round has about a million current contract lines: the progress pages used to
total them on every load (three GROUP BY queries of ~5 s each). Here a task totals them
once (``refresh``) into a ``ProgressSnapshot`` with

* ``ProgressCell`` rows per item, province and winner (the totals, by item, by province
  and by winner: ~9,000 rows nationally), and
* ``ProgressHospital`` rows per hospital and winner, and per hospital over every winner
  (``manufacturer`` empty): the tables by hospital and the hospitals behind schedule,
  read a page at a time from an index.

The writers mark a round's snapshot changed (``mark_changed``: purchases recorded,
contracts confirmed or amended) and queue a refresh once the transaction commits; the
pro-rata schedule moves with the date, so a snapshot of an earlier day is refreshed too
(on its first read of the day). Until the refresh has run, the pages show the previous
snapshot with the time it was computed. Without a broker (development, the tests) the
refresh runs in-process, so the figures are current at once.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from common.bulk_copy import copy_rows
from contracts.models import (
    Contract,
    ProgressCell,
    ProgressHospital,
    ProgressSnapshot,
)
from contracts.progress import Progress, combine

# A queued refresh not done after this long is queued again (its worker may have died).
REQUEUE_AFTER = datetime.timedelta(minutes=15)

CELL_KEYS = ("round_item_id", "region_id", "contract__manufacturer_id")
FIGURES = ("agreed", "bought", "expected", "elapsed")
CELL_COLUMNS = ("snapshot_id", "round_item_id", "region_id", "manufacturer_id", *FIGURES)
HOSPITAL_COLUMNS = (
    *("snapshot_id", "hospital_id", "manufacturer_id", "hospital_code"),
    *(*FIGURES, "shortfall", "behind"),
)
HOSPITAL_KEYS = (
    "contract__hospital_id",
    "contract__manufacturer_id",
    "contract__hospital__social_credit_code",
)


def _totals(lines: QuerySet[Any], schedule: Any, keys: tuple[str, ...]) -> dict[tuple, Progress]:
    """Agreed, pro-rata and days elapsed per ``keys`` (one GROUP BY), with what was bought
    (one more), as ``Progress`` by key tuple."""
    from contracts import selectors

    bought = {
        tuple(row[:-1]): int(row[-1] or 0)
        for row in selectors._with_purchases(lines)
        .values(*keys)
        .annotate(total=Sum("bought__quantity"))
        .values_list(*keys, "total")
    }
    totals = {}
    for row in selectors._scheduled(lines, schedule, keys):
        key = tuple(row[k] for k in keys)
        totals[key] = Progress(
            agreed=int(row["agreed"] or 0),
            bought=bought.get(key, 0),
            expected=int(row["expected"] or 0),
            elapsed=int(row["elapsed"] or 0),
        )
    return totals


def _figures(p: Progress) -> tuple[int, int, int, int]:
    return (p.agreed, p.bought, p.expected, p.elapsed)


def refresh(*, round_id: int, today: datetime.date | None = None) -> ProgressSnapshot:
    """Total the round's confirmed contracts' current lines as of ``today`` and replace
    its snapshot (four aggregate queries and two bulk writes, in one transaction)."""
    from contracts import selectors

    today = today or timezone.localdate()
    started = timezone.now()
    contracts = Contract.objects.filter(round_id=round_id, status=Contract.Status.CONFIRMED)
    lines = selectors.current_lines(contracts=contracts)
    schedule = selectors.progress_schedule(lines=lines, today=today)
    cells = _totals(lines, schedule, CELL_KEYS)
    pairs = _totals(lines, schedule, HOSPITAL_KEYS)
    per_hospital: dict[tuple[int, str], list[Progress]] = {}
    for (hospital, _maker, code), progress in pairs.items():
        per_hospital.setdefault((hospital, code), []).append(progress)
    with transaction.atomic():
        snapshot, _ = ProgressSnapshot.objects.select_for_update().get_or_create(round_id=round_id)
        ProgressCell.objects.filter(snapshot=snapshot).delete()
        ProgressHospital.objects.filter(snapshot=snapshot).delete()
        copy_rows(
            ProgressCell,
            CELL_COLUMNS,
            ((snapshot.pk, *key, *_figures(p)) for key, p in cells.items()),
        )

        def hospital_rows() -> Iterable[tuple[Any, ...]]:
            for (hospital, maker, code), p in pairs.items():
                yield (snapshot.pk, hospital, maker, code, *_figures(p), p.shortfall, p.behind)
            for (hospital, code), parts in per_hospital.items():
                p = combine(parts)
                yield (snapshot.pk, hospital, None, code, *_figures(p), p.shortfall, p.behind)

        copy_rows(
            ProgressHospital,
            HOSPITAL_COLUMNS,
            hospital_rows(),
        )
        # A writer that marked the round changed while the totals were read keeps its
        # mark (``changed_at`` later than ``computed_at``): another refresh follows.
        snapshot.as_of = today
        snapshot.computed_at = started
        snapshot.requested_at = None
        snapshot.save(update_fields=["as_of", "computed_at", "requested_at"])
    return snapshot


def is_current(snapshot: ProgressSnapshot, today: datetime.date) -> bool:
    return (
        snapshot.computed_at is not None
        and snapshot.as_of == today
        and (snapshot.changed_at is None or snapshot.changed_at <= snapshot.computed_at)
    )


def request_refresh(round_id: int) -> None:
    """Queue a refresh of the round's snapshot unless one was queued recently (in
    process when there is no broker)."""
    from contracts.tasks import progress_refresh_task

    if current_app.conf.task_always_eager:
        refresh(round_id=round_id)
        return
    now = timezone.now()
    ProgressSnapshot.objects.get_or_create(round_id=round_id)
    queued = ProgressSnapshot.objects.filter(round_id=round_id).filter(
        Q(requested_at__isnull=True) | Q(requested_at__lt=now - REQUEUE_AFTER)
    )
    if queued.update(requested_at=now):
        transaction.on_commit(lambda: progress_refresh_task.delay(round_id))


def mark_changed(round_ids: Iterable[int]) -> None:
    """For the writers: the progress of these rounds changed (purchases, contracts).
    Marked once the writer's transaction commits, so a refresh that started before the
    commit (and did not see the change) is older than the mark."""
    ids = sorted(set(round_ids))

    def changed() -> None:
        ProgressSnapshot.objects.filter(round_id__in=ids).update(changed_at=timezone.now())
        if not current_app.conf.task_always_eager:  # in process: on the next read
            for round_id in ids:
                request_refresh(round_id)

    transaction.on_commit(changed)


def snapshot_for(round_id: int, *, today: datetime.date) -> ProgressSnapshot | None:
    """The round's snapshot to show (the previous one while a refresh is queued: compare
    with ``is_current``); ``None`` before the first refresh has run."""
    snapshot = ProgressSnapshot.objects.filter(round_id=round_id).first()
    if snapshot is None or not is_current(snapshot, today):
        request_refresh(round_id)
        snapshot = ProgressSnapshot.objects.filter(round_id=round_id).first()
    if snapshot is None or snapshot.computed_at is None:
        return None
    return snapshot

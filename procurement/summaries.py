"""A round's demand totals computed once per change, not per page load (issue 19).

The totals page grouped every declaration of the round (~920,000 nationally) by line and
province, and counted the distinct hospitals, on each load. Here ``refresh`` does it once
into the round's ``DemandTotalsSnapshot``; the writers (``demand_write``, ``demand_remove``)
mark it changed once their transaction commits and queue one refresh (``mark_changed``).
Until the refresh has run, the page shows the previous totals with the time they were
computed. Without a broker (development, the tests) the refresh runs in-process on the
next read, so the totals are current at once.
"""

from __future__ import annotations

import datetime
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from procurement.models import DemandDeclaration, DemandTotalsSnapshot

REQUEUE_AFTER = datetime.timedelta(minutes=15)
GROUP_FIELDS = (
    "round_item__item__code",
    "specification__label",
    "product__name",
    "product__model_number",
    "hospital__region__code",
)


def refresh_records(round_id: int) -> list[dict[str, Any]]:
    """Quantity and hospitals per line and province: one GROUP BY over the declarations."""
    return list(
        DemandDeclaration.objects.filter(round_item__round_id=round_id)
        .values(*GROUP_FIELDS)
        .annotate(quantity=Sum("quantity"), hospitals=Count("hospital", distinct=True))
        .order_by("round_item__item__code", "specification__label", "product__name")
    )


def refresh(*, round_id: int) -> DemandTotalsSnapshot:
    """Total the round's declarations (two aggregate queries) into its snapshot."""
    started = timezone.now()
    declarations = DemandDeclaration.objects.filter(round_item__round_id=round_id)
    records = refresh_records(round_id)
    counted = declarations.aggregate(h=Count("hospital", distinct=True), lines=Count("id"))
    with transaction.atomic():
        snapshot, _ = DemandTotalsSnapshot.objects.select_for_update().get_or_create(
            round_id=round_id
        )
        snapshot.records = records
        snapshot.hospitals_declared = counted["h"] or 0
        snapshot.lines = counted["lines"] or 0
        snapshot.computed_at = started
        snapshot.requested_at = None
        snapshot.save()
    return snapshot


def is_current(snapshot: DemandTotalsSnapshot) -> bool:
    return snapshot.computed_at is not None and (
        snapshot.changed_at is None or snapshot.changed_at <= snapshot.computed_at
    )


def request_refresh(round_id: int) -> None:
    """Queue one refresh (in process when there is no broker)."""
    from procurement.tasks import demand_totals_refresh_task

    if current_app.conf.task_always_eager:
        refresh(round_id=round_id)
        return
    now = timezone.now()
    DemandTotalsSnapshot.objects.get_or_create(round_id=round_id)
    queued = DemandTotalsSnapshot.objects.filter(round_id=round_id).filter(
        Q(requested_at__isnull=True) | Q(requested_at__lt=now - REQUEUE_AFTER)
    )
    if queued.update(requested_at=now):
        transaction.on_commit(lambda: demand_totals_refresh_task.delay(round_id))


def mark_changed(round_id: int) -> None:
    """For the writers: the round's declarations changed. Marked once the writer's
    transaction commits, so a refresh that started before the commit is older."""

    def changed() -> None:
        DemandTotalsSnapshot.objects.filter(round_id=round_id).update(changed_at=timezone.now())
        if not current_app.conf.task_always_eager:  # in process: on the next read
            request_refresh(round_id)

    transaction.on_commit(changed)


def snapshot_for(round_id: int) -> DemandTotalsSnapshot | None:
    """The snapshot to show (the previous one while a refresh is queued: see
    ``is_current``); ``None`` before the first refresh has run."""
    snapshot = DemandTotalsSnapshot.objects.filter(round_id=round_id).first()
    if snapshot is None or not is_current(snapshot):
        request_refresh(round_id)
        snapshot = DemandTotalsSnapshot.objects.filter(round_id=round_id).first()
    if snapshot is None or snapshot.computed_at is None:
        return None
    return snapshot

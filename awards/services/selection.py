"""Province selection of a final drug round (选择供应地区, DESIGN §2.1 rule 8).

The office opens a window; the winners of each item pick provinces in the draft order
(the lowest-priced winner first, then one each in rank order), and backup provinces once
their own are chosen. Closing the window (the office, or the deadline check) queues a
re-run of the final award with the choices as preferences
(``awards.problem.selection_preferences``): the optimiser honours them in draft order,
assigns every pick left open, and that run becomes the official result.
Locks the round row first (``awards.services.base``), or the selection row for a pick.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Notification, Region, User
from accounts.notifications import notifications_mark_done, notify
from awards.models import (
    AuditEntry,
    BidResult,
    EvaluationRun,
    ProvinceAllocation,
    ProvinceChoice,
    ProvinceSelection,
)
from awards.services.base import S, lock_round, official_run_get, rerun_create
from common.i18n import bilingual
from procurement.models import Round, RoundItem
from procurement.optimiser.allocation import draft_order
from procurement.services import when_shown


@dataclass(frozen=True)
class DraftPick:
    number: int  # 0-based place in the draft order
    bid_id: int
    manufacturer_id: int
    region_id: int | None = None
    made: bool = False  # chosen, or left to the platform


@dataclass
class DraftBoard:
    """One item's draft: the pick order, what is taken, whose turn it is, what is free."""

    round_item_id: int
    winners: list[BidResult]
    picks: list[DraftPick]
    regions: list[Region]
    backups: dict[int, list[int]]  # bid id -> region ids in order

    @property
    def current(self) -> DraftPick | None:
        return next((p for p in self.picks if not p.made), None)

    @property
    def taken(self) -> set[int]:
        return {p.region_id for p in self.picks if p.region_id is not None}

    @property
    def free(self) -> list[Region]:
        taken = self.taken
        return [r for r in self.regions if r.pk not in taken]

    def done_for(self, bid_id: int) -> bool:
        return all(p.made for p in self.picks if p.bid_id == bid_id)


def draft_board(*, selection: ProvinceSelection, round_item_id: int) -> DraftBoard:
    """The draft of one item: winners in rank order, picks by ``draft_order``.

    The provinces are those the final run allocated for the item (those with demand),
    the same list the optimiser drafts over, so the walk below and the optimiser's agree.
    """
    return draft_boards(selection=selection, round_item_ids=[round_item_id])[round_item_id]


def draft_boards(
    *, selection: ProvinceSelection, round_item_ids: Sequence[int]
) -> dict[int, DraftBoard]:
    """``draft_board`` of each of ``round_item_ids``, read in four queries for all of
    them (the selection page shows a board per item: a national round has 60)."""
    run = selection.run.source_run
    ids = list(round_item_ids)
    winners: dict[int, list[BidResult]] = {pk: [] for pk in ids}
    for w in (
        BidResult.objects.filter(run=run, round_item_id__in=ids, outcome=BidResult.Outcome.WON)
        .select_related("manufacturer")
        .order_by("rank", "opened_bid_id")
    ):
        winners[w.round_item_id].append(w)
    region_ids: dict[int, set[int]] = {pk: set() for pk in ids}
    for item_id, region_id in (
        ProvinceAllocation.objects.filter(run=run, round_item_id__in=ids)
        .values_list("round_item_id", "region_id")
        .distinct()
    ):
        region_ids[item_id].add(region_id)
    all_regions = Region.objects.in_bulk({r for rs in region_ids.values() for r in rs})
    made: dict[int, dict[int, ProvinceChoice]] = {pk: {} for pk in ids}
    backups: dict[int, dict[int, list[int]]] = {pk: {} for pk in ids}
    for c in ProvinceChoice.objects.filter(selection=selection, round_item_id__in=ids).order_by(
        "opened_bid_id", "pick"
    ):
        if c.kind == ProvinceChoice.Kind.PRIMARY:
            made[c.round_item_id][c.pick] = c
        elif c.kind == ProvinceChoice.Kind.BACKUP and c.region_id is not None:
            backups[c.round_item_id].setdefault(c.opened_bid_id, []).append(c.region_id)
    boards = {}
    for item_id in ids:
        item_winners = winners[item_id]
        regions = sorted((all_regions[r] for r in region_ids[item_id]), key=lambda r: r.code)
        picks = []
        for number, index in enumerate(draft_order(len(item_winners), len(regions))):
            w = item_winners[index]
            choice = made[item_id].get(number)
            picks.append(
                DraftPick(
                    number=number,
                    bid_id=w.opened_bid_id,
                    manufacturer_id=w.manufacturer_id,
                    region_id=choice.region_id if choice else None,
                    made=choice is not None,
                )
            )
        boards[item_id] = DraftBoard(item_id, item_winners, picks, regions, backups[item_id])
    return boards


def _selection_for_update(selection_id: int, now: datetime.datetime) -> ProvinceSelection:
    selection = ProvinceSelection.objects.select_for_update().get(pk=selection_id)
    if selection.status != ProvinceSelection.Status.OPEN or now >= selection.closes_at:
        raise ValidationError(_("Province selection is closed."))
    return selection


def _winner_bid(board: DraftBoard, by: User) -> BidResult:
    org_id = by.organization_id
    bid = next((w for w in board.winners if w.manufacturer_id == org_id), None)
    if bid is None:
        raise ValidationError(_("Your organization is not a winner of this item."))
    return bid


def selection_open(
    *, round_: Round, by: User, closes_at: datetime.datetime, now: datetime.datetime | None = None
) -> ProvinceSelection:
    """Open the window in which the winners of a final drug round choose provinces."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_round(round_.pk)
        if locked.kind != Round.Kind.DRUGS:
            raise ValidationError(_("Province selection applies to drug rounds only."))
        if locked.status != S.AWARDED:
            raise ValidationError(
                _(
                    "Province selection opens after the award is final; "
                    "round %(code)s is %(status)s."
                )
                % {"code": locked.code, "status": locked.get_status_display()}
            )
        if ProvinceSelection.objects.filter(round=locked).exists():
            raise ValidationError(_("Province selection of this round was already opened."))
        if closes_at <= now:
            raise ValidationError(_("The selection must close in the future."))
        selection = ProvinceSelection.objects.create(
            round=locked, run=official_run_get(locked), closes_at=closes_at, opened_by=by
        )
        AuditEntry.objects.create(
            round=locked,
            action="selection_opened",
            by=by,
            detail={"closes_at": closes_at.isoformat()},
        )
        round_item_ids = BidResult.objects.filter(
            run=selection.run.source_run, outcome=BidResult.Outcome.WON
        ).values_list("round_item_id", flat=True)
        _notify_turns(selection, sorted(set(round_item_ids)))
    return selection


def selection_pick(
    *,
    selection: ProvinceSelection,
    round_item_id: int,
    by: User,
    region: Region | None,
    now: datetime.datetime | None = None,
) -> ProvinceChoice | None:
    """Take the current pick of the draft: a free province, or (``region=None``) leave this
    and all of the winner's remaining picks to the platform's assignment.

    Safe under concurrency: the selection row is locked, so picks are made one at a time
    and "whose turn" and "what is free" are read under the lock.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _selection_for_update(selection.pk, now)
        board = draft_board(selection=locked, round_item_id=round_item_id)
        bid = _winner_bid(board, by)
        current = board.current
        if current is None:
            raise ValidationError(_("Every province of this item has been chosen."))
        if current.bid_id != bid.opened_bid_id:
            raise ValidationError(_("It is not your turn yet."))
        if region is None:
            ProvinceChoice.objects.bulk_create(
                [
                    ProvinceChoice(
                        selection=locked,
                        round_item_id=round_item_id,
                        opened_bid_id=bid.opened_bid_id,
                        kind=ProvinceChoice.Kind.PRIMARY,
                        pick=p.number,
                        region=None,
                        by=by,
                    )
                    for p in board.picks
                    if p.bid_id == bid.opened_bid_id and not p.made
                ]
            )
            _turn_taken(locked, round_item_id, current)
            return None
        if region.pk not in {r.pk for r in board.free}:
            raise ValidationError(
                _("%(province)s is not free any more.") % {"province": region.name}
            )
        choice = ProvinceChoice.objects.create(
            selection=locked,
            round_item_id=round_item_id,
            opened_bid_id=bid.opened_bid_id,
            kind=ProvinceChoice.Kind.PRIMARY,
            pick=current.number,
            region=region,
            by=by,
        )
        _turn_taken(locked, round_item_id, current)
        return choice


def _turn_key(selection: ProvinceSelection, round_item_id: int, pick: DraftPick) -> str:
    return f"selection:{selection.pk}:{round_item_id}:{pick.number}"


def _turn_taken(selection: ProvinceSelection, round_item_id: int, pick: DraftPick) -> None:
    """The pick is made: its notice is done, and whoever's turn it is now is told."""
    notifications_mark_done(
        organization_id=pick.manufacturer_id,
        dedupe_keys=[_turn_key(selection, round_item_id, pick)],
    )
    _notify_turns(selection, [round_item_id])


def _notify_turns(selection: ProvinceSelection, round_item_ids: Sequence[int]) -> None:
    """Tell the winner whose turn it is on each item (once per pick)."""
    names = {
        pk: bilingual(name, name_en)
        for pk, name, name_en in RoundItem.objects.filter(pk__in=round_item_ids).values_list(
            "pk", "item__name", "item__name_en"
        )
    }
    for round_item_id in round_item_ids:
        current = draft_board(selection=selection, round_item_id=round_item_id).current
        if current is None:
            continue
        notify(
            organizations=[current.manufacturer_id],
            kind=Notification.Kind.SELECTION_TURN,
            subject=gettext_noop("Your turn to choose a province for %(item)s (round %(code)s)"),
            body=gettext_noop(
                "It is your turn in the province selection of %(item)s, round %(code)s. "
                "Choose before %(closes)s (China Standard Time); picks left open then are "
                "assigned by the platform."
            ),
            params={
                "item": names.get(round_item_id, bilingual("", "")),
                "code": selection.round.code,
                "closes": when_shown(selection.closes_at),
            },
            url=reverse("awards:selection", args=[selection.round_id]),
            dedupe_key=_turn_key(selection, round_item_id, current),
        )


def selection_backups_set(
    *,
    selection: ProvinceSelection,
    round_item_id: int,
    by: User,
    regions: Sequence[Region],
    now: datetime.datetime | None = None,
) -> list[ProvinceChoice]:
    """Set a winner's backup provinces (in order), once its own picks are made."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _selection_for_update(selection.pk, now)
        board = draft_board(selection=locked, round_item_id=round_item_id)
        bid = _winner_bid(board, by)
        if not board.done_for(bid.opened_bid_id):
            raise ValidationError(_("Choose your own provinces first; backups come afterwards."))
        own = {p.region_id for p in board.picks if p.bid_id == bid.opened_bid_id}
        allowed = {r.pk for r in board.regions}
        for region in regions:
            if region.pk in own:
                raise ValidationError(
                    _("%(province)s is your own province; a backup must be another winner's.")
                    % {"province": region.name}
                )
            if region.pk not in allowed:
                raise ValidationError(_("Choose provinces of this item."))
        ProvinceChoice.objects.filter(
            selection=locked,
            round_item_id=round_item_id,
            opened_bid_id=bid.opened_bid_id,
            kind=ProvinceChoice.Kind.BACKUP,
        ).delete()
        return ProvinceChoice.objects.bulk_create(
            [
                ProvinceChoice(
                    selection=locked,
                    round_item_id=round_item_id,
                    opened_bid_id=bid.opened_bid_id,
                    kind=ProvinceChoice.Kind.BACKUP,
                    pick=n,
                    region=region,
                    by=by,
                )
                for n, region in enumerate(dict.fromkeys(regions))
            ]
        )


def selection_close(
    *, selection: ProvinceSelection, by: User | None, now: datetime.datetime | None = None
) -> EvaluationRun:
    """Close the window and allocate: the choices are honoured in draft order and the
    optimiser assigns every pick left open (minimum cost within capacities).

    Closes once (conditional UPDATE on the status); the allocation is a run of the final
    award with the choices as preferences, which becomes the official result.
    """
    from awards.tasks import evaluation_run_task  # the task imports the services

    now = now or timezone.now()
    with transaction.atomic():
        locked_round = lock_round(selection.round_id)
        updated = ProvinceSelection.objects.filter(
            pk=selection.pk, status=ProvinceSelection.Status.OPEN
        ).update(status=ProvinceSelection.Status.CLOSED, closed_at=now)
        if updated != 1:
            raise ValidationError(_("Province selection is already closed."))
        final = EvaluationRun.objects.get(pk=selection.run_id)
        run = rerun_create(round_=locked_round, final=final, by=by, is_selection=True)
        ProvinceSelection.objects.filter(pk=selection.pk).update(result_run=run)
        AuditEntry.objects.create(
            round=locked_round, action="selection_closed", by=by, detail={"run": run.pk}
        )
        transaction.on_commit(lambda: evaluation_run_task.delay(run.pk))
    return run


def selection_deadline_check(*, now: datetime.datetime) -> int:
    """Close selection windows whose time is up (Celery beat; idempotent)."""
    closed = 0
    for selection in ProvinceSelection.objects.filter(
        status=ProvinceSelection.Status.OPEN, closes_at__lte=now
    ):
        try:
            selection_close(selection=selection, by=None, now=now)
            closed += 1
        except ValidationError:
            pass  # closed by the office meanwhile
    return closed

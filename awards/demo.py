"""The ready-made awarded demo round, part 2: evaluation, award and province selection.

Takes ``DEMO-2026-A1`` (left by ``bidding.demo`` with its bids opened) through the real
services, on the demo clock (``accounts.demo.demo_clock``) from an hour after its
opening: the official evaluation, the proposed winners published the next morning, the
objection period (the rule set's days, no objection), finalization an hour after it ends,
province selection an hour later (each winner takes its turns in the draft, choosing the
free province it prefers, ten minutes apart) and the allocation after selection.
``contracts.demo`` then draws up the contracts and records a month of purchases.

Different from a live round, demo only: the evaluation runs are executed in this process
right after they are queued (``evaluation_execute``, the task's own service): seed_demo
runs in one transaction, so the queued tasks only start after it commits and then find the
runs done (no-ops).
"""

from __future__ import annotations

import datetime
from typing import TextIO

from django.utils import timezone

from accounts.demo import DemoClock, demo_clock
from accounts.models import Organization, Region, User
from awards import services
from awards.models import EvaluationRun, ProvinceSelection
from bidding.demo import AWARDED_ROUND
from bidding.models import Opening
from procurement.models import Round

S = Round.Status


def office_user() -> User:
    """The demo office's user."""
    return User.objects.get(username="office")


def user_of(organization_id: int) -> User:
    """The first user of a demo organization."""
    user = User.objects.filter(organization_id=organization_id).order_by("pk").first()
    assert user is not None, f"demo organization {organization_id} has no user"
    return user


def _execute(run: EvaluationRun) -> None:
    """Demo only: run the queued evaluation here instead of after the commit."""
    services.evaluation_execute(run_id=run.pk)
    run.refresh_from_db()
    if run.status != EvaluationRun.Status.DONE:
        raise RuntimeError(f"demo evaluation run {run.pk} ended {run.status}: {run.error}")


def _award(round_: Round, clock: DemoClock) -> None:
    """From an hour after the opening: evaluate, publish the next morning at 10:00, and
    finalize an hour after the objection period ends."""
    office = office_user()
    _execute(services.evaluation_request(round_=round_, by=office))
    next_morning = timezone.localtime(clock.now()) + datetime.timedelta(days=1)
    clock.travel_to(next_morning.replace(hour=10, minute=0, second=0, microsecond=0))
    services.objection_period_open(round_=round_, by=office)
    round_.refresh_from_db()
    clock.travel_to(round_.objection_ends_at + datetime.timedelta(hours=1))
    services.award_finalize(round_=round_, by=office)


def _select_provinces(
    round_: Round, clock: DemoClock, pick_every: datetime.timedelta = datetime.timedelta(minutes=10)
) -> None:
    """An hour after finalizing, for two days: every winner makes its picks, ``pick_every``
    apart (ten minutes; the bench's rounds of many items pick closer, to fit the two days),
    its own province if free, else the first free one; the office then closes the
    selection."""
    office = office_user()
    clock.advance(datetime.timedelta(hours=1))
    selection = services.selection_open(
        round_=round_, by=office, closes_at=clock.now() + datetime.timedelta(days=2)
    )
    home = dict(
        Organization.objects.filter(kind=Organization.Kind.MANUFACTURER).values_list(
            "pk", "region_id"
        )
    )
    for round_item in round_.items.order_by("pk"):
        while True:
            board = services.draft_board(selection=selection, round_item_id=round_item.pk)
            current = board.current
            if current is None:
                break
            free = board.free
            region: Region = next(
                (r for r in free if r.pk == home.get(current.manufacturer_id)), free[0]
            )
            clock.advance(pick_every)
            services.selection_pick(
                selection=selection,
                round_item_id=round_item.pk,
                by=user_of(current.manufacturer_id),
                region=region,
            )
    clock.advance(datetime.timedelta(hours=1))
    _execute(services.selection_close(selection=selection, by=office))


def load(*, stdout: TextIO) -> None:
    round_ = Round.objects.filter(code=AWARDED_ROUND).first()
    if round_ is None or round_.status != S.BIDS_OPENED:
        return  # not loaded by bidding.demo in this run, or already taken further
    opened_at = Opening.objects.get(round=round_).opened_at
    with demo_clock(opened_at + datetime.timedelta(hours=1)) as clock:
        _award(round_, clock)
        round_.refresh_from_db()
        _select_provinces(round_, clock)
    stdout.write(f"awards: {AWARDED_ROUND} awarded, provinces selected\n")
    assert ProvinceSelection.objects.filter(round=round_, status="closed").exists()

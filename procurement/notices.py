"""Notices at every turn of a round: who must act, on what, by when.

Sent when the round moves (``round_transition_notices``, called by the lifecycle's one
transition function, so an office action and the deadline sweep send the same notices)
and by the beat schedule for reminders (``round_reminders_check``, in
``JICAI_DEADLINE_CHECKS``). Every notice has a dedupe key, so a sweep run twice or a
redelivered task sends nothing twice (``accounts.notifications.notify``); a notice that
asks for an action reaches its done state when the action is taken
(``demand_notices_done``, ``bidding_notices_done``).

Keys: ``round:<id>:<event>`` (one per organization by the notification's unique
constraint). The times in the texts are China Standard Time (``when_shown``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_noop

from accounts.models import Notification, Organization
from accounts.notifications import notifications_mark_done, notify
from procurement.models import DemandDeclaration, Round

S = Round.Status
DAY = datetime.timedelta(hours=24)
HOUR = datetime.timedelta(hours=1)

DEMAND_KEYS = ("demand_open", "demand_closing")
BIDDING_KEYS = ("bidding_open", "bidding_closing_24h", "bidding_closing_1h")


def key(round_: Round | int, event: str) -> str:
    return f"round:{getattr(round_, 'pk', round_)}:{event}"


def _when(moment: datetime.datetime) -> str:
    from procurement.services.lifecycle import when_shown  # the one CST format

    return when_shown(moment)


def _hospitals_in_scope(round_: Round) -> QuerySet[Organization]:
    return Organization.objects.filter(
        kind=Organization.Kind.HOSPITAL, region__in=round_.regions.all()
    )


def _declared(round_: Round) -> Exists:
    return Exists(
        DemandDeclaration.objects.filter(round_item__round=round_, hospital=OuterRef("pk"))
    )


def _manufacturers() -> QuerySet[Organization]:
    return Organization.objects.filter(kind=Organization.Kind.MANUFACTURER)


def _ids(organizations: QuerySet[Organization]) -> list[int]:
    return list(organizations.values_list("pk", flat=True))


def round_transition_notices(round_: Round, to: str) -> int:
    """The notices a round's move to ``to`` sends (in the transition's transaction; the
    e-mails go after it commits)."""
    sender = _TRANSITION_NOTICES.get(to)
    return sender(round_) if sender is not None else 0


def _demand_open(round_: Round) -> int:
    return notify(
        organizations=_ids(_hospitals_in_scope(round_)),
        kind=Notification.Kind.DEMAND_OPEN,
        subject=gettext_noop("Declare your demand for round %(code)s"),
        body=gettext_noop(
            "Demand declaration of round %(code)s is open until %(closes)s "
            "(China Standard Time). Declare your annual quantities for its items."
        ),
        params={
            "code": round_.code,
            "closes": _when(round_.demand_closes_at),
        },
        url=reverse("procurement:demand", args=[round_.code]),
        dedupe_key=key(round_, "demand_open"),
    )


_DEMAND_CLOSED_BODIES = {
    True: gettext_noop(
        "Demand declaration of round %(code)s has closed. Your declaration "
        "was received and counts in the pooled demand."
    ),
    False: gettext_noop(
        "Demand declaration of round %(code)s has closed. Your hospital "
        "declared no demand, so the round holds no volume for it; contact the "
        "procurement office if this is a mistake."
    ),
}


def _demand_closed(round_: Round) -> int:
    """Every hospital in scope, told its own status: declared, or not."""
    hospitals = _hospitals_in_scope(round_).annotate(declared=_declared(round_))
    by_status: dict[bool, list[int]] = {True: [], False: []}
    for pk, declared in hospitals.values_list("pk", "declared"):
        by_status[bool(declared)].append(pk)
    return sum(
        notify(
            organizations=organizations,
            kind=Notification.Kind.DEMAND_CLOSED,
            subject=gettext_noop("Demand declaration of round %(code)s closed"),
            body=_DEMAND_CLOSED_BODIES[declared],
            params={"code": round_.code},
            url=reverse("procurement:demand", args=[round_.code]),
            dedupe_key=key(round_, "demand_closed"),
        )
        for declared, organizations in by_status.items()
    )


def _bidding_open(round_: Round) -> int:
    return notify(
        organizations=_ids(_manufacturers()),
        kind=Notification.Kind.BIDDING_OPEN,
        subject=gettext_noop("Bidding of round %(code)s is open"),
        body=gettext_noop(
            "Round %(code)s accepts sealed bids until %(deadline)s (China "
            "Standard Time). Its procurement document, ceilings and volumes are published "
            "on the round page."
        ),
        params={
            "code": round_.code,
            "deadline": _when(round_.bid_deadline),
        },
        url=reverse("procurement:round", args=[round_.code]),
        dedupe_key=key(round_, "bidding_open"),
    )


def _bids_opened(round_: Round) -> int:
    return notify(
        organizations=_ids(_manufacturers()),
        kind=Notification.Kind.BIDS_OPENED,
        subject=gettext_noop("Bids of round %(code)s opened"),
        body=gettext_noop(
            "The bids of round %(code)s have been opened. The opening record "
            "is public; the evaluation follows."
        ),
        params={"code": round_.code},
        url=reverse("procurement:round", args=[round_.code]),
        dedupe_key=key(round_, "bids_opened"),
    )


_TRANSITION_NOTICES: dict[str, Callable[[Round], int]] = {
    S.DEMAND_OPEN: _demand_open,
    S.DEMAND_CLOSED: _demand_closed,
    S.BIDDING_OPEN: _bidding_open,
    S.BIDS_OPENED: _bids_opened,
}


def round_reminders_check(*, now: datetime.datetime) -> int:
    """Reminders (Celery beat, every minute; each sent once by its dedupe key): demand
    closing within 24 h to hospitals in scope that have declared nothing; bidding closing
    within 24 h and within 1 h to every manufacturer."""
    sent = 0
    for round_ in Round.objects.filter(
        status=S.DEMAND_OPEN, demand_closes_at__gt=now, demand_closes_at__lte=now + DAY
    ):
        undeclared = _hospitals_in_scope(round_).filter(~_declared(round_))
        sent += notify(
            organizations=_ids(undeclared),
            kind=Notification.Kind.DEMAND_CLOSING,
            subject=gettext_noop("Demand declaration of round %(code)s closes soon"),
            body=gettext_noop(
                "Demand declaration of round %(code)s closes at %(closes)s "
                "(China Standard Time) and your hospital has declared nothing yet."
            ),
            params={
                "code": round_.code,
                "closes": _when(round_.demand_closes_at),
            },
            url=reverse("procurement:demand", args=[round_.code]),
            dedupe_key=key(round_, "demand_closing"),
        )
    for round_ in Round.objects.filter(
        status=S.BIDDING_OPEN, bid_deadline__gt=now, bid_deadline__lte=now + DAY
    ):
        left = round_.bid_deadline - now
        event = "bidding_closing_1h" if left <= HOUR else "bidding_closing_24h"
        sent += notify(
            organizations=_ids(_manufacturers()),
            kind=Notification.Kind.BIDDING_CLOSING,
            subject=(
                gettext_noop("Bidding of round %(code)s closes within an hour")
                if left <= HOUR
                else gettext_noop("Bidding of round %(code)s closes within 24 hours")
            ),
            body=gettext_noop(
                "Round %(code)s accepts sealed bids until %(deadline)s (China "
                "Standard Time). Bids cannot be sealed, revised or withdrawn after it."
            ),
            params={
                "code": round_.code,
                "deadline": _when(round_.bid_deadline),
            },
            url=reverse("procurement:round", args=[round_.code]),
            dedupe_key=key(round_, event),
        )
    return sent


def demand_notices_done(*, round_: Round, hospital_id: int) -> int:
    """The hospital has declared: its demand notices of the round are done."""
    return notifications_mark_done(
        organization_id=hospital_id, dedupe_keys=[key(round_, e) for e in DEMAND_KEYS]
    )


def bidding_notices_done(*, round_: Round | int, manufacturer_id: int) -> int:
    """The manufacturer has sealed a bid in the round: its bidding notices are done."""
    return notifications_mark_done(
        organization_id=manufacturer_id, dedupe_keys=[key(round_, e) for e in BIDDING_KEYS]
    )

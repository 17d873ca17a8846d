"""The bid deadline, judged by the server's clock, and the round lock that orders every
bid change against it.

Every bid change first takes the round row in share mode (``SELECT ... FOR SHARE`` on
PostgreSQL), then, for an existing bid, the bid row ``FOR UPDATE``: always in that order,
so services cannot deadlock, and bidders do not queue behind one another. The deadline
sweep (``procurement.services.round_deadline_check``) and the opening change that round
row (an ``UPDATE``, and ``FOR UPDATE`` for the opening), which conflicts with the share
lock: they wait for every bid transaction in flight, and a bid transaction arriving after
them waits, then reads the new status and is refused.

The deadline is judged by the server's clock inside the transaction, twice: once after
the lock is taken, and again just before the commit (``_finish_before_deadline``; for a
new bid on PostgreSQL just before its last statement, the log entry sent with the
``COMMIT``: bidding.services.statements). A bid whose transaction reaches its commit after
``bid_deadline`` is rolled back and refused, even if its form was opened (or its request
started) before the deadline.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from procurement.models import Round

S = Round.Status


def _now() -> datetime.datetime:
    """The server's clock, as the deadline checks read it (one place, so tests can step it)."""
    return timezone.now()


def _when(moment: datetime.datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i:s")


def _deadline_message(round_: Round) -> str:
    return _(
        "Bidding for round %(code)s closed at %(when)s (server time); this bid was not accepted."
    ) % {"code": round_.code, "when": _when(round_.bid_deadline)}


def _require_bidding_open(round_: Round) -> None:
    if round_.status != S.BIDDING_OPEN:
        if round_.status not in {S.DRAFT, S.DEMAND_OPEN, S.DEMAND_CLOSED, S.CANCELLED}:
            raise ValidationError(_deadline_message(round_), code="deadline")
        raise ValidationError(
            _("Round %(code)s is not open for bidding (%(status)s).")
            % {"code": round_.code, "status": round_.get_status_display()},
            code="not_open",
        )
    if _now() >= round_.bid_deadline:
        raise ValidationError(_deadline_message(round_), code="deadline")


def _lock_round(round_id: int, *, exclusive: bool = False) -> Round:
    """Lock the round row that orders every bid change against the deadline.

    Bid transactions take it in share mode (``FOR SHARE`` on PostgreSQL), so bidders do
    not wait for one another, while the deadline sweep's and the opening's ``UPDATE`` of
    the row (and the opening's ``FOR UPDATE``, ``exclusive``) wait for every bid
    transaction in flight, and bid transactions arriving later wait for them and then
    read the new status. SQLite has no row locks; it serializes writers anyway.
    """
    rounds = Round.objects.select_related("rule_set")
    if exclusive or connection.vendor != "postgresql":
        return rounds.select_for_update(of=("self",)).get(pk=round_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {connection.ops.quote_name(Round._meta.db_table)} "  # noqa: S608
            "WHERE id = %s FOR SHARE",
            [round_id],
        )
    return rounds.get(pk=round_id)


def _finish_before_deadline(round_: Round) -> None:
    """The last statement of a bid transaction: refuse (roll back) if the deadline passed."""
    if _now() >= round_.bid_deadline:
        raise ValidationError(_deadline_message(round_), code="deadline")

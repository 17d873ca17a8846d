"""The bidding notices' done state: a manufacturer that has sealed a bid in a round has
done what "bidding open" and "bidding closing" asked of it.

Marked by the deadline sweep (every minute), not by the bid itself, so a bid costs no
extra statement (the submission's statement budget, docs/sealed-bidding.md); a notice may
so stay "to do" for up to a minute after the bid.
"""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef

from accounts.models import Notification
from bidding.models import Bid
from procurement.models import Round
from procurement.notices import BIDDING_KEYS, key

S = Round.Status


def bidding_notices_done_check(*, now: datetime.datetime) -> int:
    """One conditional UPDATE per round with bidding open or just closed."""
    done = 0
    rounds = Round.objects.filter(status__in=[S.BIDDING_OPEN, S.BIDDING_CLOSED]).values_list(
        "pk", flat=True
    )
    for round_id in rounds:
        bid = Bid.objects.filter(round_id=round_id, manufacturer=OuterRef("organization_id"))
        done += (
            Notification.objects.filter(
                dedupe_key__in=[key(round_id, e) for e in BIDDING_KEYS], done_at__isnull=True
            )
            .filter(Exists(bid))
            .update(done_at=now)
        )
    return done

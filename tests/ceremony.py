"""Opening officials for tests: every round that opens for bidding in a test gets three
officials with known passphrases (2 of 3), so its bids are really sealed to a k-of-n key;
``open_bids`` opens a round the way the ceremony does, with two officials' shares.

``tests/conftest.py`` connects ``give_round_officials`` to ``round_published`` for every
test; a test that designates officials itself before bidding opens is left alone.
"""

from __future__ import annotations

import datetime
from typing import Any

from accounts.models import User
from bidding.models import Opening, OpeningOfficial, RoundCustody
from bidding.services.ceremony import (
    custody_designate,
    custody_rebuild,
    official_enroll,
    official_share,
)
from bidding.services.opening import round_open_bids
from procurement.models import Round

PASSPHRASES = ("test passphrase one", "test passphrase two", "test passphrase three")
THRESHOLD = 2


def give_round_officials(round_: Round, **kwargs: Any) -> list[User]:
    """Designate and enroll three officials of the round's office (idempotent)."""
    if RoundCustody.objects.filter(round=round_).exists():
        return [o.user for o in OpeningOfficial.objects.filter(custody__round=round_)]
    officials = [
        User.objects.create_user(
            username=f"opener-{round_.pk}-{i}",
            password="x",
            organization_id=round_.office_id,
        )
        for i in range(1, len(PASSPHRASES) + 1)
    ]
    custody_designate(round_=round_, officials=officials, threshold=THRESHOLD, by=officials[0])
    for user, passphrase in zip(officials, PASSPHRASES, strict=True):
        official_enroll(round_=round_, user=user, passphrase=passphrase)
    return officials


def on_round_published(sender: Any = None, round_: Round | None = None, **kwargs: Any) -> None:
    if round_ is not None:
        give_round_officials(round_)


def open_bids(
    *,
    round_: Round,
    by: User | None = None,
    now: datetime.datetime | None = None,
    trigger: str = Opening.Trigger.OFFICE,
    officials: tuple[int, ...] = (1, 2),
    passphrases: tuple[str, ...] = PASSPHRASES,
) -> Opening:
    """Open the round's bids with the shares of officials ``officials`` (share numbers)."""
    row = RoundCustody.objects.get(round=round_)
    shares = [
        official_share(
            official=row.officials.select_related("custody__round").get(share_index=i),
            passphrase=passphrases[i - 1],
            by=by,
        )
        for i in officials
    ]
    key = custody_rebuild(row=row, shares=shares)
    return round_open_bids(round_=round_, by=by, private_key=key, now=now, trigger=trigger)

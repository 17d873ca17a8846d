"""Signals of lower apps the bidding app receives. A receiver only calls a service."""

from __future__ import annotations

import datetime
from typing import Any

from accounts.models import User
from bidding.services.log import log_close
from bidding.services.statements import log_head_ensure
from procurement.models import Round


def log_head_on_bidding_closed(
    *, round_: Round, by: User | None, at: datetime.datetime, **_kwargs: Any
) -> None:
    """Bidding has closed: publish the final head of the round's bid log (before any
    decryption: the opening runs later, or later in the same transaction)."""
    log_close(round_=round_, at=at)


def log_head_on_round_published(*, round_: Round, **_kwargs: Any) -> None:
    """Bidding has opened: create the round's empty bid log head now, so a bid's
    transaction only locks it (one statement fewer per bid)."""
    log_head_ensure(round_)

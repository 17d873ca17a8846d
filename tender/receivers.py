"""Signals of lower apps the tender app receives. A receiver only calls a service."""

from __future__ import annotations

import datetime
from typing import Any

from accounts.models import User
from procurement.models import Round
from tender import services


def document_on_round_published(
    *, round_: Round, by: User | None, at: datetime.datetime, **_kwargs: Any
) -> None:
    """Bidding has opened: the procurement document's first version is published."""
    services.document_publish(round_=round_, by=by, now=at)

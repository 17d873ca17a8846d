"""Execution progress: bought against agreed volume and against the pro-rata schedule.

Pure (no Django): dates and whole numbers in, figures out. The schedule is linear over
the contract term: by day ``d`` of a term of ``D`` days, ``agreed x d / D`` units should
have been bought (rounded half up to a unit).

A line is *behind schedule* when, at least ``GRACE_DAYS`` into the term, it has bought
less than ``BEHIND_RATIO`` of that pro-rata volume. 80% and a month of grace are the
platform's defaults: purchases are reported monthly, so a shortfall inside the first month
says nothing yet.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

BEHIND_RATIO = Decimal("0.8")
GRACE_DAYS = 30


def elapsed_days(starts_on: datetime.date, ends_on: datetime.date, today: datetime.date) -> int:
    """Days of the term that have begun by ``today`` (0 before the start, all after the end)."""
    if today < starts_on:
        return 0
    return min((today - starts_on).days + 1, (ends_on - starts_on).days + 1)


def expected_by(
    agreed: int, starts_on: datetime.date, ends_on: datetime.date, today: datetime.date
) -> int:
    term = (ends_on - starts_on).days + 1
    share = Decimal(agreed) * elapsed_days(starts_on, ends_on, today) / term
    return int(share.to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Progress:
    agreed: int
    bought: int
    expected: int
    elapsed: int  # days of the term begun (the smallest over the lines combined)

    @property
    def share_of_agreed(self) -> Decimal | None:
        return None if self.agreed == 0 else Decimal(self.bought) / self.agreed

    @property
    def share_of_expected(self) -> Decimal | None:
        return None if self.expected == 0 else Decimal(self.bought) / self.expected

    @property
    def beyond_agreed(self) -> int:
        """Units bought beyond the agreed volume (allowed; shown as such)."""
        return max(0, self.bought - self.agreed)

    @property
    def behind(self) -> bool:
        return (
            self.elapsed >= GRACE_DAYS
            and self.expected > 0
            and Decimal(self.bought) < BEHIND_RATIO * self.expected
        )

    @property
    def shortfall(self) -> int:
        """Units short of the pro-rata volume (0 when on or ahead of schedule)."""
        return max(0, self.expected - self.bought)


def line_progress(
    *,
    agreed: int,
    bought: int,
    starts_on: datetime.date,
    ends_on: datetime.date,
    today: datetime.date,
) -> Progress:
    return Progress(
        agreed=agreed,
        bought=bought,
        expected=expected_by(agreed, starts_on, ends_on, today),
        elapsed=elapsed_days(starts_on, ends_on, today),
    )


def combine(parts: Iterable[Progress]) -> Progress:
    """Totals over lines (a hospital, an item, a province, a winner)."""
    items = list(parts)
    return Progress(
        agreed=sum(p.agreed for p in items),
        bought=sum(p.bought for p in items),
        expected=sum(p.expected for p in items),
        elapsed=min((p.elapsed for p in items), default=0),
    )


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def parse_month(text: str) -> datetime.date | None:
    """``2027-03`` (or ``2027/03``, ``2027-03-01``, ``202703``) -> 2027-03-01, else None."""
    cleaned = text.strip().replace("/", "-").replace(".", "-")
    for pattern in ("%Y-%m", "%Y-%m-%d", "%Y%m"):
        try:
            return month_start(datetime.datetime.strptime(cleaned, pattern).date())  # noqa: DTZ007
        except ValueError:
            continue
    return None

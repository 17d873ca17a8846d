"""The execution-progress rule (``contracts.progress``) at its boundaries, without a database.

The published rule (docs/awards-and-contracts.md §8, module docstring of
``contracts/progress.py``): the agreed volume is spread evenly over the term, day ``d`` of
a ``D``-day term expecting ``agreed x d / D`` units rounded half up to a unit; a line is
*behind schedule* when, ``GRACE_DAYS`` = 30 days or more into its term, it has bought less
than ``BEHIND_RATIO`` = 80% of that pro-rata volume. Purchases are reported by month, typed
as ``2027-03``, ``2027/03``, ``2027.03``, ``2027-03-01`` or ``202703``.

Every outcome is compared as a whole ``Progress`` (agreed, bought, expected, elapsed) and
each derived figure is asserted, so a lost field or a moved boundary fails here; these are
the tests ``make mutation`` runs against the module.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest

from contracts import progress
from contracts.progress import (
    Progress,
    combine,
    elapsed_days,
    expected_by,
    line_progress,
    month_start,
    parse_month,
)

D = datetime.date
DAY = datetime.timedelta(days=1)

# A two-year term of 731 days (2028 is a leap year) and a four-day one where every
# elapsed day gives a quarter of the agreed volume.
START, END = D(2027, 1, 1), D(2028, 12, 31)
SHORT_START, SHORT_END = D(2027, 3, 1), D(2027, 3, 4)


def test_the_published_constants() -> None:
    """80% of the pro-rata volume after 30 days of grace (awards-and-contracts.md §8)."""
    assert Decimal("0.8") == progress.BEHIND_RATIO
    assert progress.GRACE_DAYS == 30


# --- elapsed days: the first and the last day of a term --------------------------------


@pytest.mark.parametrize(
    ("today", "elapsed"),
    [
        (START - 400 * DAY, 0),  # long before the term
        (START - DAY, 0),  # the day before the first day
        (START, 1),  # the first day of the term has begun
        (START + DAY, 2),
        (D(2027, 1, 30), 30),  # the 30th day: grace ends
        (D(2028, 2, 29), 425),  # leap day
        (END - DAY, 730),
        (END, 731),  # the last day: the whole term
        (END + DAY, 731),  # after the end: still the whole term, never more
        (END + 1000 * DAY, 731),
    ],
)
def test_elapsed_days_from_before_the_first_to_after_the_last_day(
    today: datetime.date, elapsed: int
) -> None:
    assert elapsed_days(START, END, today) == elapsed


def test_a_one_day_term() -> None:
    day = D(2027, 6, 15)
    assert [elapsed_days(day, day, day + n * DAY) for n in (-1, 0, 1)] == [0, 1, 1]
    assert [expected_by(7, day, day, day + n * DAY) for n in (-1, 0, 1)] == [0, 7, 7]


# --- expected volume: linear, half up --------------------------------------------------


@pytest.mark.parametrize(
    ("agreed", "today", "expected"),
    [
        (7310, START - DAY, 0),  # nothing before the term
        (7310, START, 10),  # 7310 x 1 / 731
        (7310, D(2027, 4, 10), 1000),  # day 100
        (7310, END, 7310),  # all of it on the last day
        (7310, END + 30 * DAY, 7310),  # and never more after it
        (731, D(2027, 1, 2), 2),  # 731 x 2 / 731
        (100, D(2027, 1, 4), 1),  # 0.547 -> 1
        (100, D(2027, 1, 2), 0),  # 0.273 -> 0
        (0, END, 0),
    ],
)
def test_expected_volume_over_a_two_year_term(
    agreed: int, today: datetime.date, expected: int
) -> None:
    assert expected_by(agreed, START, END, today) == expected


@pytest.mark.parametrize(
    ("agreed", "day", "expected"),
    [
        # Shares of exactly .5 round up (ROUND_HALF_UP), whichever the neighbour's parity:
        (2, 1, 1),  # 0.5 -> 1 (half-even would give 0)
        (10, 1, 3),  # 2.5 -> 3 (half-even 2)
        (6, 1, 2),  # 1.5 -> 2
        (2, 3, 2),  # 1.5 -> 2
        (18, 1, 5),  # 4.5 -> 5 (half-even 4)
        # Just under and just above a half:
        (1, 1, 0),  # 0.25 -> 0
        (3, 1, 1),  # 0.75 -> 1
        (5, 1, 1),  # 1.25 -> 1
        (7, 3, 5),  # 5.25 -> 5
        (9, 2, 5),  # 4.5 -> 5
        (9, 4, 9),
    ],
)
def test_expected_volume_rounds_half_up(agreed: int, day: int, expected: int) -> None:
    """A four-day term: day ``d`` expects agreed x d / 4, so halves occur exactly."""
    today = SHORT_START + (day - 1) * DAY
    assert elapsed_days(SHORT_START, SHORT_END, today) == day
    assert expected_by(agreed, SHORT_START, SHORT_END, today) == expected


def test_expected_volume_of_a_large_line_is_exact() -> None:
    """No float or 28-digit rounding on a national volume: 10**15 x 366 / 731."""
    agreed = 10**15
    today = D(2028, 1, 1)  # day 366
    assert expected_by(agreed, START, END, today) == 500_683_994_528_044  # .776 -> up
    assert expected_by(731 * 10**12 + 1, START, END, today) == 366 * 10**12 + 1  # .5006..


# --- one line: every field ---------------------------------------------------------------


def test_a_line_on_the_first_day() -> None:
    p = line_progress(agreed=7310, bought=0, starts_on=START, ends_on=END, today=START)
    assert p == Progress(agreed=7310, bought=0, expected=10, elapsed=1)
    assert p.share_of_agreed == Decimal(0)
    assert p.share_of_expected == Decimal(0)
    assert (p.beyond_agreed, p.shortfall, p.behind) == (0, 10, False)  # within grace


def test_a_line_before_its_term() -> None:
    p = line_progress(agreed=7310, bought=3, starts_on=START, ends_on=END, today=START - DAY)
    assert p == Progress(agreed=7310, bought=3, expected=0, elapsed=0)
    assert p.share_of_expected is None  # nothing expected yet: no share, not infinity
    assert p.share_of_agreed == Decimal(3) / 7310
    assert (p.beyond_agreed, p.shortfall, p.behind) == (0, 0, False)


def test_a_line_on_its_last_day_beyond_its_agreed_volume() -> None:
    p = line_progress(agreed=100, bought=130, starts_on=START, ends_on=END, today=END)
    assert p == Progress(agreed=100, bought=130, expected=100, elapsed=731)
    assert p.share_of_agreed == Decimal("1.3")
    assert p.share_of_expected == Decimal("1.3")
    assert (p.beyond_agreed, p.shortfall, p.behind) == (30, 0, False)


def test_a_line_after_its_term_short_of_its_volume() -> None:
    p = line_progress(agreed=100, bought=79, starts_on=START, ends_on=END, today=END + 90 * DAY)
    assert p == Progress(agreed=100, bought=79, expected=100, elapsed=731)
    assert p.share_of_agreed == Decimal("0.79")
    assert (p.beyond_agreed, p.shortfall, p.behind) == (0, 21, True)


def test_a_line_on_day_100() -> None:
    p = line_progress(agreed=7310, bought=700, starts_on=START, ends_on=END, today=D(2027, 4, 10))
    assert p == Progress(agreed=7310, bought=700, expected=1000, elapsed=100)
    assert p.share_of_agreed == Decimal(700) / 7310
    assert p.share_of_expected == Decimal("0.7")
    assert (p.beyond_agreed, p.shortfall, p.behind) == (0, 300, True)


def test_shares_divide_bought_by_agreed_and_by_expected() -> None:
    p = Progress(agreed=8, bought=2, expected=5, elapsed=40)
    assert (p.share_of_agreed, p.share_of_expected) == (Decimal("0.25"), Decimal("0.4"))
    p = Progress(agreed=1, bought=3, expected=1, elapsed=40)
    assert (p.share_of_agreed, p.share_of_expected) == (Decimal(3), Decimal(3))


def test_shares_with_nothing_agreed_or_expected() -> None:
    p = Progress(agreed=0, bought=5, expected=0, elapsed=40)
    assert p.share_of_agreed is None
    assert p.share_of_expected is None
    assert (p.beyond_agreed, p.shortfall, p.behind) == (5, 0, False)


@pytest.mark.parametrize(
    ("agreed", "bought", "beyond"),
    [(100, 0, 0), (100, 99, 0), (100, 100, 0), (100, 101, 1), (100, 250, 150), (0, 7, 7)],
)
def test_beyond_agreed(agreed: int, bought: int, beyond: int) -> None:
    assert Progress(agreed=agreed, bought=bought, expected=0, elapsed=0).beyond_agreed == beyond


@pytest.mark.parametrize(
    ("expected", "bought", "shortfall"),
    [(100, 0, 100), (100, 99, 1), (100, 100, 0), (100, 101, 0), (100, 250, 0), (0, 0, 0)],
)
def test_shortfall(expected: int, bought: int, shortfall: int) -> None:
    p = Progress(agreed=1000, bought=bought, expected=expected, elapsed=10)
    assert p.shortfall == shortfall


# --- behind schedule: 30 days of grace, 80% ----------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "behind"),
    [(0, False), (1, False), (29, False), (30, True), (31, True), (731, True)],
)
def test_the_thirty_day_grace_boundary(elapsed: int, behind: bool) -> None:
    """Nothing bought: behind from the 30th day of the term, never before."""
    assert Progress(agreed=7310, bought=0, expected=300, elapsed=elapsed).behind is behind


def test_the_grace_boundary_by_date() -> None:
    """The 29th and the 30th day of a real term (1 and 30 January 2027 are days 1 and 30)."""
    days = {}
    for today in (D(2027, 1, 29), D(2027, 1, 30)):
        p = line_progress(agreed=7310, bought=0, starts_on=START, ends_on=END, today=today)
        days[today.day] = (p.elapsed, p.expected, p.shortfall, p.behind)
    assert days == {29: (29, 290, 290, False), 30: (30, 300, 300, True)}


@pytest.mark.parametrize(
    ("expected", "bought", "behind"),
    [
        (10, 8, False),  # exactly 80%: on schedule
        (10, 7, True),  # just under
        (1000, 800, False),
        (1000, 799, True),
        (1000, 1000, False),
        (1000, 5000, False),
        (5, 4, False),  # 80% of 5 is 4
        (5, 3, True),
        (3, 2, True),  # 2 < 2.4
        (3, 3, False),
        (1, 0, True),  # one unit expected, none bought
        (1, 1, False),
        (0, 0, False),  # nothing expected: never behind
    ],
)
def test_the_eighty_percent_boundary(expected: int, bought: int, behind: bool) -> None:
    p = Progress(agreed=10_000, bought=bought, expected=expected, elapsed=30)
    assert p.behind is behind


def test_behind_needs_both_the_grace_and_the_shortfall() -> None:
    assert Progress(agreed=100, bought=0, expected=50, elapsed=29).behind is False
    assert Progress(agreed=100, bought=40, expected=50, elapsed=30).behind is False
    assert Progress(agreed=100, bought=39, expected=50, elapsed=30).behind is True
    assert Progress(agreed=100, bought=0, expected=0, elapsed=400).behind is False


# --- totals over lines --------------------------------------------------------------------


def test_combine_adds_each_figure_and_keeps_the_smallest_elapsed() -> None:
    lines = [
        Progress(agreed=100, bought=10, expected=40, elapsed=120),
        Progress(agreed=2000, bought=300, expected=500, elapsed=35),
        Progress(agreed=30_000, bought=5000, expected=6000, elapsed=400),
    ]
    total = combine(lines)
    assert total == Progress(agreed=32_100, bought=5310, expected=6540, elapsed=35)
    assert combine(iter(lines)) == total  # any iterable, read once
    assert (total.shortfall, total.beyond_agreed, total.behind) == (1230, 0, False)


def test_combine_of_a_line_not_yet_started_is_within_grace() -> None:
    """A hospital with one line 400 days in and one that starts tomorrow: the total is
    judged by the newer line, so it is not yet behind."""
    total = combine(
        [
            Progress(agreed=1000, bought=0, expected=500, elapsed=400),
            Progress(agreed=1000, bought=0, expected=0, elapsed=0),
        ]
    )
    assert total == Progress(agreed=2000, bought=0, expected=500, elapsed=0)
    assert total.behind is False


def test_combine_of_one_line_and_of_none() -> None:
    one = Progress(agreed=7, bought=3, expected=5, elapsed=31)
    assert combine([one]) == one
    empty = combine([])
    assert empty == Progress(agreed=0, bought=0, expected=0, elapsed=0)
    assert (empty.share_of_agreed, empty.share_of_expected, empty.behind) == (None, None, False)


def test_progress_is_immutable() -> None:
    p = Progress(agreed=1, bought=0, expected=0, elapsed=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.bought = 5  # type: ignore[misc]


# --- months --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "first"),
    [
        (D(2027, 3, 1), D(2027, 3, 1)),
        (D(2027, 3, 2), D(2027, 3, 1)),
        (D(2027, 3, 31), D(2027, 3, 1)),
        (D(2028, 2, 29), D(2028, 2, 1)),
    ],
)
def test_month_start(day: datetime.date, first: datetime.date) -> None:
    assert month_start(day) == first


@pytest.mark.parametrize(
    "text",
    [
        "2027-03",
        "2027/03",
        "2027.03",
        "202703",
        "2027-3",
        "2027/3",
        "2027.3",
        "2027-03-01",
        "2027-03-31",
        "2027/03/15",
        "2027.03.15",
        " 2027-03 ",
        "\t202703\n",
        " 2027.03.31 ",
    ],
)
def test_every_month_format_gives_the_first_of_the_month(text: str) -> None:
    assert parse_month(text) == D(2027, 3, 1)


@pytest.mark.parametrize(
    ("text", "month"),
    [("2027-12", D(2027, 12, 1)), ("202712", D(2027, 12, 1)), ("2028.01", D(2028, 1, 1))],
)
def test_the_first_and_last_month_of_a_year(text: str, month: datetime.date) -> None:
    assert parse_month(text) == month


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "March",
        "2027",
        "2027-13",
        "2027-00",
        "202713",
        "2027-02-30",
        "03/2027",
        "2027_03",
        "2027-03-01 10:00",
    ],
)
def test_anything_else_is_not_a_month(text: str) -> None:
    assert parse_month(text) is None

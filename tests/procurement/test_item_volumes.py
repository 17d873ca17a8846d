"""Bidders see what they bid for (issue 14, point 7): per item, the pooled demand and the
first-year agreed volume by number of winners, on the round page and the bid sheet, in
both languages; the figure for the number that then wins is the award's own."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from awards import services
from awards.models import ItemAward
from procurement.models import Round
from procurement.optimiser.allocation import VolumeByWinners, agreed_volume_by_winners
from procurement.selectors import round_item_volumes
from tests.awards.factories import opened_round
from tests.factories import TEST_PASSWORD

BATCH_4 = {
    "volume_share_by_winners": ["0.5", "0.6", "0.7", "0.8"],
    "term_years_by_winners": [1, 1, 2, 3],
}
# Beijing declares 6,001 + 4,000 tablets, Shanghai 10,003.
ODD_DEMAND = (("11", 6001), ("11", 4000), ("31", 10003))


def test_the_agreed_volume_is_each_provinces_share_rounded_half_up_and_summed() -> None:
    # Typed in by hand: 0.5 x 1,001 = 500.5 -> 501 and 0.5 x 333 = 166.5 -> 167: 668
    # (not 0.5 x 1,334 = 667); 0.6: 600.6 -> 601, 199.8 -> 200; 0.7: 700.7 -> 701,
    # 233.1 -> 233; 0.8: 800.8 -> 801, 266.4 -> 266.
    assert agreed_volume_by_winners(BATCH_4, [1001, 333]) == [
        VolumeByWinners(1, False, Decimal("0.5"), 668, 1),
        VolumeByWinners(2, False, Decimal("0.6"), 801, 1),
        VolumeByWinners(3, False, Decimal("0.7"), 934, 2),
        VolumeByWinners(4, True, Decimal("0.8"), 1067, 3),
    ]
    assert [v.share_percent for v in agreed_volume_by_winners(BATCH_4, [1])] == [
        "50",
        "60",
        "70",
        "80",
    ]


def test_a_longer_term_table_adds_rows_with_the_last_share() -> None:
    rows = agreed_volume_by_winners(
        {"volume_share_by_winners": ["0.3", "0.4"], "term_years_by_winners": [1, 1, 2]}, [100]
    )
    assert [(v.winners, v.or_more, v.agreed_volume, v.term_years) for v in rows] == [
        (1, False, 30, 1),
        (2, False, 40, 1),
        (3, True, 40, 2),
    ]


def test_a_rule_without_a_share_table_publishes_the_pooled_demand_only() -> None:
    assert agreed_volume_by_winners({"group_a_volume_share": "0.8", "term_years": 2}, [5]) == []


@pytest.mark.django_db
def test_nothing_is_published_while_demand_can_still_change() -> None:
    built = opened_round(demand=ODD_DEMAND)
    Round.objects.filter(pk=built.round.pk).update(status=Round.Status.DEMAND_OPEN)
    built.round.refresh_from_db()
    assert round_item_volumes(round_=built.round) == []


@pytest.mark.django_db
def test_the_volume_for_the_number_that_wins_is_the_awards_own(
    django_capture_on_commit_callbacks,
) -> None:
    built = opened_round(demand=ODD_DEMAND)
    (volume,) = round_item_volumes(round_=built.round)
    assert volume.pooled_demand == 20004
    # 4 winners or more: 0.8 x 10,001 = 8,000.8 -> 8,001 and 0.8 x 10,003 = 8,002.4 -> 8,002.
    assert [v.agreed_volume for v in volume.by_winners] == [10003, 12003, 14003, 16003]
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    award = ItemAward.objects.get(round_item=built.round_item, run__is_official=True)
    published = volume.by_winners[min(award.winners, len(volume.by_winners)) - 1]
    assert award.agreed_volume == published.agreed_volume
    assert award.term_years == published.term_years
    assert award.pooled_demand == volume.pooled_demand


def _texts(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "Pooled demand and first-year agreed volume by number of winners",
                "1 winner 50% · 1 year",
                "2 winners 60% · 1 year",
                "3 winners 70% · 2 years",
                "4 or more winners 80% · 3 years",
                "20,004 tablet 10,003 tablet 12,003 tablet 14,003 tablet 16,003 tablet",
            ],
        ),
        (
            "zh-hans",
            [
                "集采总需求量及按中选企业数计的首年约定采购量",
                "1 家中选 50% · 1 年",
                "2 家中选 60% · 1 年",
                "3 家中选 70% · 2 年",
                "4 家及以上中选 80% · 3 年",
                "20,004 片 10,003 片 12,003 片 14,003 片 16,003 片",
            ],
        ),
    ],
)
def test_the_round_page_and_the_bid_sheet_show_them(language: str, expected: list[str]) -> None:
    built = opened_round(demand=ODD_DEMAND)
    maker = built.makers[0]
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=maker.username, password=TEST_PASSWORD)
    round_url = reverse("procurement:round", args=[built.round.code])
    page = _texts(client.get(round_url).content.decode())
    for text in expected:
        assert text in page, text
    # The bid sheet (bidding open again, for the test).
    deadline = timezone.now() + datetime.timedelta(days=1)
    Round.objects.filter(pk=built.round.pk).update(
        status=Round.Status.BIDDING_OPEN,
        bid_deadline=deadline,
        opening_at=deadline + datetime.timedelta(hours=1),
    )
    sheet = _texts(client.get(reverse("bidding:sheet", args=[built.round.code])).content.decode())
    for text in expected:
        assert text in sheet, text

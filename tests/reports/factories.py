"""An awarded round built directly as model rows, with figures computed by hand.

``small_awarded_round()`` (the hand-computed example of docs/reports.md):

Item A, atorvastatin tablets (片): reference price 0.8000, ceiling 0.5000.
  齐鲁制药有限公司 0.1000 wins Beijing 7,000; 浙江华海药业股份有限公司 0.1500 wins
  Shanghai 3,000; a third bid 0.3000 loses; a fourth 0.6000 is above the ceiling (invalid).
  after 7,000 x 0.1 + 3,000 x 0.15 = 1,150.00; before 10,000 x 0.8 = 8,000.00;
  savings 6,850.00; cut vs reference 85.63%; vs ceiling (5,000.00) 77.00%.
Item B, coronary stents (个): reference price 13,000.0000, ceiling 2,850.0000.
  微创医疗器械（上海）有限公司 700.0000 wins Beijing 100; 乐普（北京）医疗器械股份有限公司
  750.0000 wins Shanghai 50.
  after 70,000 + 37,500 = 107,500.00; before 150 x 13,000 = 1,950,000.00;
  savings 1,842,500.00; cut vs reference 94.49%; vs ceiling (427,500.00) 74.85%.
Round: after 108,650.00; before 1,958,000.00; savings 1,849,350.00;
  cut vs reference 1,849,350 / 1,958,000 = 94.45% (the plain mean of the item cuts would
  be 90.06%); cut vs ceiling 323,850 / 432,500 = 74.88%.
Provinces: Beijing savings 1,234,900.00, Shanghai 614,450.00.

``large_awarded_round(items=60)`` builds a round of many items (for repeated headers and
the benchmark) with bulk inserts. Both are built by ``reports.sample_rounds``, with the
suite's users (their password is ``tests.factories.TEST_PASSWORD``).
"""

from __future__ import annotations

from catalog.models import ProductKind
from procurement.models import Round
from reports.sample_rounds import AwardedRound, BidSpec, ItemSpec, build_awarded_round
from reports.sample_rounds import large_awarded_round as _large_awarded_round
from tests.factories import user_of

__all__ = ["AwardedRound", "large_awarded_round", "small_awarded_round"]

SMALL_ITEMS = (
    ItemSpec(
        code="A-ATOR",
        name="阿托伐他汀钙片",
        name_en="Atorvastatin calcium tablets",
        unit="片",
        unit_en="tablet",
        reference_price="0.8000",
        ceiling="0.5000",
        bids=(
            BidSpec("齐鲁制药有限公司", "阿托伐他汀钙片（齐鲁）", "0.1000", "won", (("11", 7000),)),
            BidSpec(
                "浙江华海药业股份有限公司",
                "阿托伐他汀钙片（华海）",
                "0.1500",
                "won",
                (("31", 3000),),
            ),
            BidSpec("石药集团欧意药业有限公司", "阿托伐他汀钙片（石药）", "0.3000", "lost"),
            BidSpec("辉瑞制药有限公司", "立普妥", "0.6000", "invalid"),
        ),
    ),
    ItemSpec(
        code="B-STENT",
        name="冠脉药物洗脱支架",
        name_en="Coronary drug-eluting stent",
        unit="个",
        unit_en="piece",
        reference_price="13000.0000",
        ceiling="2850.0000",
        kind=ProductKind.CONSUMABLE,
        bids=(
            BidSpec(
                "微创医疗器械（上海）有限公司",
                "Firehawk 冠脉雷帕霉素靶向洗脱支架",
                "700.0000",
                "won",
                (("11", 100),),
            ),
            BidSpec(
                "乐普（北京）医疗器械股份有限公司",
                "GuReater 钴铬合金雷帕霉素洗脱支架",
                "750.0000",
                "won",
                (("31", 50),),
            ),
        ),
    ),
)


def small_awarded_round(
    code: str = "R-2026-07", status: str = Round.Status.AWARDED
) -> AwardedRound:
    return build_awarded_round(SMALL_ITEMS, code=code, status=status, user_of=user_of)


def large_awarded_round(items: int = 60, *, code: str = "R-2026-07") -> AwardedRound:
    return _large_awarded_round(items, code=code, user_of=user_of)

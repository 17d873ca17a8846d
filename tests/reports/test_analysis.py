"""The pure price-cut analysis, checked against hand-computed figures (no database)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from reports import analysis

D = Decimal


def _row(item, region, hospital, maker, quantity, award, reference, ceiling, name="", unit="片"):
    return {
        "item_code": item,
        "item_name": name or item,
        "unit": unit,
        "region": region,
        "hospital": hospital,
        "manufacturer": maker,
        "quantity": quantity,
        "award_price": D(award),
        "reference_price": D(reference) if reference is not None else None,
        "ceiling": D(ceiling),
    }


# The example of tests/reports/factories.py and docs/reports.md.
ROWS = [
    _row("A", "北京市", "北京医院", "齐鲁", 7000, "0.1000", "0.8000", "0.5000"),
    _row("A", "上海市", "上海医院", "华海", 3000, "0.1500", "0.8000", "0.5000"),
    _row("B", "北京市", "北京医院", "微创", 100, "700.0000", "13000.0000", "2850.0000", unit="个"),
    _row("B", "上海市", "上海医院", "乐普", 50, "750.0000", "13000.0000", "2850.0000", unit="个"),
]


def test_item_figures_are_weighted_by_volume() -> None:
    table = analysis.item_table(analysis.allocations_frame(ROWS))
    a, b = table.to_dict(orient="records")
    assert a["item_code"] == "A" and a["winners"] == 2 and a["quantity"] == 10_000
    assert a["price_before"] == D("0.8000")
    assert a["price_after"] == D("0.1150")  # 1,150 / 10,000, not (0.10 + 0.15) / 2
    assert a["amount_before"] == D("8000.00") and a["amount_after"] == D("1150.00")
    assert a["savings"] == D("6850.00")
    assert a["cut_vs_reference_pct"] == D("85.63")  # 6,850 / 8,000 = 85.625 -> half up
    assert a["cut_vs_ceiling_pct"] == D("77.00")  # 1 - 1,150 / 5,000
    assert b["price_after"] == D("716.6667")  # 107,500 / 150
    assert b["savings"] == D("1842500.00")
    assert b["cut_vs_reference_pct"] == D("94.49")
    assert b["cut_vs_ceiling_pct"] == D("74.85")


def test_round_totals_are_not_the_mean_of_the_item_cuts() -> None:
    totals = analysis.cut_totals(analysis.allocations_frame(ROWS))
    assert totals["amount_before"] == D("1958000.00")
    assert totals["amount_after"] == D("108650.00")
    assert totals["savings"] == D("1849350.00")
    assert totals["cut_vs_reference_pct"] == D("94.45")  # plain mean of items: 90.06
    assert totals["cut_vs_ceiling_pct"] == D("74.88")
    assert totals["quantity"] == 10_150


def test_every_money_figure_is_a_decimal_never_a_float() -> None:
    frame = analysis.allocations_frame(ROWS)
    for table in (
        analysis.item_table(frame),
        analysis.province_table(frame),
        analysis.manufacturer_table(frame),
        analysis.hospital_table(frame),
    ):
        for column in ("price_before", "price_after", "amount_after", "savings"):
            assert all(isinstance(v, Decimal) for v in table[column]), column


def test_province_and_manufacturer_tables_add_up_to_the_total() -> None:
    frame = analysis.allocations_frame(ROWS)
    provinces = analysis.province_table(frame).set_index("region")
    assert provinces.loc["北京市", "savings"] == D("1234900.00")
    assert provinces.loc["上海市", "savings"] == D("614450.00")
    assert sum(provinces["savings"]) == D("1849350.00")
    makers = analysis.manufacturer_table(frame).set_index("manufacturer")
    assert makers.loc["齐鲁", "savings"] == D("4900.00")  # 7,000 x (0.8 - 0.1)
    assert makers.loc["乐普", "cut_vs_reference_pct"] == D("94.23")  # 1 - 750 / 13,000
    hospitals = analysis.hospital_table(frame)
    assert list(hospitals["hospital"]) == ["上海医院", "北京医院"]


def test_exact_sums_where_floats_drift() -> None:
    # 0.1 added 10 times is 0.9999999999999999 in floats; the analysis stays exact.
    rows = [_row("C", f"省{i}", "", "甲", 1, "0.1000", "0.3000", "0.2000") for i in range(10)]
    totals = analysis.cut_totals(analysis.allocations_frame(rows))
    assert totals["amount_after"] == D("1.00") and totals["savings"] == D("2.00")
    assert sum(0.1 for _ in range(10)) != 1.0


def test_items_without_a_reference_price_count_only_against_the_ceiling() -> None:
    rows = [
        *ROWS[:2],
        _row("N", "北京市", "北京医院", "甲", 1000, "1.0000", None, "2.0000"),
    ]
    frame = analysis.allocations_frame(rows)
    n = analysis.item_table(frame).set_index("item_code").loc["N"]
    assert n["price_before"] is None and n["savings"] is None
    assert n["cut_vs_reference_pct"] is None and n["cut_vs_ceiling_pct"] == D("50.00")
    totals = analysis.cut_totals(frame)
    assert totals["savings"] == D("6850.00")  # item A only
    assert totals["cut_vs_reference_pct"] == D("85.63")
    assert totals["amount_after"] == D("2150.00")  # every item


def test_winner_count_distribution_lists_every_count_up_to_the_largest() -> None:
    table = analysis.winner_count_distribution([2, 4, 4, 1, 0])
    assert table.to_dict(orient="list") == {"winners": [0, 1, 2, 3, 4], "items": [1, 1, 1, 0, 2]}


def test_an_empty_round_has_empty_tables() -> None:
    frame = analysis.allocations_frame([])
    assert analysis.item_table(frame).empty
    assert analysis.cut_totals(frame)["savings"] is None
    assert isinstance(analysis.province_table(frame), pd.DataFrame)

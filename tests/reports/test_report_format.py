"""The report filters show money through common.money: half up to the fen."""

from __future__ import annotations

from decimal import Decimal

from django.template import Context, Template

from reports.templatetags.report_format import pct, quantity, unit_price, yuan


def test_yuan_rounds_half_up_like_every_other_money_figure() -> None:
    # Before common.money this filter rounded half to even (0.125 -> 0.12) while the award
    # pages rounded half up (0.13): the same amount printed two ways.
    assert yuan(Decimal("0.125")) == "0.13"
    assert yuan(Decimal("0.115")) == "0.12"
    assert yuan(Decimal("-0.125")) == "-0.13"
    assert yuan("1234567.805") == "1,234,567.81"
    assert yuan(None) == "—"
    assert yuan("") == "—"


def test_the_other_report_formats() -> None:
    assert unit_price(Decimal("0.1")) == "0.1000"
    assert quantity(1200000) == "1,200,000"
    assert pct(Decimal("94.45")) == "94.45%"
    assert pct(None) == "—"


def test_the_filters_in_a_template() -> None:
    template = Template("{% load report_format %}{{ a|yuan }} {{ b|unit_price }} {{ c|pct }}")
    shown = template.render(Context({"a": Decimal("0.125"), "b": Decimal("2850"), "c": None}))
    assert shown == "0.13 2,850.0000 —"

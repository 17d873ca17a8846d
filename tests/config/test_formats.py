"""Numbers carry thousands separators in Chinese as in English (Django's zh_Hans has none)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import Context, Template
from django.utils import translation


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_volumes_and_prices_are_grouped_in_both_languages(language: str) -> None:
    with translation.override(language):
        assert intcomma(12000000) == "12,000,000"
        rendered = Template('{{ price|floatformat:"4g" }}').render(
            Context({"price": Decimal("2850.5")})
        )
        assert rendered == "2,850.5000"


def test_plain_numbers_in_form_values_stay_ungrouped() -> None:
    with translation.override("zh-hans"):
        assert Template("{{ n }}").render(Context({"n": 80000})) == "80000"

"""``rule_kind`` and ``rule_set_title`` filters (``procurement.rule_labels``)."""

from __future__ import annotations

from typing import Any

from django import template

from procurement.rule_labels import rule_kind_label, rule_set_title

register = template.Library()


@register.filter
def rule_kind(kind: Any) -> str:
    return "" if kind is None else rule_kind_label(str(kind))


@register.filter(name="rule_set_title")
def rule_set_title_filter(name: Any) -> str:
    return "" if name is None else rule_set_title(str(name))

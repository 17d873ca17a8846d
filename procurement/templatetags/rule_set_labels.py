"""Rule-set label filters (``procurement.rule_labels``): kind, title, source, description."""

from __future__ import annotations

from typing import Any

from django import template

from procurement.rule_labels import (
    rule_kind_label,
    rule_set_description,
    rule_set_source,
    rule_set_title,
)

register = template.Library()


@register.filter
def rule_kind(kind: Any) -> str:
    return "" if kind is None else rule_kind_label(str(kind))


@register.filter(name="rule_set_title")
def rule_set_title_filter(name: Any) -> str:
    return "" if name is None else rule_set_title(str(name))


@register.filter(name="rule_set_source")
def rule_set_source_filter(source: Any) -> str:
    return "" if source is None else rule_set_source(str(source))


@register.filter(name="rule_set_description")
def rule_set_description_filter(rule_set: Any) -> str:
    return rule_set_description(str(rule_set.name), str(rule_set.description or ""))

"""``{{ obj|display_name }}``: a registered name in the page's language.

On English pages the English name with the registered Chinese name as secondary text; on
Chinese pages the Chinese name. ``obj`` is a model with a ``names`` property (item,
specification, region) or a :class:`common.i18n.Names`. ``{{ list|join_names }}`` joins
names with the active language's separator.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString

from common import i18n

register = template.Library()


@register.filter
def display_name(value: object) -> SafeString:
    return i18n.display_name(value)


@register.filter
def join_names(value: Iterable[str]) -> str:
    return i18n.join_names(value)

"""Reasons, solver statuses and allocation sources of the award pages in the reader's
language (``awards.reasons``)."""

from __future__ import annotations

from typing import Any

from django import template

from awards import reasons

register = template.Library()


@register.filter
def bid_reason(result: Any) -> str:
    """``{{ bid_result|bid_reason }}``: a BidResult's reason (or a mapping with
    ``reason_parts`` and ``reason``, as the exports build them)."""
    if result is None:
        return ""
    if isinstance(result, dict):
        return reasons.render_reason(result.get("reason_parts"), result.get("reason", ""))
    return reasons.bid_result_reason(result)


@register.filter
def solver_status(status: Any) -> str:
    return "" if status is None else reasons.solver_status_label(str(status))


@register.filter
def allocation_source(source: Any) -> str:
    return "" if source is None else reasons.allocation_source_label(str(source))


@register.simple_tag
def run_messages(records: Any) -> list[str]:
    """``{% run_messages run.warnings as warnings %}``: a run's warnings or explanation
    lines (stored ``{"code", "params", "text"}`` records, or the English text of an older
    run) in the reader's language, manufacturers and provinces by name."""
    return reasons.render_messages(records)


@register.simple_tag
def constraint_label(row: Any, name: str) -> str:
    """``{% constraint_label cost "constraint" %}``: the constraint (or, with
    ``"relaxed_to"``, what it is relaxed to) of a comparison row's constraint cost."""
    if not isinstance(row, dict):
        return ""
    return reasons.render_message_part(row.get(f"{name}_part"), row.get(name, ""))

"""Turn JSON Schema errors into (JSON path, what was expected) pairs people can act on.

Schemas in this package annotate their value shapes with ``"x-expected"``: a phrase such
as ``a decimal string with at most 6 decimals, such as "0.0526"``. jsonschema ignores
unknown keywords, so the annotation only shapes the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator, ValidationError


def json_path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _message(error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    expected = schema.get("x-expected")
    if expected and error.validator not in ("required", "additionalProperties"):
        message = f"expected {expected}, got {_show(error.instance)}"
        if isinstance(error.instance, float):
            message += " (a binary float is not exact: pass the decimal as a string)"
        return message
    if error.validator == "additionalProperties":
        return f"unknown field: {error.message.split('(')[-1].rstrip(')')}"
    if error.validator == "enum":
        options = ", ".join(repr(v) for v in schema.get("enum", []))
        return f"expected one of {options}, got {_show(error.instance)}"
    return str(error.message)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def schema_errors(schema: dict[str, Any], instance: Any) -> list[tuple[str, str]]:
    """All errors of ``instance`` against ``schema``, sorted by path, deduplicated."""
    validator = Draft202012Validator(schema)
    found = {(json_path(e.absolute_path), _message(e)) for e in validator.iter_errors(instance)}
    return sorted(found)

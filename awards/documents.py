"""A result document stored as compressed JSON (``EvaluationRun.result``).

The document is what ``procurement.optimiser.result_to_dict`` returns: plain JSON values,
with every amount as a decimal string, so it goes through ``orjson`` unchanged. It is
stored as zlib-compressed UTF-8 JSON with sorted keys, not as ``jsonb``: a national round's
document holds ~10^6 hospital lines (~60 MB of JSON) that PostgreSQL took ~10 s to parse
into ``jsonb`` at every evaluation, while nothing queries inside it. Packed, it is written
in well under a second and is ~8x smaller. ``zlib`` level 1: the document is written once
per evaluation and read rarely (an audit, a download), so writing speed counts more.

Fixed vector: ``tests/awards/test_documents.py`` pins the bytes of a small document.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson

__all__ = ["document_pack", "document_unpack"]

LEVEL = 1


def document_pack(document: dict[str, Any]) -> bytes:
    """The document as compressed canonical JSON (sorted keys, no spaces)."""
    return zlib.compress(orjson.dumps(document, option=orjson.OPT_SORT_KEYS), LEVEL)


def document_unpack(data: bytes | memoryview) -> dict[str, Any]:
    """The document back, as ``json.loads`` would read the JSON it was made from."""
    document: dict[str, Any] = orjson.loads(zlib.decompress(data))
    return document

"""Checks an .xlsx upload before anything parses it: a zip bomb, XML with a DTD, or a
sheet with too many rows, columns or cells is refused after reading only what it takes
to tell.

Pure (the standard library's zip and expat, no Django): the caller turns ``XlsxRefused``
into its message. Measured on the hostile files of the issue: a 1 MB workbook of a
million one-cell rows is refused after decompressing the first ~2 MB of its sheet (tens
of milliseconds), where parsing it whole held a web worker for over 120 s.

* Zip: every member's declared size, and the total, below ``max_uncompressed_bytes``;
  each member's compression ratio below ``max_compression_ratio``; members are read
  through ``zipfile``, which never yields more than the declared size.
* XML: no part may declare a DTD (``<!DOCTYPE``), the door to entity expansion ("billion
  laughs") and external entities. Expat reads each part's prolog only: a DTD can only
  come before the root element, so parsing stops at the root.
* The first worksheet's rows and cells are counted on its decompressed bytes (tag
  counts, in chunks) and the reading stops at the first limit passed.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from xml.parsers import expat

from defusedxml import ElementTree

CHUNK = 256 * 1024
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?row[\s>/]")
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?c[\s>/]")


@dataclass(frozen=True)
class XlsxLimits:
    max_rows: int
    max_columns: int
    max_cells: int
    max_uncompressed_bytes: int
    max_compression_ratio: int
    max_members: int = 500


class XlsxRefused(Exception):
    """Why the workbook is refused: ``reason`` is a key, ``values`` its figures."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class SheetCount:
    rows: int
    cells: int
    widest_row: int


def inspect_xlsx(data: bytes | IO[bytes], limits: XlsxLimits) -> SheetCount:
    """Refuse (``XlsxRefused``) a workbook that passes a limit; count the first sheet."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise XlsxRefused("not_xlsx") from exc
    with archive:
        _check_sizes(archive, limits)
        for info in archive.infolist():
            if info.filename.endswith((".xml", ".rels", ".vml")):
                _refuse_dtd(archive, info)
        return _count_sheet(archive, _first_sheet(archive), limits)


def _check_sizes(archive: zipfile.ZipFile, limits: XlsxLimits) -> None:
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise XlsxRefused("members", count=len(members), limit=limits.max_members)
    total = 0
    for info in members:
        total += info.file_size
        if total > limits.max_uncompressed_bytes:
            raise XlsxRefused("uncompressed", limit=limits.max_uncompressed_bytes)
        # Small parts compress well by nature (a 2 KB style sheet to 200 bytes); the
        # ratio matters where the size does.
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
            raise XlsxRefused("ratio", ratio=int(ratio), limit=limits.max_compression_ratio)


class _RootReached(Exception):
    pass


def _refuse_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    parser = expat.ParserCreate()

    def doctype(*_args: object) -> None:
        raise XlsxRefused("dtd", part=info.filename)

    def root(*_args: object) -> None:
        raise _RootReached

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = root
    try:
        for chunk in _chunks(archive, info):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _RootReached:
        return
    except expat.ExpatError as exc:
        raise XlsxRefused("xml", part=info.filename) from exc


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK):
                yield chunk
    except (
        zipfile.BadZipFile,  # a bad CRC
        zlib.error,  # a corrupt deflate stream
        OSError,
        EOFError,
        NotImplementedError,  # an unsupported compression method
        ValueError,
    ) as exc:
        raise XlsxRefused("not_xlsx") from exc


def _first_sheet(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The part of the workbook's first sheet (the one the reader reads)."""
    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError) as exc:
        raise XlsxRefused("not_xlsx") from exc
    sheet = workbook.find(f"{{{MAIN_NS}}}sheets/{{{MAIN_NS}}}sheet")
    if sheet is None:
        raise XlsxRefused("not_xlsx")
    rel_id = sheet.get(f"{{{REL_NS}}}id")
    for rel in rels.findall(f"{{{PACKAGE_REL_NS}}}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            try:
                return archive.getinfo(posixpath.normpath(path))
            except KeyError as exc:
                raise XlsxRefused("not_xlsx") from exc
    raise XlsxRefused("not_xlsx")


def _count_sheet(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: XlsxLimits) -> SheetCount:
    """Count rows, cells and the widest row on the sheet's bytes, stopping at a limit.

    Chunks are cut just before their last ``<``, so no tag is split between two."""
    rows = cells = widest = 0
    current = 0  # cells of the row being read
    pending = b""
    for chunk in _chunks(archive, info):
        buffer = pending + chunk
        cut = buffer.rfind(b"<")
        if cut <= 0:
            pending = buffer
            continue
        segment, pending = buffer[:cut], buffer[cut:]
        rows, cells, widest, current = _count_segment(segment, rows, cells, widest, current, limits)
    _count_segment(pending, rows, cells, widest, current, limits)
    return SheetCount(rows=rows, cells=cells, widest_row=widest)


def _count_segment(
    segment: bytes, rows: int, cells: int, widest: int, current: int, limits: XlsxLimits
) -> tuple[int, int, int, int]:
    position = 0
    for match in _ROW.finditer(segment):
        current += len(_CELL.findall(segment, position, match.start()))
        widest = max(widest, current)
        cells += current
        current = 0
        rows += 1
        position = match.start()
        # The header row is counted with the data rows: a limit of N data rows allows
        # N + 1 rows (and a blank row or two around them).
        if rows > limits.max_rows + 1:
            raise XlsxRefused("rows", limit=limits.max_rows)
        if widest > limits.max_columns:
            raise XlsxRefused("columns", limit=limits.max_columns)
        if cells > limits.max_cells:
            raise XlsxRefused("cells", limit=limits.max_cells)
    current += len(_CELL.findall(segment, position))
    if current > limits.max_columns:
        raise XlsxRefused("columns", limit=limits.max_columns)
    return rows, cells, widest, current

"""TEMP re-export for the contracts split; the lead removes it at merge.

Use ``common.spreadsheets``.
"""

from common.spreadsheets import ROW, Column, ColumnKind, RowError, convert_frame, sort_errors

__all__ = ["ROW", "Column", "ColumnKind", "RowError", "convert_frame", "sort_errors"]

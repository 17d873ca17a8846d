"""TEMP re-export for the contracts split; the lead removes it at merge.

Use ``common.pagination``.
"""

from common.pagination import paginate

__all__ = ["paginate"]

"""TEMP re-export for the contracts split; the lead removes it at merge (use ``common.pdf``)."""

from common.pdf import render_template_pdf, sha256

__all__ = ["render_template_pdf", "sha256"]

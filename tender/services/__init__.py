"""State changes of the tender app, by sub-domain; every name is re-exported here.

* ``documents``: the procurement document's versions (the first one when bidding opens);
* ``rendering``: a version's PDFs (run by ``tender.tasks``);
* ``amendments``: numbered amendments, the minimum notice before the deadline, notices;
* ``clarifications``: bidders' questions and the office's published answers.
"""

from tender.services.amendments import (
    AmendmentDraft,
    AmendmentPreview,
    amendment_preview,
    amendment_publish,
)
from tender.services.clarifications import clarification_answer, clarification_ask
from tender.services.documents import document_publish, document_version_publish
from tender.services.rendering import document_pdf_render

__all__ = [
    "AmendmentDraft",
    "AmendmentPreview",
    "amendment_preview",
    "amendment_publish",
    "clarification_answer",
    "clarification_ask",
    "document_pdf_render",
    "document_publish",
    "document_version_publish",
]

"""State changes of contracts and their execution, by sub-domain; every public name is
re-exported here, so callers write ``from contracts import services`` and
``services.contracts_generate(...)``.

* ``contracts``: drawing up, confirming, amending, the PDFs, the start of execution;
* ``requests``: asking for that work in the background (the tasks), and what is pending;
* ``purchases``: purchases against the contracts, the behind-schedule notice;
* ``supply``: supply failures and the switch to a backup supplier.
"""

from contracts.services.contracts import (
    amount_of,
    contract_amend,
    contract_confirm,
    contract_lines,
    contract_pdf_render,
    contract_pdfs_part_finish,
    contracts_generate,
    contracts_generate_blocker,
    contracts_source_run,
    execution_start,
    execution_start_check,
    term_end,
)
from contracts.services.purchases import (
    PURCHASE_COLUMNS,
    PURCHASE_UPLOAD,
    PurchaseLine,
    behind_schedule_check,
    purchase_lines_frame,
    purchases_apply,
    purchases_import,
    purchases_record,
)
from contracts.services.requests import (
    CONTRACT_PDF_CHUNK_MAX,
    CONTRACT_PDF_CHUNKS,
    CONTRACTS_REQUEST_PATIENCE,
    CONTRACTS_REQUESTED,
    contract_pdf_chunk_size,
    contract_pdf_request,
    contract_pdfs_batch_request,
    contracts_generate_pending,
    contracts_generate_request,
    contracts_generate_unfinished,
)
from contracts.services.supply import supplier_switch, supply_failure_report

__all__ = [
    "CONTRACTS_REQUESTED",
    "CONTRACTS_REQUEST_PATIENCE",
    "CONTRACT_PDF_CHUNKS",
    "CONTRACT_PDF_CHUNK_MAX",
    "PURCHASE_COLUMNS",
    "PURCHASE_UPLOAD",
    "PurchaseLine",
    "amount_of",
    "behind_schedule_check",
    "contract_amend",
    "contract_confirm",
    "contract_lines",
    "contract_pdf_chunk_size",
    "contract_pdf_render",
    "contract_pdf_request",
    "contract_pdfs_batch_request",
    "contract_pdfs_part_finish",
    "contracts_generate",
    "contracts_generate_blocker",
    "contracts_generate_pending",
    "contracts_generate_request",
    "contracts_generate_unfinished",
    "contracts_source_run",
    "execution_start",
    "execution_start_check",
    "purchase_lines_frame",
    "purchases_apply",
    "purchases_import",
    "purchases_record",
    "supplier_switch",
    "supply_failure_report",
    "term_end",
]

"""Contract and execution pages, under /awards/ (beside the award's pages, ``awards.urls``)."""

from django.urls import path

from contracts.views import contracts, execution, pdf_batches

app_name = "contracts"

urlpatterns = [
    path(
        "rounds/<int:round_id>/contracts/generate/",
        contracts.contracts_generate,
        name="contracts-generate",
    ),
    path(
        "rounds/<int:round_id>/contracts/status/",
        contracts.contracts_status,
        name="contracts-status",
    ),
    path(
        "rounds/<int:round_id>/execution/start/",
        contracts.execution_start,
        name="execution-start",
    ),
    path("contracts/", contracts.contract_list, name="contracts"),
    path("contracts/<int:contract_id>/", contracts.contract_detail, name="contract"),
    path(
        "contracts/<int:contract_id>/confirm/",
        contracts.contract_confirm,
        name="contract-confirm",
    ),
    path(
        "contracts/<int:contract_id>/pdf/status/",
        contracts.contract_pdf_status,
        name="contract-pdf-status",
    ),
    path("contracts/<int:contract_id>/amend/", contracts.contract_amend, name="contract-amend"),
    path(
        "contracts/<int:contract_id>/pdf/<str:language>/",
        contracts.contract_pdf,
        name="contract-pdf",
    ),
    path(
        "rounds/<int:round_id>/contracts/pdfs/",
        pdf_batches.contract_pdf_batch_start,
        name="contract-pdf-batch-start",
    ),
    path(
        "contract-pdf-batches/<int:batch_id>/",
        pdf_batches.contract_pdf_batch,
        name="contract-pdf-batch",
    ),
    path(
        "contract-pdf-batches/<int:batch_id>/progress/",
        pdf_batches.contract_pdf_batch_progress,
        name="contract-pdf-batch-progress",
    ),
    path(
        "contract-pdf-batches/<int:batch_id>/again/",
        pdf_batches.contract_pdf_batch_again,
        name="contract-pdf-batch-again",
    ),
    path("purchases/", execution.purchases, name="purchases"),
    path("purchases/upload/", execution.purchases_upload, name="purchases-upload"),
    path("progress/", execution.progress, name="progress"),
    path("supply-failures/", execution.supply_failures, name="supply-failures"),
    path(
        "rounds/<int:round_id>/supply-failures/new/",
        execution.supply_failure_new,
        name="supply-failure-new",
    ),
    path(
        "supply-failures/<int:failure_id>/switch/",
        execution.supplier_switch,
        name="supplier-switch",
    ),
    path("notifications/", contracts.notifications, name="notifications"),
]

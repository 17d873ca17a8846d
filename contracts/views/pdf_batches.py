"""A batch of contract PDFs rendered in the background (``ContractPdfBatch``): the office
starts one for a round's contracts and follows it on its page ("n of m contracts"),
polled by htmx while it runs; a batch with failures, or one that stopped moving, says
what to do and offers to start it again (PDFs already current are not rendered twice).

Thin: check the role, fetch the office's own batch, call one service.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import office_required
from awards import selectors as award_selectors
from contracts import services
from contracts.models import Contract, ContractPdfBatch
from contracts.tasks import CONTRACT_PDF_WAIT
from procurement.models import Round


def _batch_for_office(request: HttpRequest, batch_id: int) -> ContractPdfBatch:
    batch = ContractPdfBatch.objects.select_related("round").filter(pk=batch_id).first()
    if batch is None or batch.round is None:
        raise Http404
    award_selectors.round_get_for_office(user=request.user, round_id=batch.round_id)  # type: ignore[arg-type]
    return batch


def batch_state(batch: ContractPdfBatch) -> str:
    """``running``; ``stalled`` (no chunk finished for ``CONTRACT_PDF_WAIT``: the workers
    may be busy or stopped); ``failed`` (over, some contracts without a PDF); ``done``."""
    if batch.finished_at is not None:
        return "failed" if batch.failed else "done"
    if timezone.now() - batch.updated_at > CONTRACT_PDF_WAIT:
        return "stalled"
    return "running"


def _context(batch: ContractPdfBatch) -> dict[str, object]:
    return {
        "batch": batch,
        "state": batch_state(batch),
        "wait_minutes": int(CONTRACT_PDF_WAIT.total_seconds() // 60),
    }


def _start(round_: Round) -> ContractPdfBatch:
    ids = list(Contract.objects.filter(round=round_).values_list("pk", flat=True))
    return services.contract_pdfs_batch_request(contract_ids=ids, round_=round_)


@office_required
@require_POST
def contract_pdf_batch_start(request: HttpRequest, round_id: int) -> HttpResponse:
    """Render the PDFs of every contract of the office's round, in the background."""
    round_ = award_selectors.round_get_for_office(user=request.user, round_id=round_id)  # type: ignore[arg-type]
    batch = _start(round_)
    return redirect("contracts:contract-pdf-batch", batch_id=batch.pk)


@office_required
def contract_pdf_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch_for_office(request, batch_id)
    return render(request, "contracts/pdf_batch.html", _context(batch))


@office_required
def contract_pdf_batch_progress(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The htmx-polled progress partial (the whole page without htmx)."""
    batch = _batch_for_office(request, batch_id)
    if not getattr(request, "htmx", False):
        return redirect("contracts:contract-pdf-batch", batch_id=batch.pk)
    return render(request, "contracts/_pdf_batch_progress.html", _context(batch))


@office_required
@require_POST
def contract_pdf_batch_again(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Start the batch's round again: the PDFs still missing are rendered, the current
    ones are not rendered twice."""
    batch = _batch_for_office(request, batch_id)
    assert batch.round is not None  # _batch_for_office
    again = _start(batch.round)
    return redirect("contracts:contract-pdf-batch", batch_id=again.pk)

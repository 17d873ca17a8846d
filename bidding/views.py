"""Pages of sealed bidding. Thin: access through selectors, changes through services.

Pages that show a bidder its own terms or receipts are never cached (``never_cache``).
"""

from __future__ import annotations

import json
import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts.access import manufacturer_required, office_required
from accounts.models import User
from bidding import selectors, sheet_upload
from bidding.forms import BidSheet
from bidding.keys import master_key_is_demo
from bidding.models import Bid, DecryptionAudit, OpenedBid, Opening
from bidding.services import (
    BidReceipt,
    bid_sheet_submit,
    bid_sheet_unseal,
    bid_terms_unseal,
    bid_version_receipt,
    bid_withdraw,
    tampered_bid_decide,
)
from bidding.services.log import log_head_published, log_inclusion, log_position_of
from bidding.signatures import sheet_signed_lines, sheet_signing
from common.pagination import paginate
from common.spreadsheet_views import xlsx_response
from common.spreadsheets import SpreadsheetRefused, csv_writer, write_xlsx
from procurement.models import Round
from procurement.selectors import round_item_volumes

SHEET_FIELDS = ("product", "unit_price", "annual_capacity")


def _user(request: HttpRequest) -> User:
    """The signed-in user (the role decorators have already refused anonymous ones)."""
    user = request.user
    assert isinstance(user, User)
    return user


def _errors(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


# --- manufacturer -------------------------------------------------------------------------


@manufacturer_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "bidding/home.html",
        {
            "open_rounds": selectors.rounds_open_for_bidding(),
            "bids": (page := paginate(request, selectors.bid_list_for_user(user=request.user))),
            "page_obj": page,
            "opened_rounds": selectors.rounds_with_opening()[:20],
        },
    )


@manufacturer_required
@never_cache
@sensitive_post_parameters()  # prices and capacities never reach an error report
def bid_sheet(request: HttpRequest, code: str) -> HttpResponse:
    """The bid sheet: enter, check (htmx), review what will be sealed, confirm.

    Each view of the sheet decrypts the bidder's current terms once (one audit row per
    bid, ``bid_sheet_unseal``); the inline check while typing decrypts nothing: it
    compares with the terms the page carried (``BidSheet.carried_terms``).
    """
    round_ = selectors.round_get_by_code(code=code)
    if round_.status != Round.Status.BIDDING_OPEN or round_.bid_deadline <= timezone.now():
        return render(request, "bidding/sheet_closed.html", {"round": round_}, status=200)
    user = _user(request)
    items = selectors.bid_sheet_for_user(user=user, round_=round_)
    context: dict[str, object] = {"round": round_, "demo_key": master_key_is_demo()}
    step = request.POST.get("step", "review")
    if step != "check":  # what the bidders bid for, above the sheet
        context["volumes"] = round_item_volumes(round_=round_)
    if request.method == "POST" and step == "check":  # inline validation while typing (htmx)
        sheet = BidSheet.build(
            items, request.POST, current=BidSheet.carried_terms(items, request.POST)
        )
        sheet.is_valid()
        return render(request, "bidding/_sheet_feedback.html", {**context, "sheet": sheet})
    bids = [row.bid for item in items for row in item.rows]
    current = bid_sheet_unseal(user=user, bids=bids)
    context["to_reconfirm"] = selectors.bids_to_reconfirm(round_=round_, bids=bids)
    if request.method != "POST":
        context["sheet"] = BidSheet.build(items, current=current)
        return render(request, "bidding/sheet.html", context)
    sheet = BidSheet.build(items, request.POST, current=current)
    valid = sheet.is_valid()
    context["sheet"] = sheet
    if step == "edit":  # back from the confirmation, with the values entered
        return render(request, "bidding/sheet.html", context)
    if not valid:
        return render(request, "bidding/sheet.html", context, status=422)
    if not sheet.changes:
        context["no_changes"] = True
        return render(request, "bidding/sheet.html", context, status=422)
    if step != "confirm":
        context["signing"] = sheet_signing(round_=round_, user=user, changes=sheet.changes)
        return render(request, "bidding/confirm.html", context)
    try:
        lines = sheet_signed_lines(data=request.POST, changes=sheet.changes)
        receipts = bid_sheet_submit(round_=round_, lines=lines, by=user)
    except ValidationError as exc:
        context["service_errors"] = _errors(exc)
        return render(request, "bidding/sheet.html", context, status=422)
    return _sealed_page(request, round_, receipts)


def _open_sheet_or_none(round_: Round) -> bool:
    return round_.status == Round.Status.BIDDING_OPEN and round_.bid_deadline > timezone.now()


@manufacturer_required
@never_cache
@require_GET
def bid_sheet_template(request: HttpRequest, code: str) -> HttpResponse:
    """The round's bid template (.xlsx): one row per line of the manufacturer's sheet,
    every cell inert (``common.spreadsheets.workbook_bytes``)."""
    round_ = selectors.round_get_by_code(code=code)
    items = selectors.bid_sheet_for_user(user=_user(request), round_=round_)
    return xlsx_response(
        write_xlsx({"bids": sheet_upload.template_rows(items)}), f"{round_.code}-bids.xlsx"
    )


@manufacturer_required
@never_cache
@sensitive_post_parameters()
def bid_sheet_upload(request: HttpRequest, code: str) -> HttpResponse:
    """Upload a filled template: row-numbered errors (nothing is kept), or the sheet's own
    review page with every line, whose confirmation seals them all or none
    (``bid_sheet_submit``, through ``bid_sheet``). The file is read in the request and
    never stored: it holds prices."""
    round_ = selectors.round_get_by_code(code=code)
    if not _open_sheet_or_none(round_):
        return render(request, "bidding/sheet_closed.html", {"round": round_}, status=200)
    context: dict[str, object] = {"round": round_, "demo_key": master_key_is_demo()}
    upload = request.FILES.get("file") if request.method == "POST" else None
    if upload is None:
        if request.method == "POST":
            context["errors"] = [_("Choose the filled bid template to upload.")]
            return render(request, "bidding/sheet_upload.html", context, status=422)
        return render(request, "bidding/sheet_upload.html", context)
    user = _user(request)
    items = selectors.bid_sheet_for_user(user=user, round_=round_)
    try:
        read = sheet_upload.upload_read(
            items, data=upload.read(sheet_upload.MAX_BYTES + 1), filename=upload.name or ""
        )
    except SpreadsheetRefused as exc:
        context["errors"] = [exc.message]
        return render(request, "bidding/sheet_upload.html", context, status=422)
    errors = [str(e) for e in read.errors]
    sheet = None
    if not errors:
        bids = [row.bid for item in items for row in item.rows]
        sheet = BidSheet.build(items, read.data, current=bid_sheet_unseal(user=user, bids=bids))
        if not sheet.is_valid():
            errors = sheet_upload.form_errors(sheet, read)
        elif not sheet.changes:
            errors = [_("The file has no price and capacity to seal, or only what is sealed.")]
    if errors:
        context["errors"] = errors
        return render(request, "bidding/sheet_upload.html", context, status=422)
    assert sheet is not None
    context["sheet"] = sheet
    context["from_upload"] = True
    # Signed in the browser as the sheet's own review is (static/js/signing.js), then
    # posted to the bid sheet, which seals the lines with their signatures.
    context["signing"] = sheet_signing(round_=round_, user=user, changes=sheet.changes)
    return render(request, "bidding/confirm.html", context)


@manufacturer_required
@never_cache
@require_GET
def round_bids(request: HttpRequest, code: str) -> HttpResponse:
    """The manufacturer's own bids in one round, with their latest receipts (no terms)."""
    round_ = selectors.round_get_by_code(code=code)
    page = paginate(request, selectors.bid_list_for_user(user=request.user, round_=round_))
    return render(
        request,
        "bidding/round_bids.html",
        {
            "round": round_,
            "rows": [(b, selectors.bid_current_version(b)) for b in page],
            "to_reconfirm": selectors.bids_to_reconfirm(round_=round_, bids=page),
            "page_obj": page,
            "can_bid": round_.status == Round.Status.BIDDING_OPEN
            and round_.bid_deadline > timezone.now(),
            "opened": selectors.round_is_opened(round_),
        },
    )


@manufacturer_required
@never_cache
@require_GET
def bid_detail(request: HttpRequest, bid_id: int) -> HttpResponse:
    bid = selectors.bid_get_for_user(user=request.user, bid_id=bid_id)
    terms = None
    if bid.status == Bid.Status.ACTIVE:
        terms = bid_terms_unseal(
            user=_user(request), bid=bid, purpose=DecryptionAudit.Purpose.OWNER_VIEW
        )
    return render(
        request,
        "bidding/bid_detail.html",
        {
            "bid": bid,
            "terms": terms,
            "versions": selectors.bid_versions(bid),
            "decryptions": paginate(request, selectors.bid_decryptions(bid)),
            "can_change": bid.round.status == Round.Status.BIDDING_OPEN
            and bid.round.bid_deadline > timezone.now()
            and bid.locked_at is None,
        },
    )


@manufacturer_required
@require_POST
def bid_withdraw_view(request: HttpRequest, bid_id: int) -> HttpResponse:
    bid = selectors.bid_get_for_user(user=request.user, bid_id=bid_id)
    try:
        receipt = bid_withdraw(bid=bid, by=_user(request))
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
        return redirect("bidding:bid-detail", bid_id=bid.pk)
    messages.success(request, _("Your bid is withdrawn. The withdrawal has its own receipt."))
    return _sealed_page(request, bid.round, [receipt])


def _sealed_page(request: HttpRequest, round_: Round, receipts: list[BidReceipt]) -> HttpResponse:
    """The full receipts, terms included, handed over at submission: the only moment the
    server can show them (it cannot decrypt a sealed bid afterwards). Each downloads as
    the JSON that ``python -m bidding.verify_receipt`` checks."""
    rows = []
    for receipt in receipts:
        version = receipt.version
        body = json.dumps(receipt.document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        rows.append(
            {
                "receipt": receipt,
                "version": version,
                "bid": version.bid,
                "content": receipt.document["content"],
                "json": body,
                "filename": f"receipt-{round_.code}-bid{version.bid_id}-v{version.number}.json",
            }
        )
    response = render(request, "bidding/sealed.html", {"round": round_, "rows": rows})
    response["Cache-Control"] = "no-store"
    return response


@manufacturer_required
@never_cache
@require_GET
def receipt(request: HttpRequest, version_id: int) -> HttpResponse:
    version = selectors.bid_version_get_for_user(user=request.user, version_id=version_id)
    document = bid_version_receipt(
        version=version, by=_user(request), purpose=DecryptionAudit.Purpose.RECEIPT
    )
    return render(
        request,
        "bidding/receipt.html",
        {
            "version": version,
            "bid": version.bid,
            "sealed": bool(document.get("sealed")),
            "document": document,
            "content": document["content"],
            "document_json": json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True),
        },
    )


@manufacturer_required
@never_cache
@require_GET
def receipt_download(request: HttpRequest, version_id: int) -> HttpResponse:
    version = selectors.bid_version_get_for_user(user=request.user, version_id=version_id)
    document = bid_version_receipt(
        version=version, by=_user(request), purpose=DecryptionAudit.Purpose.RECEIPT
    )
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    filename = f"receipt-{version.bid.round.code}-bid{version.bid_id}-v{version.number}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- office -------------------------------------------------------------------------------


def _office_round(request: HttpRequest, code: str) -> Round:
    round_ = selectors.round_get_by_code(code=code)
    if getattr(request.user, "organization_id", None) != round_.office_id:
        raise Http404("no such round")
    return round_


@office_required
@require_GET
def submission_status(request: HttpRequest, code: str) -> HttpResponse:
    """Who has submitted per item (no prices, capacities or products), and the opening."""
    round_ = _office_round(request, code)
    return render(
        request,
        "bidding/status.html",
        {
            "round": round_,
            "status": selectors.submission_status_for_user(user=request.user, round_=round_),
            "opening_due": round_.status in {Round.Status.BIDDING_OPEN, Round.Status.BIDDING_CLOSED}
            and round_.opening_at <= timezone.now(),
            "opened": selectors.round_is_opened(round_),
        },
    )


@office_required
@require_POST
def open_bids(request: HttpRequest, code: str) -> HttpResponse:
    """The former "open bids" button: the opening is the ceremony now (k officials)."""
    round_ = _office_round(request, code)
    return redirect("bidding:ceremony", code=round_.code)


# --- public -------------------------------------------------------------------------------


@require_GET
def openings(request: HttpRequest) -> HttpResponse:
    """Public list of rounds whose bids have been opened."""
    page = paginate(request, selectors.rounds_with_opening().order_by("-opening__opened_at", "-pk"))
    return render(request, "bidding/openings.html", {"rounds": page, "page_obj": page})


@require_GET
def opening(request: HttpRequest, code: str) -> HttpResponse:
    """The public opening record (no sign-in needed); before the opening, only the time.

    It lists what the issue makes public: bidder, product, specification, unit price, unit
    comparable price, validity and receipt hash. Declared capacities stay with the office
    (they feed the allocation) and the bidder.
    """
    round_ = selectors.round_get_by_code(code=code)
    context: dict[str, object] = {
        "round": round_,
        "record": None,
        "log_head": log_head_published(round_=round_),
    }
    if selectors.round_is_opened(round_):
        # A national round has thousands of bids: the record is read page by page, and
        # searched on the server (a manufacturer, an item, the start of a receipt hash).
        query = request.GET.get("q", "").strip()
        page = paginate(request, selectors.opened_bids(round_=round_, query=query))
        groups: dict[int, list[OpenedBid]] = {}
        for bid in page:
            groups.setdefault(bid.round_item_id, []).append(bid)
        items = selectors.opening_round_items(round_=round_)
        context.update(
            record=Opening.objects.get(round=round_),
            items=items,
            sections=[(ri, groups[ri.pk]) for ri, _count in items if ri.pk in groups],
            page_obj=page,
            q=query,
            receipts=sorted(bid.receipt_hash for bid in page),
        )
        context.update(_tamper_report(context["record"]))  # type: ignore[arg-type]
        context["can_decide"] = (
            getattr(request.user, "organization_id", None) == round_.office_id
            and round_.status == Round.Status.BIDS_OPENED
        )
    return render(request, "bidding/opening.html", context)


@office_required
@require_POST
def tampered_bid_decide_view(request: HttpRequest, code: str, opened_id: int) -> HttpResponse:
    """The office records its decision on one tampered bid (final; see the docs)."""
    round_ = _office_round(request, code)
    opened = get_object_or_404(
        OpenedBid.objects.select_related("round_item"), pk=opened_id, opening__round=round_
    )
    try:
        tampered_bid_decide(
            opened=opened,
            decision=request.POST.get("decision", ""),
            evidence=request.POST.get("evidence", "")[:2000],
            by=_user(request),
        )
    except ValidationError as exc:
        for message in _errors(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("The decision is recorded on the opening record."))
    return redirect(f"{reverse('bidding:opening', args=[round_.code])}#tamper-report")


def _tamper_report(record: Opening) -> dict[str, object]:
    """Every bid the opening judged tampered (never paginated away) and the bid log
    findings not tied to one bid, as sentences."""
    report = record.log_report or {}
    findings = [_finding_text(f) for f in report.get("findings", [])]
    tampered = list(
        OpenedBid.objects.filter(
            Q(validity=OpenedBid.Validity.TAMPERED) | Q(tamper_decision__isnull=False),
            opening=record,
        )
        .select_related(
            "manufacturer",
            "specification",
            "round_item__item",
            "version",
            "tamper_decision__decided_by",
        )
        .order_by("round_item_id", "manufacturer_id", "specification_id", "pk")
    )
    return {"tampered": tampered, "log_findings": findings, "log_report": report}


def _finding_text(finding: dict[str, object]) -> str:
    code = finding.get("code")
    if code == "missing_positions":
        return _(
            "Bid log entries at positions %(start)s to %(end)s are missing: ask the bidders "
            "for their receipts with these positions."
        ) % {"start": finding.get("from"), "end": int(str(finding.get("to"))) - 1}
    if code == "head_mismatch":
        return _(
            "The bid log recomputed from the stored entries does not match the head "
            "published when bidding closed."
        )
    if code == "head_not_published":
        return _("No bid log head was published when bidding closed.")
    if code == "bid_without_versions":
        return _("Bid %(bid)s has no stored version left to open.") % {"bid": finding.get("bid")}
    return str(code)


INCLUSION_PROBLEMS = {
    "not_published": _lazy("The bid log head is published when bidding closes; check again then."),
    "malformed": _lazy("The receipt has no valid bid log section."),
    "other_round": _lazy("The receipt belongs to another round."),
    "no_such_position": _lazy("No entry under the published head has this position."),
    "not_found": _lazy("No entry under the published head has this receipt hash."),
    "not_included": _lazy("The entry does not lead to the published head: it is not in the log."),
    "receipt_head_inconsistent": _lazy(
        "The head on the receipt is not a prefix of the published head: the log was rewritten."
    ),
}


def _is_position(query: str) -> bool:
    return re.fullmatch(r"[0-9]{1,11}", query) is not None  # ASCII digits only


@require_GET
def log_inclusion_page(request: HttpRequest, code: str) -> HttpResponse:
    """Public: is a receipt (its hash) or a log position included under the head published
    when bidding closed? The proof is shown step by step (docs/sealed-bidding.md)."""
    round_ = selectors.round_get_by_code(code=code)
    head = log_head_published(round_=round_)
    query = request.GET.get("q", "").strip().lower()
    check = None
    problem = ""
    if query and head is not None:
        position = (
            int(query)
            if _is_position(query)
            else log_position_of(round_=round_, receipt_hash=query)
        )
        if position is None:
            problem = str(INCLUSION_PROBLEMS["not_found"])
        else:
            check = log_inclusion(round_=round_, position=position)
            problem = str(INCLUSION_PROBLEMS.get(check.problem, "")) if not check.ok else ""
    elif query:
        problem = str(INCLUSION_PROBLEMS["not_published"])
    return render(
        request,
        "bidding/log.html",
        {
            "round": round_,
            "head": head,
            "q": query,
            "check": check,
            "problem": problem,
            # Before the opening, a look-up by position shows the proof but not the entry
            # (which bid, when): who holds the receipt hash already knows those.
            "show_entry": check is not None
            and (not _is_position(query) or selectors.round_is_opened(round_)),
        },
    )


@require_GET
def opening_csv(request: HttpRequest, code: str) -> HttpResponse:
    round_ = selectors.round_get_by_code(code=code)
    record = selectors.opening_record(round_=round_)
    if record is None:
        raise Http404("not opened yet")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="opening-{round_.code}.csv"'
    response.write("\ufeff")  # BOM: spreadsheet programs then read the UTF-8 correctly
    writer = csv_writer(response)  # every text field inert (formula injection)
    writer.writerow(
        [
            "item",
            "specification",
            "manufacturer",
            "social_credit_code",
            "product",
            "unit_price",
            "unit_comparable_price",
            "max_valid_bid_price",
            "validity",
            "reasons",
            "receipt_hash",
            "signature",  # valid / absent / invalid (docs/signatures.md)
            "signature_key",
        ]
    )
    for bid in record.all_bids():
        writer.writerow(
            [
                bid.round_item.item.code,
                bid.specification.code,
                bid.manufacturer.name,
                bid.manufacturer.social_credit_code,
                bid.product.name if bid.product else "",
                bid.unit_price if bid.unit_price is not None else "",
                bid.unit_comparable_price if bid.unit_comparable_price is not None else "",
                bid.max_valid_bid_price if bid.max_valid_bid_price is not None else "",
                bid.validity,
                " ".join(bid.reasons),
                bid.receipt_hash,
                bid.signature,
                bid.signature_key,
            ]
        )
    return response

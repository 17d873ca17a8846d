"""Pages of sealed bidding. Thin: access through selectors, changes through services.

Pages that show a bidder its own terms or receipts are never cached (``never_cache``).
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts.access import manufacturer_required, office_required
from accounts.models import User
from bidding import selectors
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
)
from common.pagination import paginate
from common.spreadsheets import csv_writer
from procurement.models import Round

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
    if request.method == "POST" and step == "check":  # inline validation while typing (htmx)
        sheet = BidSheet.build(
            items, request.POST, current=BidSheet.carried_terms(items, request.POST)
        )
        sheet.is_valid()
        return render(request, "bidding/_sheet_feedback.html", {**context, "sheet": sheet})
    bids = [row.bid for item in items for row in item.rows]
    current = bid_sheet_unseal(user=user, bids=bids)
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
        return render(request, "bidding/confirm.html", context)
    try:
        receipts = bid_sheet_submit(
            round_=round_, lines=[change.line for change in sheet.changes], by=user
        )
    except ValidationError as exc:
        context["service_errors"] = _errors(exc)
        return render(request, "bidding/sheet.html", context, status=422)
    return _sealed_page(request, round_, receipts)


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
    context: dict[str, object] = {"round": round_, "record": None}
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
    return render(request, "bidding/opening.html", context)


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
            ]
        )
    return response

"""What a bidder can read of its own sealed bids (issue 13).

Before the opening the server cannot decrypt any bid: the round's private key exists only
as the opening officials' shares. So a bidder's own pages show its bids as sealed (product,
time and receipt hash, no terms) until the opening, and the terms from the public opening
record after it. The full receipt, terms included, is handed over once, at submission.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import Http404

from accounts.models import Organization, User
from bidding.models import Bid, BidVersion, OpenedBid
from bidding.services.log import document_with_log
from bidding.services.terms import BidTerms
from bidding.services.versions import _sealed_receipt


def bid_version_receipt(*, version: BidVersion, by: User | None, purpose: str) -> dict[str, object]:
    """What the server can show of a stored version's receipt: sealed before the opening,
    with the opened terms after it (the full, verifiable receipt was given at submission)."""
    document = _sealed_receipt(version)
    opened = OpenedBid.objects.filter(version=version).first()
    if opened is not None:
        content = dict(document["content"])  # type: ignore[call-overload]
        content["unit_price"] = None if opened.unit_price is None else f"{opened.unit_price:.4f}"
        content["annual_capacity"] = (
            None if opened.annual_capacity is None else str(opened.annual_capacity)
        )
        document["content"] = content
        document["sealed"] = False
    return document_with_log(document, version)


def bid_terms_unseal(*, user: User, bid: Bid, purpose: str) -> BidTerms:
    """The current terms of the user's own bid (get the bid with ``bid_get_for_user``).

    After the opening they come from the opening record; before it only the product is
    known (the price and capacity are sealed: ``None``). Another organization's bid is a
    404, as for a missing one.
    """
    if bid.manufacturer_id != _own_manufacturer_id(user):
        raise Http404("no such bid")
    opened = OpenedBid.objects.select_related("product").filter(bid=bid).first()
    if opened is not None:
        return BidTerms(
            product=opened.product,
            unit_price=opened.unit_price,
            annual_capacity=opened.annual_capacity,
        )
    version = (
        BidVersion.objects.select_related("product")
        .filter(bid=bid, number=bid.current_version)
        .get()
    )
    return BidTerms(product=version.product, unit_price=None, annual_capacity=None)


def bid_sheet_unseal(*, user: User, bids: Iterable[Bid | None]) -> dict[int, BidTerms]:
    """What the bid sheet shows of the user's active bids, by bid id (sealed terms: the
    product only; a revision is entered afresh)."""
    return {
        bid.pk: bid_terms_unseal(user=user, bid=bid, purpose="bid_sheet")
        for bid in bids
        if bid is not None and bid.status == Bid.Status.ACTIVE
    }


def _own_manufacturer_id(user: User) -> int | None:
    if not getattr(user, "is_authenticated", False):
        return None
    organization = user.organization
    if organization is None or organization.kind != Organization.Kind.MANUFACTURER:
        return None
    return organization.pk

"""Reading sealed terms for an allowed reader: every decryption is audited first.

Access checks are the selectors' job (``bid_get_for_user`` and the like); these services
decrypt, and write a ``DecryptionAudit`` row per decrypted version before decrypting, so
an attempt that fails authentication is on record too. A page that shows a bidder its own
prices calls one of them once per page view; nothing that refreshes as the bidder types
does.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import Http404
from django.views.decorators.debug import sensitive_variables

from accounts.models import Organization, User
from bidding import sealing
from bidding.keys import round_key_get
from bidding.models import Bid, BidVersion, DecryptionAudit, OpenedBid
from bidding.services.log import document_with_log
from bidding.services.terms import BidTerms
from bidding.services.versions import _decrypt, _receipt_document, _version_identity


@sensitive_variables()  # no price in a traceback's local variables
def bid_version_unseal(*, version: BidVersion, by: User | None, purpose: str) -> BidTerms:
    """Decrypt one version for an allowed reader. Access checks are the selectors' job;
    this records the decryption in the append-only audit log before decrypting, so an
    attempt that fails authentication is on record too."""
    data_key = round_key_get(round_=version.bid.round)
    if data_key is None:
        raise sealing.UnsealError("round key missing")
    terms = _decrypt(version=version, data_key=data_key, by=by, purpose=purpose)
    return BidTerms(
        product=version.product, unit_price=terms.unit_price, annual_capacity=terms.annual_capacity
    )


@sensitive_variables()  # no price in a traceback's local variables
def bid_version_receipt(*, version: BidVersion, by: User | None, purpose: str) -> dict[str, object]:
    """Rebuild the full receipt document of a stored version (decrypts, audited)."""
    data_key = round_key_get(round_=version.bid.round)
    if data_key is None:
        raise sealing.UnsealError("round key missing")
    terms = _decrypt(version=version, data_key=data_key, by=by, purpose=purpose)
    document = _receipt_document(
        identity=_version_identity(version), terms=terms, server_time=version.server_time
    )
    return document_with_log(document, version)


@sensitive_variables()  # no price in a traceback's local variables
def bid_terms_unseal(*, user: User, bid: Bid, purpose: str) -> BidTerms:
    """The current terms of the user's own bid (get the bid with ``bid_get_for_user``).

    After the opening they come from the opening record (nothing is decrypted); before it
    the counting version is decrypted for its owner only, and the decryption is audited
    with ``purpose``. Another organization's bid is a 404, as for a missing one.
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
        BidVersion.objects.select_related("product", "bid__round")
        .filter(bid=bid, number=bid.current_version)
        .get()
    )
    return bid_version_unseal(version=version, by=user, purpose=purpose)


@sensitive_variables()  # no price in a traceback's local variables
def bid_sheet_unseal(*, user: User, bids: Iterable[Bid | None]) -> dict[int, BidTerms]:
    """The current terms of the user's active bids shown on its bid sheet, by bid id.

    Each is decrypted once, audited as a look at the bid sheet: called once per view of
    the sheet (not by its inline check while the bidder types, which compares with the
    terms the page carried).
    """
    return {
        bid.pk: bid_terms_unseal(user=user, bid=bid, purpose=DecryptionAudit.Purpose.BID_SHEET)
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

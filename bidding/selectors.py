"""Reads of sealed bidding, with the access checks (tested hardest: tests/bidding).

Who may see what:

* a bid, its versions and receipts: only users of the bidding manufacturer;
* the decrypted terms of a bid before the opening: only users of the bidding manufacturer,
  through the unsealing services (``bidding.services.unsealing``), which record every
  read in the decryption audit log (selectors only read);
* who has submitted per item (no prices): the office that runs the round;
* the opening record (every opened bid with its price): anyone, once the round is opened.

A refusal for someone else's bid is a 404, so a rival cannot even learn that a bid id exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, F, Max, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Organization, User
from bidding.models import Bid, BidVersion, DecryptionAudit, OpenedBid, Opening
from catalog.models import Product
from procurement.models import Ceiling, Round, RoundItem
from tender.selectors import reconfirmation_index

S = Round.Status


def _organization(user: User | object) -> Organization | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "organization", None)


def _manufacturer(user: User | object) -> Organization | None:
    organization = _organization(user)
    if organization is None or organization.kind != Organization.Kind.MANUFACTURER:
        return None
    return organization


def round_get_by_code(*, code: str) -> Round:
    round_ = Round.objects.select_related("rule_set", "office").filter(code=code).first()
    if round_ is None:
        raise Http404("no such round")
    return round_


def round_is_opened(round_: Round) -> bool:
    """Opened once and for all: the record stays public whatever happens to the round."""
    return Opening.objects.filter(round=round_).exists()


def rounds_open_for_bidding() -> QuerySet[Round]:
    return Round.objects.filter(status=S.BIDDING_OPEN, bid_deadline__gt=timezone.now()).order_by(
        "bid_deadline"
    )


def rounds_with_opening() -> QuerySet[Round]:
    return (
        Round.objects.filter(opening__isnull=False)
        .select_related("opening")
        .order_by("-opening__opened_at")
    )


# --- bids ---------------------------------------------------------------------------------


def _bids() -> QuerySet[Bid]:
    return Bid.objects.select_related(
        "round", "round_item__item", "specification", "manufacturer", "lineage_product"
    )


def bid_list_for_user(*, user: User | object, round_: Round | None = None) -> QuerySet[Bid]:
    """The bids a user may list: its own manufacturer's, and nobody else's."""
    manufacturer = _manufacturer(user)
    if manufacturer is None:
        return Bid.objects.none()
    bids = _bids().filter(manufacturer=manufacturer)
    if round_ is not None:
        bids = bids.filter(round=round_)
    return bids.order_by(
        "-round__created_at", "round_item__item__code", "specification__code", "pk"
    )


def bid_get_for_user(*, user: User | object, bid_id: int) -> Bid:
    """One bid of the user's own manufacturer, or 404."""
    manufacturer = _manufacturer(user)
    if manufacturer is None:
        raise Http404("no such bid")
    bid = _bids().filter(pk=bid_id, manufacturer=manufacturer).first()
    if bid is None:
        raise Http404("no such bid")
    return bid


def bid_version_get_for_user(*, user: User | object, version_id: int) -> BidVersion:
    """One version (receipt) of the user's own manufacturer's bids, or 404."""
    manufacturer = _manufacturer(user)
    if manufacturer is None:
        raise Http404("no such receipt")
    version = (
        BidVersion.objects.select_related(
            "bid__round",
            "bid__round_item__item",
            "bid__specification",
            "bid__manufacturer",
            "product",
        )
        .filter(pk=version_id, bid__manufacturer=manufacturer)
        .first()
    )
    if version is None:
        raise Http404("no such receipt")
    return version


def bid_current_version(bid: Bid) -> BidVersion:
    return (
        BidVersion.objects.select_related("product", "bid__round")
        .filter(bid=bid, number=bid.current_version)
        .get()
    )


def bid_decryptions(bid: Bid) -> QuerySet[DecryptionAudit]:
    """Who decrypted this bid, when and why (shown to the bidder: transparency), newest first.

    Every look at the bid sheet adds a row per bid, so the page shows it page by page."""
    return (
        DecryptionAudit.objects.select_related("by", "organization", "bid_version")
        .filter(bid_version__bid=bid)
        .order_by("-at", "-id")
    )


def bid_versions(bid: Bid) -> QuerySet[BidVersion]:
    return BidVersion.objects.select_related("product", "submitted_by").filter(bid=bid)


# --- the bid sheet ------------------------------------------------------------------------


@dataclass
class SheetRow:
    """One line of a manufacturer's bid sheet. No terms: a bid's current terms are
    decrypted for its owner by ``bidding.services.bid_sheet_unseal`` (audited)."""

    key: str
    round_item: RoundItem
    ceiling: Ceiling
    products: list[Product]
    bid: Bid | None = None
    fixed_product: Product | None = None  # consumables: the row is for this product

    @property
    def specification(self) -> object:
        return self.ceiling.specification


@dataclass
class SheetItem:
    round_item: RoundItem
    rows: list[SheetRow] = field(default_factory=list)


def bid_sheet_for_user(*, user: User, round_: Round) -> list[SheetItem]:
    """The bid sheet of the user's manufacturer for ``round_``: one row per specification
    (drugs) or per own product (consumables), with its bid if any. Reads only: nothing is
    decrypted here."""
    manufacturer = _manufacturer(user)
    if manufacturer is None:
        raise Http404("no bid sheet")
    ceilings = (
        Ceiling.objects.filter(round_item__round=round_)
        .select_related("round_item__item", "specification__item")
        .order_by(
            "round_item__item__code", "-specification__is_representative", "specification__code"
        )
    )
    own_products = list(
        Product.objects.filter(manufacturer=manufacturer, item__round_items__round=round_).order_by(
            "name"
        )
    )
    bids = {
        (b.round_item_id, b.specification_id, b.lineage_product_id): b
        for b in Bid.objects.filter(round=round_, manufacturer=manufacturer)
    }
    items: dict[int, SheetItem] = {}
    for ceiling in ceilings:
        round_item = ceiling.round_item
        sheet_item = items.setdefault(round_item.pk, SheetItem(round_item=round_item))
        spec_products = [p for p in own_products if p.specification_id == ceiling.specification_id]
        eligible = [p for p in spec_products if p.is_eligible]
        if round_.kind == Round.Kind.CONSUMABLES:
            for product in spec_products:
                bid = bids.get((round_item.pk, ceiling.specification_id, product.pk))
                sheet_item.rows.append(
                    SheetRow(
                        key=f"{round_item.pk}-{ceiling.specification_id}-{product.pk}",
                        round_item=round_item,
                        ceiling=ceiling,
                        products=[product] if product.is_eligible else [],
                        bid=bid,
                        fixed_product=product,
                    )
                )
        else:
            sheet_item.rows.append(
                SheetRow(
                    key=f"{round_item.pk}-{ceiling.specification_id}",
                    round_item=round_item,
                    ceiling=ceiling,
                    products=eligible,
                    bid=bids.get((round_item.pk, ceiling.specification_id, None)),
                )
            )
    return list(items.values())


# --- the office's view, and the public opening record ------------------------------------


@dataclass(frozen=True)
class ItemSubmissions:
    round_item: RoundItem
    manufacturers: list[Organization]
    bid_count: int


def submission_status_for_user(
    *, user: User | object, round_: Round
) -> list[ItemSubmissions] | None:
    """Per item, which manufacturers have a live bid — no prices, no capacities, no
    products. For the office running the round only (None for anyone else)."""
    organization = _organization(user)
    if organization is None or organization.pk != round_.office_id:
        return None
    live = Bid.objects.filter(round=round_, status=Bid.Status.ACTIVE).select_related("manufacturer")
    by_item: dict[int, dict[int, Organization]] = {}
    counts: dict[int, int] = {}
    for bid in live:
        by_item.setdefault(bid.round_item_id, {})[bid.manufacturer_id] = bid.manufacturer
        counts[bid.round_item_id] = counts.get(bid.round_item_id, 0) + 1
    return [
        ItemSubmissions(
            round_item=round_item,
            manufacturers=sorted(
                by_item.get(round_item.pk, {}).values(), key=lambda o: o.social_credit_code
            ),
            bid_count=counts.get(round_item.pk, 0),
        )
        for round_item in RoundItem.objects.filter(round=round_).select_related("item")
    ]


@dataclass(frozen=True)
class OpeningItem:
    round_item: RoundItem
    bids: list[OpenedBid]


@dataclass(frozen=True)
class OpeningRecord:
    round: Round
    opening: Opening
    items: list[OpeningItem]

    def all_bids(self) -> Iterable[OpenedBid]:
        for item in self.items:
            yield from item.bids


def opened_bids(*, round_: Round, query: str = "") -> QuerySet[OpenedBid]:
    """A round's opened bids in the order of the opening record (public once opened).

    Per item, lowest unit comparable price first, tampered bids (no price) last; a stable
    order, so the record can be read page by page. ``query`` keeps the bids whose
    manufacturer (name or credit code), item (code or name) or product name contains it,
    or whose receipt hash starts with it.
    """
    bids = (
        OpenedBid.objects.filter(opening__round=round_)
        .select_related("manufacturer", "product", "specification", "round_item__item")
        .order_by(
            "round_item__item__code",
            F("unit_comparable_price").asc(nulls_last=True),
            "manufacturer__social_credit_code",
            "pk",
        )
    )
    query = query.strip()
    if query:
        bids = bids.filter(
            Q(manufacturer__name__icontains=query)
            | Q(manufacturer__name_en__icontains=query)
            | Q(manufacturer__social_credit_code__icontains=query)
            | Q(round_item__item__code__icontains=query)
            | Q(round_item__item__name__icontains=query)
            | Q(round_item__item__name_en__icontains=query)
            | Q(product__name__icontains=query)
            | Q(product__name_en__icontains=query)
            | Q(receipt_hash__startswith=query.lower())
        )
    return bids


def opening_round_items(*, round_: Round) -> list[tuple[RoundItem, int]]:
    """The round's items with their ceilings, each with its number of opened bids."""
    counts = dict(
        OpenedBid.objects.filter(opening__round=round_)
        .values_list("round_item")
        .annotate(n=Count("pk"))
        .values_list("round_item", "n")
    )
    round_items = (
        RoundItem.objects.filter(round=round_)
        .select_related("item")
        .prefetch_related(
            Prefetch("ceilings", queryset=Ceiling.objects.select_related("specification"))
        )
        .order_by("item__code")
    )
    return [(round_item, counts.get(round_item.pk, 0)) for round_item in round_items]


def opening_record(*, round_: Round) -> OpeningRecord | None:
    """The public opening record; None until the round's bids are opened."""
    if not round_is_opened(round_):
        return None
    opening = Opening.objects.select_related("opened_by").get(round=round_)
    opened = (
        OpenedBid.objects.filter(opening=opening)
        # Each bid's item too: the CSV and the API print it per bid.
        .select_related("manufacturer", "product", "specification", "version", "round_item__item")
        # Lowest unit comparable price first; tampered bids (no price) last.
        .order_by(
            "round_item__item__code",
            F("unit_comparable_price").asc(nulls_last=True),
            "manufacturer__social_credit_code",
            "pk",
        )
    )
    by_item: dict[int, list[OpenedBid]] = {}
    for bid in opened:
        by_item.setdefault(bid.round_item_id, []).append(bid)
    items = [
        OpeningItem(round_item=ri, bids=by_item.get(ri.pk, []))
        for ri in RoundItem.objects.filter(round=round_)
        .select_related("item")
        .prefetch_related(
            Prefetch("ceilings", queryset=Ceiling.objects.select_related("specification"))
        )
    ]
    return OpeningRecord(round=round_, opening=opening, items=items)


def bids_to_reconfirm(*, round_: Round, bids: Iterable[Bid | None]) -> set[int]:
    """The ids of the active bids a material amendment published after their last sealed
    version touches (``tender.selectors.reconfirmation_index``): their bidders must
    re-confirm them, and the sheet marks them so."""
    active = [b for b in bids if b is not None and b.status == Bid.Status.ACTIVE]
    index = reconfirmation_index(round_=round_)
    if not active or not (index.round_wide or index.by_item or index.by_line):
        return set()
    last = dict(
        BidVersion.objects.filter(bid__in=[b.pk for b in active])
        .values("bid_id")
        .annotate(at=Max("server_time"))
        .values_list("bid_id", "at")
    )
    marked = set()
    for bid in active:
        since = index.since(bid.round_item_id, bid.specification_id)
        if since is not None and bid.pk in last and last[bid.pk] < since:
            marked.add(bid.pk)
    return marked

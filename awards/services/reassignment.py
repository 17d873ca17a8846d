"""A hospital's choice of winners for the volume of its declared products that lost.

Consumable rounds (DESIGN §2.2): a hospital declares an intended volume per product
(brand). Winners keep that volume; the volume of a product that lost is moved by the
hospital to winners of its choice, and where it chose nobody, by the platform's
minimum-cost default.

The lifecycle, and why it keeps every run's input hash honest:

* The official evaluation proposes the winners without any choice (nobody can choose
  before the winners are known): its problem has no ``reassign_to``, its allocation of
  lost volume is the minimum-cost default, and that is what is published for objections.
* While the proposed winners are published (the objection period, until the office
  finalizes), a hospital with lost volume on an item orders that item's winners
  (``lost_volume_choice_set``). Choices survive an upheld objection and its re-evaluation
  (choices of bids that no longer win are skipped by the optimiser).
* Finalizing closes the window. When any hospital has chosen, finalizing queues the
  *choice run* (``EvaluationRun.is_hospital_choice``): the same rule set and exclusions,
  with the stored choices (``awards.problem.lost_volume_preferences``) as each hospital's
  ``reassign_to``; its input hash covers the choices. It must keep the winners and their
  prices (like the province-selection run of a drug round) and becomes the official
  result; contracts wait for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from awards.models import AuditEntry, BidResult, EvaluationRun, LostVolumeChoice
from awards.services.base import rerun_create
from bidding.models import OpenedBid
from procurement.models import DemandDeclaration, Round, RoundItem
from procurement.optimiser.kinds import kinds_taking_choices

S = Round.Status
R = EvaluationRun.Status

# Rule kinds whose allocation keeps winners' intended volume and moves the lost volume by
# the hospitals' choices (the registry's ``takes_choices``). The optimised award allocates
# all volume by its own model and ignores them.
CHOICE_RULE_KINDS = kinds_taking_choices()


def _takes_choices(round_: Round) -> bool:
    return round_.kind == Round.Kind.CONSUMABLES and round_.rule_set.kind in CHOICE_RULE_KINDS


# --- reading ------------------------------------------------------------------------------


def choice_window_blocker(*, round_: Round) -> str:
    """Why winners for lost volume cannot be chosen in ``round_`` now ("" when they can)."""
    if round_.kind != Round.Kind.CONSUMABLES:
        return _(
            "Round %(code)s is a drug round: only consumable rounds move the volume of "
            "losing products to winners chosen by the hospital."
        ) % {"code": round_.code}
    if round_.rule_set.kind not in CHOICE_RULE_KINDS:
        return _(
            "Round %(code)s is awarded under the rule set %(rule_set)s, which allocates all "
            "volume by its own optimisation: hospitals do not choose winners for lost volume."
        ) % {"code": round_.code, "rule_set": str(round_.rule_set)}
    if round_.status == S.OBJECTION:
        return ""
    if round_.status in {S.AWARDED, S.CONTRACTED, S.IN_EXECUTION, S.CLOSED}:
        return _(
            "The award of round %(code)s has been finalized: choices closed when the office "
            "finalized it, and the final allocation uses the choices made before."
        ) % {"code": round_.code}
    return _(
        "Round %(code)s is %(status)s: winners for lost volume can be chosen only while the "
        "proposed winners are published for objections."
    ) % {"code": round_.code, "status": round_.get_status_display()}


def _official_source_run(round_: Round) -> EvaluationRun | None:
    run = (
        EvaluationRun.objects.filter(round=round_, is_official=True)
        .select_related("same_as")
        .first()
    )
    return run.source_run if run is not None else None


@dataclass(frozen=True)
class LostProduct:
    """A product the hospital declared, with its volume, whether its bid won, and how much
    of its volume the optimiser moves to other winners (all of it for a product that lost
    or that nobody bid, none for a winning product)."""

    name: str
    manufacturer: str
    quantity: int
    won: bool
    was_bid: bool
    moves: int


@dataclass(frozen=True)
class WinnerOption:
    opened_bid_id: int
    manufacturer: str
    product: str
    award_price: Decimal | None
    rank: int | None


@dataclass
class LostItem:
    """One item on which the hospital has volume of a product that lost."""

    round_item: RoundItem
    declared: int
    lost: int
    products: list[LostProduct] = field(default_factory=list)
    winners: list[WinnerOption] = field(default_factory=list)
    chosen: list[int] = field(default_factory=list)  # opened-bid ids, preference order

    @property
    def chosen_winners(self) -> list[WinnerOption]:
        by_id = {w.opened_bid_id: w for w in self.winners}
        return [by_id[b] for b in self.chosen if b in by_id]


def _product_bids(round_: Round) -> dict[tuple[int, int], int]:
    """(round item id, product id) -> opened bid id, as ``problem_build`` maps them (priced
    opened bids only; a product bid twice keeps its latest opened bid)."""
    out: dict[tuple[int, int], int] = {}
    for pk, round_item_id, product_id in (
        OpenedBid.objects.filter(
            round_item__round=round_, unit_price__isnull=False, product__isnull=False
        )
        .order_by("pk")
        .values_list("pk", "round_item_id", "product_id")
    ):
        out[(round_item_id, product_id)] = pk
    return out


def _winning_bids(run: EvaluationRun) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for round_item_id, opened_bid_id in BidResult.objects.filter(
        run=run, outcome=BidResult.Outcome.WON
    ).values_list("round_item_id", "opened_bid_id"):
        out[round_item_id].add(opened_bid_id)
    return out


def _moved_quantities(
    lines: Sequence[tuple[int | None, int]],
    round_item_id: int,
    product_bids: dict[tuple[int, int], int],
    winners: set[int],
) -> list[int]:
    """Per line, the hospital's volume of an item that the optimiser moves, exactly as
    ``awards.problem.problem_build`` hands it over: a winning product's volume stays
    with its winner; the volume of a product whose bid lost, or that nobody bid, moves. A
    line without a product leaves the hospital without brand volumes: all of it moves."""
    if any(product_id is None for product_id, _ in lines):
        return [q for _, q in lines]
    return [
        0 if product_bids.get((round_item_id, product_id)) in winners else quantity
        for product_id, quantity in lines
        if product_id is not None
    ]


def _winner_option(result: BidResult) -> WinnerOption:
    product = result.opened_bid.product
    return WinnerOption(
        opened_bid_id=result.opened_bid_id,
        manufacturer=result.manufacturer.display_name,
        product=product.display_name if product is not None else "",
        award_price=result.award_price,
        rank=result.rank,
    )


def lost_volume_items(*, round_: Round, hospital: Organization) -> list[LostItem]:
    """The items of ``round_`` on which ``hospital`` has volume of a product that lost in
    the official result, with the winners it may choose and its stored choice."""
    run = _official_source_run(round_)
    if run is None or not _takes_choices(round_):
        return []
    product_bids = _product_bids(round_)
    winners = _winning_bids(run)
    lines: dict[int, list[DemandDeclaration]] = defaultdict(list)
    for d in (
        DemandDeclaration.objects.filter(round_item__round=round_, hospital=hospital)
        .select_related("product__manufacturer")
        .order_by("round_item_id", "product_id")
    ):
        lines[d.round_item_id].append(d)
    round_items = {
        ri.pk: ri
        for ri in RoundItem.objects.filter(pk__in=lines).select_related("item").order_by("pk")
    }
    chosen: dict[int, list[int]] = defaultdict(list)
    for round_item_id, opened_bid_id in LostVolumeChoice.objects.filter(
        round_item__round=round_, hospital=hospital
    ).values_list("round_item_id", "opened_bid_id"):
        chosen[round_item_id].append(opened_bid_id)  # the model orders by rank
    results = {
        r.opened_bid_id: r
        for r in BidResult.objects.filter(
            run=run, round_item_id__in=lines, outcome=BidResult.Outcome.WON
        ).select_related("manufacturer", "opened_bid__product")
    }
    out: list[LostItem] = []
    for round_item_id, declared in lines.items():
        won = winners.get(round_item_id, set())
        moved = _moved_quantities(
            [(d.product_id, d.quantity) for d in declared], round_item_id, product_bids, won
        )
        lost = sum(moved)
        if lost <= 0 or not won:
            continue
        products = []
        for d, moves in zip(declared, moved, strict=True):
            bid = product_bids.get((round_item_id, d.product_id)) if d.product_id else None
            products.append(
                LostProduct(
                    name=d.product.display_name if d.product else "",
                    manufacturer=d.product.manufacturer.display_name if d.product else "",
                    quantity=d.quantity,
                    won=bid is not None and bid in won,
                    was_bid=bid is not None,
                    moves=moves,
                )
            )
        options = sorted(
            (_winner_option(results[b]) for b in won if b in results),
            key=lambda w: (w.award_price is None, w.award_price, w.rank or 0, w.opened_bid_id),
        )
        out.append(
            LostItem(
                round_item=round_items[round_item_id],
                declared=sum(d.quantity for d in declared),
                lost=lost,
                products=products,
                winners=options,
                chosen=chosen.get(round_item_id, []),
            )
        )
    out.sort(key=lambda i: i.round_item.item.code)
    return out


@dataclass(frozen=True)
class ChoiceSummary:
    """For the office: how many hospitals with lost volume have chosen, and the run."""

    hospitals_with_lost_volume: int
    hospitals_chosen: int
    choice_run: EvaluationRun | None


def choice_run(*, round_: Round) -> EvaluationRun | None:
    """The latest run applying the hospitals' choices (queued at finalization)."""
    return (
        EvaluationRun.objects.filter(round=round_, is_hospital_choice=True)
        .order_by("-requested_at", "-pk")
        .first()
    )


def lost_volume_choice_summary(*, round_: Round) -> ChoiceSummary | None:
    """None for rounds without choices (drug rounds, the optimised award) and rounds whose
    winners are not published yet."""
    if not _takes_choices(round_):
        return None
    run = _official_source_run(round_)
    if run is None or round_.status not in {
        S.OBJECTION,
        S.AWARDED,
        S.CONTRACTED,
        S.IN_EXECUTION,
        S.CLOSED,
    }:
        return None
    # A hospital has lost volume on an item with winners exactly when one of its lines
    # there is not a winning product (a losing or unbid product, or no product): one
    # DISTINCT query instead of reading every line of a national round into Python.
    product_bids = _product_bids(round_)
    winners = _winning_bids(run)
    won_products = [
        product_id
        for (round_item_id, product_id), bid in product_bids.items()
        if bid in winners.get(round_item_id, set())
    ]
    with_lost = set(
        DemandDeclaration.objects.filter(round_item_id__in=list(winners))
        .exclude(product_id__in=won_products)
        .order_by()
        .values_list("hospital_id", flat=True)
        .distinct()
    )
    chosen = set(
        LostVolumeChoice.objects.filter(round_item__round=round_).values_list(
            "hospital_id", flat=True
        )
    )
    return ChoiceSummary(
        hospitals_with_lost_volume=len(with_lost),
        hospitals_chosen=len(chosen & with_lost),
        choice_run=choice_run(round_=round_),
    )


def choice_rounds_for_hospital(*, hospital: Organization) -> list[Round]:
    """Consumable rounds open for choices in which ``hospital`` declared demand."""
    return list(
        Round.objects.filter(
            kind=Round.Kind.CONSUMABLES,
            rule_set__kind__in=CHOICE_RULE_KINDS,
            status=S.OBJECTION,
            items__declarations__hospital=hospital,
        )
        .distinct()
        .order_by("code")
    )


# --- changing -----------------------------------------------------------------------------


def lost_volume_choice_set(
    *, round_: Round, round_item_id: int, by: User, opened_bid_ids: Sequence[int]
) -> list[LostVolumeChoice]:
    """Store the hospital's winners, in preference order, for its lost volume of an item.

    An empty list removes the choice (the platform's minimum-cost default applies).
    Refused outside the window (see ``choice_window_blocker``), for an item where the
    hospital has no volume of a losing product, and for a bid that is not a winner of the
    item. The round row is locked first, as finalization locks it: a choice is either
    stored before the award is finalized, or refused.
    """
    hospital: Organization | None = by.organization
    if hospital is None or hospital.kind != Organization.Kind.HOSPITAL:
        raise ValidationError(_("Only a hospital can choose winners for its lost volume."))
    if len(set(opened_bid_ids)) != len(opened_bid_ids):
        raise ValidationError(_("A winner can be chosen only once."))
    with transaction.atomic():
        locked = Round.objects.select_for_update().get(pk=round_.pk)
        blocker = choice_window_blocker(round_=locked)
        if blocker:
            raise ValidationError(blocker)
        items = {i.round_item.pk: i for i in lost_volume_items(round_=locked, hospital=hospital)}
        item = items.get(round_item_id)
        if item is None:
            raise ValidationError(
                _("Your hospital has no volume of a losing product on this item.")
            )
        winners = {w.opened_bid_id for w in item.winners}
        if any(b not in winners for b in opened_bid_ids):
            raise ValidationError(_("Choose among the winners of this item."))
        LostVolumeChoice.objects.filter(round_item_id=round_item_id, hospital=hospital).delete()
        rows = LostVolumeChoice.objects.bulk_create(
            LostVolumeChoice(
                round_item_id=round_item_id,
                hospital=hospital,
                rank=rank,
                opened_bid_id=bid,
                by=by,
            )
            for rank, bid in enumerate(opened_bid_ids, start=1)
        )
        AuditEntry.objects.create(
            round=locked,
            action="lost_volume_choice_set",
            by=by,
            detail={
                "hospital": hospital.pk,
                "round_item": round_item_id,
                "opened_bids": list(opened_bid_ids),
            },
        )
    return rows


def lost_volume_choices_apply(*, round_: Round, by: User | None) -> EvaluationRun | None:
    """At finalization (inside its transaction, the round row locked, status awarded):
    queue the choice run when any hospital has chosen; None when nobody has (the official
    run's minimum-cost default stands).
    """
    from awards.tasks import evaluation_run_task  # the task imports the services

    if not _takes_choices(round_):
        return None
    chosen = (
        LostVolumeChoice.objects.filter(round_item__round=round_)
        .values("hospital_id")
        .distinct()
        .count()
    )
    if not chosen:
        return None
    final = EvaluationRun.objects.get(round=round_, is_official=True)
    run = rerun_create(round_=round_, final=final, by=by, is_hospital_choice=True)
    AuditEntry.objects.create(
        round=round_,
        action="lost_volume_choices_applied",
        by=by,
        detail={"run": run.pk, "hospitals": chosen, "proposed_run": final.source_run.pk},
    )
    transaction.on_commit(lambda: evaluation_run_task.delay(run.pk))
    return run


def choice_run_blocker(*, round_: Round) -> str:
    """Why a finalized consumable round's contracts wait for the choice run ("" if not)."""
    run = choice_run(round_=round_)
    if run is None or run.status == R.DONE:
        return ""
    if run.status in (R.QUEUED, R.RUNNING):
        return _(
            "The hospitals' choices for the volume of losing products are being applied; "
            "contracts can be drawn up when that run has finished."
        )
    return _(
        "Applying the hospitals' choices for the volume of losing products failed; run it "
        "again from its run page, then draw up the contracts."
    )

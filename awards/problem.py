"""The optimiser's problem built from the database: opened bids, ceilings, closed demand.

Read-only. Ids in the problem are stable database keys (``B<opened bid id>``,
``M<manufacturer id>``, ``H<hospital id>``, ``P<product id>`` for a declared product
nobody bid, item and specification codes, province codes),
so the same database state always gives the same problem and the same input hash.
The problem is built as the optimiser's dataclasses directly, in its canonical order
(every list sorted by id, as ``procurement.optimiser.io`` sorts a parsed document), and
hashed the way the optimiser hashes a parsed document; ``tests/awards`` checks that
a round trip through the JSON format gives the same hash.

The winners' province choices and the hospitals' choices of winners for their lost
volume enter the problem as preferences, read here too (``selection_preferences``,
``lost_volume_preferences``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import Organization
from awards.models import LostVolumeChoice, ProvinceChoice, ProvinceSelection
from bidding.models import OpenedBid
from catalog.comparable_price import ComparablePriceCoefficients, representative_ceiling
from catalog.models import FormGroup, Specification
from procurement.models import Ceiling, DemandDeclaration, Round, RoundItem, RuleSet
from procurement.optimiser import model as opt
from procurement.optimiser import validate_rule_set
from procurement.optimiser.canonical import with_input_hash

# Why the platform itself made a bid ineligible, before the optimiser sees it: reason code
# -> the English text handed to the optimiser as the bid's ``ineligible_reason``. The text
# is part of the problem (and of its input hash), so its wording never changes; the code
# is what ``BidResult.reason_parts`` stores and ``awards.reasons`` translates.
INELIGIBLE_REASONS: Mapping[str, str] = {
    "excluded_by_objection": "excluded after an upheld objection",
    "failed_integrity_check": "failed the integrity check at the opening",
    "product_not_eligible": "product not eligible",
    "bidder_not_qualified": "bidder or product not qualified at the bid deadline",
}
# An opened bid without a price never reaches the optimiser (params: ``reasons``, the
# opening's reason codes, and ``validity``).
NOT_EVALUATED = "not_evaluated"
PLATFORM_REASON_CODES: frozenset[str] = frozenset({*INELIGIBLE_REASONS, NOT_EVALUATED})
# The opening's qualification reasons (docs/qualification.md): such a bid is never awarded.
_UNQUALIFIED = {OpenedBid.Reason.SUPPLIER_UNQUALIFIED, OpenedBid.Reason.PRODUCT_UNQUALIFIED}


def bid_key(opened_bid_id: int) -> str:
    return f"B{opened_bid_id}"


def supplier_key(manufacturer_id: int) -> str:
    return f"M{manufacturer_id}"


def hospital_key(hospital_id: int) -> str:
    return f"H{hospital_id}"


def product_key(product_id: int) -> str:
    """The label of a declared product nobody bid (a brand volume without a bid)."""
    return f"P{product_id}"


def key_id(key: str) -> int:
    """The database id inside a ``B12`` / ``M3`` / ``H7`` key."""
    return int(key[1:])


@dataclass
class BuiltProblem:
    problem: opt.Problem
    round_items: dict[str, int]  # item code -> round item id
    not_evaluated: list[OpenedBid] = field(default_factory=list)  # opened without a price
    bid_manufacturer: dict[int, int] = field(default_factory=dict)
    bid_unit_price: dict[int, Decimal] = field(default_factory=dict)
    ineligible: dict[int, str] = field(default_factory=dict)  # opened bid id -> reason code


def _opt_rule_set(rule_set: RuleSet) -> opt.RuleSet:
    errors = validate_rule_set(rule_set.kind, rule_set.parameters)
    if errors:
        raise ValidationError(
            [
                _("Rule set parameter %(path)s: %(message)s") % {"path": p, "message": m}
                for p, m in errors
            ]
        )
    return opt.RuleSet(
        kind=rule_set.kind,
        parameters=rule_set.parameters,
        name=rule_set.name,
        version=str(rule_set.version),
    )


def _spec(spec: Specification, ceiling: Decimal | None) -> opt.Specification:
    return opt.Specification(
        id=spec.code,
        strength=spec.strength_value,
        fill_volume=spec.fill_volume_ml,
        pack_count=spec.pack_count,
        dosage_form=spec.dosage_form or None,
        oral_solid=spec.item.form_group == FormGroup.ORAL_SOLID,
        max_valid_bid_price=ceiling,
    )


def _item_ceiling(
    round_item: RoundItem,
    representative: Specification,
    ceilings: Mapping[int, Decimal],
    specs: Mapping[int, Specification],
    coefficients: ComparablePriceCoefficients,
) -> Decimal:
    """The item's maximum valid bid price per unit of the representative specification
    (``catalog.comparable_price.representative_ceiling``: the one computation of it)."""
    ceiling = representative_ceiling(
        own=ceilings.get(representative.pk),
        others=[(specs[spec_id].as_comparable(), price) for spec_id, price in ceilings.items()],
        representative=representative.as_comparable(),
        coefficients=coefficients,
    )
    if ceiling is None:
        raise ValidationError(
            _("Item %(code)s has no maximum valid bid price.") % {"code": round_item.item.code}
        )
    return ceiling


def problem_build(
    *,
    round_: Round,
    rule_set: RuleSet,
    excluded: Collection[int] = (),
    region_preferences: Mapping[int, tuple[str, ...]] | None = None,
    backup_preferences: Mapping[int, tuple[str, ...]] | None = None,
    reassign_to: Mapping[tuple[int, int], tuple[int, ...]] | None = None,
) -> BuiltProblem:
    """The optimiser problem of ``round_`` under ``rule_set``.

    ``excluded`` are opened-bid ids excluded by upheld objections: they stay in the
    problem as ineligible bids (so every bid keeps a stated result). Opened bids without
    a price (tampered, failed decryption) cannot be evaluated and are returned apart.
    ``region_preferences`` / ``backup_preferences`` (opened-bid id -> province codes in
    order) come from the province selection (``selection_preferences``). ``reassign_to``
    ((round item id, hospital id) -> opened-bid ids in order) are the hospitals' choices
    of winners for the volume of their declared products that lost (consumables,
    ``lost_volume_preferences``); bids not in the problem or of another item are left out.
    """
    coefficients = _coefficients(rule_set)
    round_items = _round_items(round_)
    ceilings = _ceilings(round_)
    specs_by_item = _specifications(round_)
    opened = list(
        OpenedBid.objects.filter(round_item__round=round_)
        .select_related("specification", "product")
        .order_by("pk")
    )
    built = BuiltProblem(problem=None, round_items={})  # type: ignore[arg-type]
    bids, product_bid = _bids(
        opened,
        built,
        excluded=set(excluded),
        region_preferences=region_preferences or {},
        backup_preferences=backup_preferences or {},
        # The opening priced every bid on its item's representative specification under the
        # round's own (frozen) rule set: a rule set with the same coefficients ranks on those
        # very figures; a scenario with other coefficients has them computed anew.
        opening_prices=coefficients == _coefficients(round_.rule_set),
    )
    code_of = {ri.pk: ri.item.code for ri in round_items}
    bid_item = {bid_key(o.pk): code_of[o.round_item_id] for o in opened}
    bids = [replace(b, item=bid_item[b.id]) for b in bids]
    demand = _demand(round_, product_bid)
    targets = _Targets(reassign_to or {}, bid_item, priced={b.id for b in bids})
    items: list[opt.Item] = []
    for ri in round_items:
        items.append(
            _item(
                ri,
                specs_by_item.get(ri.item_id, {}),
                ceilings.get(ri.pk, {}),
                demand,
                targets,
                coefficients,
            )
        )
        built.round_items[ri.item.code] = ri.pk
    problem = opt.Problem(
        rule_set=_opt_rule_set(rule_set),
        items=tuple(sorted(items, key=lambda i: i.id)),
        bids=tuple(sorted(bids, key=lambda b: b.id)),
        regions=tuple(sorted(demand.regions)),
        suppliers=tuple(
            sorted(
                {
                    supplier_key(m): opt.Supplier(supplier_key(m))
                    for m in built.bid_manufacturer.values()
                }.values(),
                key=lambda s: s.id,
            )
        ),
    )
    # The canonical bytes and their SHA-256 in one pass, as the optimiser's parser hashes.
    built.problem = with_input_hash(problem)
    return built


def _coefficients(rule_set: RuleSet) -> ComparablePriceCoefficients:
    return ComparablePriceCoefficients.from_parameters(
        rule_set.parameters.get("comparable_price") or {}
    )


def _round_items(round_: Round) -> list[RoundItem]:
    round_items = list(
        RoundItem.objects.filter(round=round_).select_related("item").order_by("item__code")
    )
    if not round_items:
        raise ValidationError(_("Round %(code)s has no items.") % {"code": round_.code})
    return round_items


def _ceilings(round_: Round) -> dict[int, dict[int, Decimal]]:
    """Round item id -> specification id -> maximum valid bid price."""
    ceilings: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for c in Ceiling.objects.filter(round_item__round=round_):
        ceilings[c.round_item_id][c.specification_id] = c.max_valid_bid_price
    return ceilings


def _specifications(round_: Round) -> dict[int, dict[int, Specification]]:
    """Procurement item id -> specification id -> specification, of the round's items."""
    specs_by_item: dict[int, dict[int, Specification]] = defaultdict(dict)
    for spec in Specification.objects.filter(item__round_items__round=round_).select_related(
        "item"
    ):
        specs_by_item[spec.item_id][spec.pk] = spec
    return specs_by_item


def _bids(
    opened: list[OpenedBid],
    built: BuiltProblem,
    *,
    excluded: set[int],
    region_preferences: Mapping[int, tuple[str, ...]],
    backup_preferences: Mapping[int, tuple[str, ...]],
    opening_prices: bool,
) -> tuple[list[opt.Bid], dict[tuple[int, int], str]]:
    """The priced opened bids as the optimiser's bids (item codes still to fill in), and
    (round item id, product id) -> bid key. Records on ``built`` each bid's manufacturer,
    unit price and the platform's reason code for an ineligible bid; a bid opened without
    a price goes to ``built.not_evaluated``. With ``opening_prices`` each bid carries the
    unit comparable price the opening computed and stored, so the ranking uses that figure
    rather than computing it again."""
    bids: list[opt.Bid] = []
    product_bid: dict[tuple[int, int], str] = {}
    for o in opened:
        built.bid_manufacturer[o.pk] = o.manufacturer_id
        if o.unit_price is None:
            built.not_evaluated.append(o)
            continue
        built.bid_unit_price[o.pk] = o.unit_price
        code = None
        if o.pk in excluded:
            code = "excluded_by_objection"
        elif o.validity == OpenedBid.Validity.TAMPERED:
            code = "failed_integrity_check"
        elif OpenedBid.Reason.INELIGIBLE_PRODUCT in (o.reasons or []):
            code = "product_not_eligible"
        elif _UNQUALIFIED & set(o.reasons or []):
            code = "bidder_not_qualified"
        if code is not None:
            built.ineligible[o.pk] = code
        if o.product_id is not None:
            product_bid[(o.round_item_id, o.product_id)] = bid_key(o.pk)
        bids.append(
            opt.Bid(
                id=bid_key(o.pk),
                supplier=supplier_key(o.manufacturer_id),
                item="",  # filled in by the caller, once item codes are known
                unit_price=o.unit_price,
                specification=o.specification.code,
                unit_comparable_price=o.unit_comparable_price if opening_prices else None,
                capacity=o.annual_capacity,
                eligible=code is None,
                ineligible_reason=INELIGIBLE_REASONS[code] if code is not None else "",
                region_preferences=tuple(region_preferences.get(o.pk, ())),
                backup_preferences=tuple(backup_preferences.get(o.pk, ())),
            )
        )
    return bids, product_bid


@dataclass
class _Demand:
    """A round's closed demand, summed per (item, province, hospital), and each
    hospital's brand volumes (consumables)."""

    # round item id -> province code -> hospital id -> quantity
    quantities: dict[int, dict[str, dict[int, int]]]
    # (round item id, hospital id) -> bid key -> quantity of the product that bid covers
    brands: dict[tuple[int, int], dict[str, int]]
    # (round item id, hospital id) -> product key -> quantity of a product nobody bid
    unbid: dict[tuple[int, int], dict[str, int]]
    # (round item id, hospital id) with a line without a product (drugs)
    without_product: set[tuple[int, int]]
    regions: set[str]


def _demand(round_: Round, product_bid: Mapping[tuple[int, int], str]) -> _Demand:
    """Demand: per (item, province, hospital), summed over specifications (drugs) or kept
    per product as brand volumes (consumables). A declared product that has no priced
    bid keeps its volume as a brand volume without a bid, which the optimiser moves like
    a losing product's (to the hospital's chosen winners or by the minimum-cost
    default), while the hospital's other products keep theirs. A hospital with a line
    without a product (drugs) gives no brand volumes: all of its volume is allocated."""
    demand = _Demand(
        quantities=defaultdict(lambda: defaultdict(lambda: defaultdict(int))),
        brands=defaultdict(lambda: defaultdict(int)),
        unbid=defaultdict(lambda: defaultdict(int)),
        without_product=set(),
        regions=set(round_.regions.values_list("code", flat=True)),
    )
    # A national round has ~10^6 lines from ~46,000 hospitals: each hospital's province
    # is read once (not joined onto every line), and the lines are read unordered (the
    # model's default order sorted them on disk: 4 s of 5.5). Nothing below depends on
    # the order lines come in: quantities are summed, hospitals and brands sorted later.
    round_declarations = DemandDeclaration.objects.filter(round_item__round=round_).order_by()
    region_of = dict(
        Organization.objects.filter(pk__in=round_declarations.values("hospital_id"))
        .order_by()
        .values_list("pk", "region__code")
    )
    declarations = round_declarations.values_list(
        "round_item_id", "hospital_id", "product_id", "quantity"
    ).iterator(chunk_size=20_000)
    quantities = demand.quantities
    for round_item_id, hospital_id, product_id, quantity in declarations:
        region = region_of[hospital_id]
        quantities[round_item_id][region][hospital_id] += quantity
        if product_id is None:
            demand.without_product.add((round_item_id, hospital_id))
            continue
        bid = product_bid.get((round_item_id, product_id))
        if bid is None:
            demand.unbid[(round_item_id, hospital_id)][product_key(product_id)] += quantity
        else:
            demand.brands[(round_item_id, hospital_id)][bid] += quantity
    demand.regions.update(region_of.values())
    return demand


@dataclass(frozen=True)
class _Targets:
    """The hospitals' chosen winners for their lost volume, kept to the priced bids of
    the item concerned."""

    reassign_to: Mapping[tuple[int, int], tuple[int, ...]]
    bid_item: Mapping[str, str]  # bid key -> item code
    priced: set[str]

    def of(self, round_item: RoundItem, hospital_id: int) -> tuple[str, ...]:
        if not self.reassign_to:  # no hospital chose (drug rounds, most consumables)
            return ()
        return tuple(
            bid_key(b)
            for b in self.reassign_to.get((round_item.pk, hospital_id), ())
            if self.bid_item.get(bid_key(b)) == round_item.item.code and bid_key(b) in self.priced
        )


def _brand_volumes(
    demand: _Demand, round_item_id: int, hospital_id: int
) -> tuple[opt.BrandVolume, ...]:
    if (round_item_id, hospital_id) in demand.without_product:
        return ()
    return tuple(
        sorted(
            [
                *(
                    opt.BrandVolume(bid, q)
                    for bid, q in demand.brands.get((round_item_id, hospital_id), {}).items()
                ),
                *(
                    opt.BrandVolume(None, q, product)
                    for product, q in demand.unbid.get((round_item_id, hospital_id), {}).items()
                ),
            ],
            key=opt.brand_volume_order,
        )
    )


def _region_demand(ri: RoundItem, demand: _Demand, targets: _Targets) -> list[opt.RegionDemand]:
    """The item's demand per province, each with its hospitals (sorted by id)."""
    out = []
    # Brand volumes and chosen winners are looked up only where a hospital of this item
    # has some (a drug round has none: ~10^6 plain lines, built without the lookups).
    plain = not targets.reassign_to and (
        not (demand.brands or demand.unbid)
        or not any(
            (ri.pk, h) in demand.brands or (ri.pk, h) in demand.unbid
            for h in _item_hospitals(demand, ri.pk)
        )
    )
    line = opt.hospital_line
    for region in sorted(demand.quantities.get(ri.pk, {})):
        lines = demand.quantities[ri.pk][region].items()
        if plain:
            hospitals = [line(hospital_key(hospital_id), q) for hospital_id, q in lines]
        else:
            hospitals = [
                opt.HospitalDemand(
                    hospital_key(hospital_id),
                    quantity,
                    _brand_volumes(demand, ri.pk, hospital_id),
                    targets.of(ri, hospital_id),
                )
                for hospital_id, quantity in lines
            ]
        hospitals.sort(key=_line_id)
        out.append(opt.RegionDemand(region, sum(h.quantity for h in hospitals), tuple(hospitals)))
    return out


def _line_id(hospital: opt.HospitalDemand) -> str:
    return hospital.id


def _item_hospitals(demand: _Demand, round_item_id: int) -> Iterator[int]:
    for hospitals in demand.quantities.get(round_item_id, {}).values():
        yield from hospitals


def _item(
    ri: RoundItem,
    specs: Mapping[int, Specification],
    item_ceilings: Mapping[int, Decimal],
    demand: _Demand,
    targets: _Targets,
    coefficients: ComparablePriceCoefficients,
) -> opt.Item:
    """One round item as the optimiser's item: its representative specification (the one
    marked so, or the only one), ceilings, specifications and demand."""
    representative = next((s for s in specs.values() if s.is_representative), None)
    if representative is None and len(specs) == 1:
        representative = next(iter(specs.values()))
    if representative is None:
        raise ValidationError(
            _("Item %(code)s has no representative specification.") % {"code": ri.item.code}
        )
    region_demand = _region_demand(ri, demand, targets)
    return opt.Item(
        id=ri.item.code,
        name=ri.item.name,
        max_valid_bid_price=_item_ceiling(ri, representative, item_ceilings, specs, coefficients),
        demand=tuple(region_demand),
        specifications=tuple(
            sorted(
                (_spec(s, item_ceilings.get(s.pk)) for s in specs.values()),
                key=lambda s: s.id,
            )
        ),
        representative_specification=representative.code,
        reference_price=ri.reference_price,
    )


# --- the winners' and the hospitals' choices, as the problem takes them --------------------


def selection_preferences(*, round_: Round) -> dict[str, dict[int, tuple[str, ...]]]:
    """Region and backup preferences (opened bid id -> province codes in order)."""
    selection = ProvinceSelection.objects.filter(round=round_).first()
    if selection is None:
        return {"region_preferences": {}, "backup_preferences": {}}
    primary: dict[int, list[str]] = {}
    backup: dict[int, list[str]] = {}
    for c in (
        ProvinceChoice.objects.filter(selection=selection, region__isnull=False)
        .select_related("region")
        .order_by("opened_bid_id", "kind", "pick")
    ):
        target = primary if c.kind == ProvinceChoice.Kind.PRIMARY else backup
        if c.region is not None:
            target.setdefault(c.opened_bid_id, []).append(c.region.code)
    return {
        "region_preferences": {k: tuple(v) for k, v in primary.items()},
        "backup_preferences": {k: tuple(v) for k, v in backup.items()},
    }


def lost_volume_preferences(*, round_: Round) -> dict[tuple[int, int], tuple[int, ...]]:
    """(round item id, hospital id) -> chosen opened-bid ids in preference order."""
    out: dict[tuple[int, int], list[int]] = defaultdict(list)
    for round_item_id, hospital_id, opened_bid_id in (
        LostVolumeChoice.objects.filter(round_item__round=round_)
        .order_by("round_item_id", "hospital_id", "rank")
        .values_list("round_item_id", "hospital_id", "opened_bid_id")
    ):
        out[(round_item_id, hospital_id)].append(opened_bid_id)
    return {k: tuple(v) for k, v in out.items()}


# --- reasons ------------------------------------------------------------------------------


def bid_reason_parts(built: BuiltProblem, outcome: opt.BidOutcome) -> list[dict[str, Any]]:
    """The outcome's reason parts as stored on ``BidResult.reason_parts``.

    The optimiser says "not eligible: <the text it was given>"; for an ineligibility the
    platform decided, the part becomes the platform's own code, so it can be translated.
    """
    code = built.ineligible.get(key_id(outcome.bid))
    return [
        {"code": code, "params": {}}
        if code is not None and part.code == "not_eligible_detail"
        else part.to_dict()
        for part in outcome.reason_parts
    ]


def not_evaluated_reason(opened: OpenedBid) -> tuple[str, list[dict[str, Any]]]:
    """(English reason, reason parts) of an opened bid without a price."""
    reasons = [str(r) for r in (opened.reasons or [])]
    english = "not evaluated: " + (", ".join(reasons) or opened.validity)
    parts = [{"code": NOT_EVALUATED, "params": {"reasons": reasons, "validity": opened.validity}}]
    return english, parts

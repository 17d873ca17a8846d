"""A contract line at the specifications bought (规格): which, how many, at what price.

The evaluation awards an item in smallest units at the winner's price on the item's
representative specification (the unit comparable price, 差比价). A hospital buys
specifications: what it declared, per specification, for the item. So each contract line
is split by the hospital's declared mix:

* **Quantity**: the line's agreed volume (smallest units) shared out in proportion to the
  hospital's declared quantities per specification, by largest remainder (whole units, the
  shares add up to the agreed volume exactly). A hospital that declared no specification
  of the item buys the specification the winner bid.
* **Price**: the specification the winner bid at its bid price, as sealed; any other
  specification at the price the round's comparable-price coefficients derive from the
  bid (``catalog.comparable_price.unit_comparable_price``: rounded once, half up, to
  0.0001 yuan, the precision the rule set's ceilings use). When the award price is not the
  bid's own comparable price (a price the rules set), every specification is derived from
  the award price on the representative specification instead.
* **Amount**: quantity x price, rounded half up to the fen once per specification
  (``common.money.round_fen``); the line's amount, and the contract's total, are the sums.

Pure: Decimal arithmetic on plain values; no models are imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from catalog.comparable_price import (
    ComparablePriceCoefficients,
    Specification,
    unit_comparable_price,
)
from common.money import round_fen


@dataclass(frozen=True)
class SpecShare:
    specification_id: int
    is_bid: bool
    quantity: int
    unit_price: Decimal
    amount: Decimal


def split_quantity(total: int, weights: Mapping[int, int]) -> dict[int, int]:
    """``total`` shared out over ``weights`` (id -> declared quantity) in proportion, in
    whole units, by largest remainder (ties to the lower id); the shares add to ``total``."""
    positive = {k: w for k, w in weights.items() if w > 0}
    weight = sum(positive.values())
    if not positive or weight == 0:
        raise ValueError("no positive weight to share out over")
    shares = {k: total * w // weight for k, w in positive.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(positive, key=lambda k: (-(total * positive[k] % weight), k))
    for k in by_remainder[:left]:
        shares[k] += 1
    return shares


def specification_price(
    *,
    specification_id: int,
    bid_specification_id: int,
    bid_price: Decimal,
    specs: Mapping[int, Specification],
    coefficients: ComparablePriceCoefficients,
) -> Decimal:
    """The price per smallest unit of ``specification_id`` implied by the bid: the bid
    price itself on the bid's specification, else derived by the coefficients."""
    if specification_id == bid_specification_id:
        return bid_price
    return unit_comparable_price(
        bid_price, specs[bid_specification_id], specs[specification_id], coefficients
    )


def line_shares(
    *,
    quantity: int,
    declared: Mapping[int, int],
    bid_specification_id: int,
    bid_price: Decimal,
    bid_comparable_price: Decimal | None,
    award_price: Decimal,
    representative_id: int,
    specs: Mapping[int, Specification],
    coefficients: ComparablePriceCoefficients,
) -> list[SpecShare]:
    """The line of ``quantity`` smallest units split by specification (see the module).

    ``declared``: the hospital's declared quantities of the item per specification id;
    ``specs``: every specification of the item, by id, in the comparable-price terms.
    """
    mix = {s: q for s, q in declared.items() if s in specs and q > 0}
    if quantity == 0 or not mix:
        mix = {bid_specification_id: 1}
    if bid_comparable_price is None or award_price == bid_comparable_price:
        base_spec, base_price = bid_specification_id, bid_price
    else:
        base_spec, base_price = representative_id, award_price
    shares = split_quantity(quantity, mix) if quantity else {bid_specification_id: 0}
    out = []
    for spec_id in sorted(shares, key=lambda s: (s != bid_specification_id, s)):
        price = specification_price(
            specification_id=spec_id,
            bid_specification_id=base_spec,
            bid_price=base_price,
            specs=specs,
            coefficients=coefficients,
        )
        out.append(
            SpecShare(
                specification_id=spec_id,
                is_bid=spec_id == bid_specification_id,
                quantity=shares[spec_id],
                unit_price=price,
                amount=round_fen(Decimal(shares[spec_id]) * price),
            )
        )
    return out

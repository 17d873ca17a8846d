"""Unit comparable price (差比价): the price of one specification expressed on another.

National rounds rank bids of different specifications of one procurement item on a
common footing: every bid is converted to the price it implies for the item's
representative specification, using price-difference ratios published in the rule
documents. The coefficients are data (``ComparablePriceCoefficients``), read from the
round's rule set; the defaults are the figures verified on published ceiling pairs:

* strength: x1.7 per doubling (all 13 multi-strength ceiling pairs of batch 4);
* fill volume: x1.9 per doubling, used only when strength does not apply;
* pack count: x1.95 per doubling for oral solids, x2.0 otherwise;
* dosage forms: a ratio per form, relative to each other.

A ratio that is not a power of two uses the same rule continuously:
``coefficient ** log2(ratio)`` (duloxetine 20 mg -> 60 mg is 1.7 ** log2(3)).

Pure Python and Decimal; imports nothing from Django.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from types import MappingProxyType

_PRECISION = 34
_PRICE_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class ComparablePriceCoefficients:
    """Price-difference ratios per doubling, as a rule set's parameters give them."""

    strength: Decimal = Decimal("1.7")
    fill_volume: Decimal = Decimal("1.9")
    pack_count_oral_solid: Decimal = Decimal("1.95")
    pack_count_other: Decimal = Decimal("2.0")
    dosage_form_ratios: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, object]) -> ComparablePriceCoefficients:
        """Build from a rule set's ``comparable_price`` dict (values as decimal strings)."""
        forms = parameters.get("dosage_form_ratios") or {}
        if not isinstance(forms, Mapping):
            raise ValueError("dosage_form_ratios must be an object")
        default = cls()
        return cls(
            strength=Decimal(str(parameters.get("strength", default.strength))),
            fill_volume=Decimal(str(parameters.get("fill_volume", default.fill_volume))),
            pack_count_oral_solid=Decimal(
                str(parameters.get("pack_count_oral_solid", default.pack_count_oral_solid))
            ),
            pack_count_other=Decimal(
                str(parameters.get("pack_count_other", default.pack_count_other))
            ),
            dosage_form_ratios=MappingProxyType(
                {str(k): Decimal(str(v)) for k, v in sorted(forms.items())}
            ),
        )


@dataclass(frozen=True)
class Specification:
    """What the comparable-price rule needs to know about one specification.

    ``strength`` and ``fill_volume`` are in the item's common units (mg, ml);
    ``pack_count`` is the number of smallest units per pack.
    """

    strength: Decimal | None = None
    fill_volume: Decimal | None = None
    pack_count: int = 1
    dosage_form: str | None = None
    oral_solid: bool = True


def _per_doubling(coefficient: Decimal, ratio: Decimal) -> Decimal:
    """``coefficient ** log2(ratio)``, exact when ratio is a power of two."""
    if ratio <= 0:
        raise ValueError(f"ratio must be positive, got {ratio}")
    if ratio == 1:
        return Decimal(1)
    # Exact integer powers for 2, 4, 1/2, ... keep the published pairs exact.
    exponent = 0
    probe = ratio
    while probe > 1 and probe % 2 == 0:
        probe /= 2
        exponent += 1
    if probe == 1:
        return coefficient**exponent
    probe = ratio
    exponent = 0
    while probe < 1:
        probe *= 2
        exponent -= 1
    if probe == 1:
        return coefficient**exponent
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return coefficient ** (ratio.ln() / Decimal(2).ln())


def comparable_factor(
    specification: Specification,
    representative: Specification,
    coefficients: ComparablePriceCoefficients,
) -> Decimal:
    """The factor that turns a pack price of ``specification`` into one of ``representative``."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        factor = Decimal(1)
        if specification.strength is not None and representative.strength is not None:
            factor *= _per_doubling(
                coefficients.strength, representative.strength / specification.strength
            )
        elif specification.fill_volume is not None and representative.fill_volume is not None:
            factor *= _per_doubling(
                coefficients.fill_volume, representative.fill_volume / specification.fill_volume
            )
        if specification.pack_count != representative.pack_count:
            pack_coefficient = (
                coefficients.pack_count_oral_solid
                if representative.oral_solid
                else coefficients.pack_count_other
            )
            factor *= _per_doubling(
                pack_coefficient,
                Decimal(representative.pack_count) / Decimal(specification.pack_count),
            )
        if (
            specification.dosage_form is not None
            and representative.dosage_form is not None
            and specification.dosage_form != representative.dosage_form
        ):
            ratios = coefficients.dosage_form_ratios
            for form in (specification.dosage_form, representative.dosage_form):
                if form not in ratios:
                    raise ValueError(f"no dosage-form ratio for {form!r}")
            factor *= ratios[representative.dosage_form] / ratios[specification.dosage_form]
        return +factor


def unit_comparable_price(
    unit_price: Decimal,
    specification: Specification,
    representative: Specification,
    coefficients: ComparablePriceCoefficients,
) -> Decimal:
    """Price per smallest unit of ``representative`` implied by ``unit_price`` of ``specification``.

    Rounded half-up to 0.0001 yuan, the precision published ceilings use.
    """
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        pack_price = unit_price * specification.pack_count
        representative_pack_price = pack_price * comparable_factor(
            specification, representative, coefficients
        )
        per_unit = representative_pack_price / representative.pack_count
    return per_unit.quantize(_PRICE_QUANTUM, rounding="ROUND_HALF_UP")


def representative_ceiling(
    *,
    own: Decimal | None,
    others: Iterable[tuple[Specification, Decimal]],
    representative: Specification,
    coefficients: ComparablePriceCoefficients,
) -> Decimal | None:
    """An item's maximum valid bid price per unit of its representative specification.

    The representative specification's ``own`` ceiling when it has one; otherwise the
    highest of the ``others`` (each specification with its ceiling) converted to the
    representative by the unit comparable price. None when no specification has one.
    This is the one place the item ceiling is computed: the evaluation enforces it and
    every report prints it (the value is stored with the run's item award).
    """
    if own is not None:
        return own
    converted = [
        unit_comparable_price(price, specification, representative, coefficients)
        for specification, price in others
    ]
    return max(converted) if converted else None

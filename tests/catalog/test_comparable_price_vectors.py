"""Unit comparable price: combined adjustments, computed by hand (DESIGN.md §2.1, rule 2).

The coefficients are the published ones (DESIGN.md §2.1 rule 2: x1.7 per doubling of
strength, x1.9 per doubling of fill volume when strength does not apply, per doubling of
pack count x1.95 for oral solids and x2.0 otherwise), typed in here rather than read from
the code, and a rule set's own figures where a test says so. Every expected price is
worked out in a comment; prices are per smallest unit, rounded half up to 0.0001 yuan.
"""

from decimal import Decimal, localcontext

import pytest

from catalog.comparable_price import (
    ComparablePriceCoefficients,
    Specification,
    comparable_factor,
    unit_comparable_price,
)

PUBLISHED = ComparablePriceCoefficients(
    strength=Decimal("1.7"),
    fill_volume=Decimal("1.9"),
    pack_count_oral_solid=Decimal("1.95"),
    pack_count_other=Decimal("2.0"),
)
# A capsule is priced at 1.25 tablets (a rule set's figure for this test; DESIGN.md §2.1
# rule 2 says only that dosage forms have a ratio relative to each other).
FORMS = ComparablePriceCoefficients.from_parameters(
    {"dosage_form_ratios": {"tablet": "1", "capsule": "1.25"}}
)


def test_defaults_are_the_published_coefficients() -> None:
    """DESIGN.md §2.1 rule 2 (batch 4 ceiling pairs; coefficients seen in practice)."""
    assert ComparablePriceCoefficients() == PUBLISHED
    assert ComparablePriceCoefficients.from_parameters({}) == PUBLISHED


def test_strength_pack_count_and_dosage_form_together() -> None:
    """10 mg capsules in 14s, on the representative 20 mg tablets in 28s (oral solid)."""
    capsules = Specification(strength=Decimal(10), pack_count=14, dosage_form="capsule")
    tablets = Specification(strength=Decimal(20), pack_count=28, dosage_form="tablet")
    # strength 10 -> 20 mg: one doubling, x1.7; pack 14 -> 28: one doubling of an oral
    # solid, x1.95; capsule -> tablet: 1 / 1.25 = x0.8.  1.7 x 1.95 x 0.8 = 2.652
    assert comparable_factor(capsules, tablets, FORMS) == Decimal("2.652")
    # 0.5000 a capsule: pack of 14 = 7.0000; x2.652 = 18.5640 for a pack of 28 tablets;
    # / 28 = 0.6630 a tablet
    assert unit_comparable_price(Decimal("0.5000"), capsules, tablets, FORMS) == Decimal("0.6630")
    # The way back: 1 / 2.652 per pack; 0.6630 x 28 / 2.652 / 14 = 0.5000
    assert unit_comparable_price(Decimal("0.6630"), tablets, capsules, FORMS) == Decimal("0.5000")


def test_fill_volume_and_pack_count_of_an_injection_together() -> None:
    """5 ml vials singly, on the representative 10 ml vials in 2s (not an oral solid)."""
    five = Specification(fill_volume=Decimal(5), pack_count=1, oral_solid=False)
    ten_twos = Specification(fill_volume=Decimal(10), pack_count=2, oral_solid=False)
    # fill volume 5 -> 10 ml: x1.9; pack 1 -> 2 (not oral solid): x2.0.  1.9 x 2.0 = 3.8
    assert comparable_factor(five, ten_twos, PUBLISHED) == Decimal("3.8")
    # 3.0000 a vial: x3.8 = 11.4000 a pack of two 10 ml vials; / 2 = 5.7000 a vial
    assert unit_comparable_price(Decimal("3.0000"), five, ten_twos, PUBLISHED) == Decimal("5.7000")


def test_the_representatives_form_decides_the_pack_coefficient() -> None:
    """Pack count: 1.95 when the representative is an oral solid, 2.0 when it is not."""
    other = Specification(pack_count=10, oral_solid=False)
    oral = Specification(pack_count=20, oral_solid=True)
    assert comparable_factor(other, oral, PUBLISHED) == Decimal("1.95")
    assert comparable_factor(oral, Specification(pack_count=40, oral_solid=False), PUBLISHED) == (
        Decimal("2.0")
    )


def test_a_dosage_form_ratio_other_than_one_on_either_side() -> None:
    """The factor is representative's ratio / bid's ratio, never the inverse."""
    capsule = Specification(dosage_form="capsule")
    tablet = Specification(dosage_form="tablet")
    assert comparable_factor(capsule, tablet, FORMS) == Decimal("0.8")  # 1 / 1.25
    assert comparable_factor(tablet, capsule, FORMS) == Decimal("1.25")  # 1.25 / 1
    both = ComparablePriceCoefficients.from_parameters(
        {"dosage_form_ratios": {"capsule": "1.2", "dispersible": "1.5"}}
    )
    dispersible = Specification(dosage_form="dispersible")
    assert comparable_factor(capsule, dispersible, both) == Decimal("1.25")  # 1.5 / 1.2
    # 2.0000 a capsule -> 2.0000 x 1.25 = 2.5000 a dispersible tablet
    assert unit_comparable_price(Decimal("2.0000"), capsule, dispersible, both) == Decimal("2.5000")


def test_a_dosage_form_given_on_one_side_only_is_not_adjusted() -> None:
    """No ratio is looked up unless both specifications name a form, and different ones."""
    named = Specification(strength=Decimal(10), dosage_form="tablet")
    unnamed = Specification(strength=Decimal(10))
    assert comparable_factor(named, unnamed, PUBLISHED) == Decimal(1)
    assert comparable_factor(unnamed, named, PUBLISHED) == Decimal(1)
    # The same form on both sides needs no ratio either.
    assert comparable_factor(named, named, PUBLISHED) == Decimal(1)


def test_strength_or_fill_volume_on_one_side_only_is_not_adjusted() -> None:
    """Strength applies when both sides have one; otherwise fill volume, when both have one."""
    strong = Specification(strength=Decimal(10), fill_volume=Decimal(5), oral_solid=False)
    volume_only = Specification(fill_volume=Decimal(10), oral_solid=False)
    # strength only on the bid's side: fill volume 5 -> 10 decides, x1.9
    assert comparable_factor(strong, volume_only, PUBLISHED) == Decimal("1.9")
    # and back, 10 -> 5 ml: 1 / 1.9 to 34 significant digits
    assert comparable_factor(volume_only, strong, PUBLISHED) == Decimal(
        "0.5263157894736842105263157894736842"
    )
    # neither strength nor fill volume on both sides: no adjustment
    assert comparable_factor(Specification(fill_volume=Decimal(5)), Specification(), PUBLISHED) == (
        Decimal(1)
    )
    assert comparable_factor(Specification(), Specification(fill_volume=Decimal(5)), PUBLISHED) == (
        Decimal(1)
    )


def test_from_parameters_keeps_every_coefficient_of_the_rule_set() -> None:
    """A rule set's own coefficients, none of them the default."""
    coefficients = ComparablePriceCoefficients.from_parameters(
        {
            "strength": "1.6",
            "fill_volume": "1.8",
            "pack_count_oral_solid": "1.9",
            "pack_count_other": "1.85",
            "dosage_form_ratios": {"tablet": 1, "capsule": "1.1"},
        }
    )
    assert coefficients == ComparablePriceCoefficients(
        strength=Decimal("1.6"),
        fill_volume=Decimal("1.8"),
        pack_count_oral_solid=Decimal("1.9"),
        pack_count_other=Decimal("1.85"),
        dosage_form_ratios={"capsule": Decimal("1.1"), "tablet": Decimal("1")},
    )
    # and they are the ones applied: 5 -> 10 ml x1.8; 1 -> 2 vials x1.85:
    # 3 x 1.8 x 1.85 / 2 = 4.9950
    five = Specification(fill_volume=Decimal(5), oral_solid=False)
    ten_twos = Specification(fill_volume=Decimal(10), pack_count=2, oral_solid=False)
    assert unit_comparable_price(Decimal(3), five, ten_twos, coefficients) == Decimal("4.9950")
    # 10 mg -> 20 mg x1.6: 1.0000 x 1.6 = 1.6000
    ten_mg = Specification(strength=Decimal(10))
    twenty_mg = Specification(strength=Decimal(20))
    assert unit_comparable_price(Decimal(1), ten_mg, twenty_mg, coefficients) == Decimal("1.6000")
    # capsule -> tablet 1 / 1.1 (to 34 digits), 1.1000 a capsule is 1.0000 a tablet
    capsule = Specification(dosage_form="capsule")
    tablet = Specification(dosage_form="tablet")
    assert unit_comparable_price(Decimal("1.1"), capsule, tablet, coefficients) == Decimal("1.0000")
    # oral solid, 10 -> 20 tablets x1.9: 1.0000 x 10 x 1.9 / 20 = 0.9500
    tens = Specification(pack_count=10)
    twenties = Specification(pack_count=20)
    assert unit_comparable_price(Decimal(1), tens, twenties, coefficients) == Decimal("0.9500")


def test_from_parameters_rejects_dosage_form_ratios_that_are_not_an_object() -> None:
    with pytest.raises(ValueError, match=r"^dosage_form_ratios must be an object$"):
        ComparablePriceCoefficients.from_parameters({"dosage_form_ratios": ["tablet", "1"]})


def test_half_up_rounding_at_exactly_half_a_price_quantum() -> None:
    """Rounded half up to 0.0001 yuan (the precision of published ceilings)."""
    one = Specification(strength=Decimal(1))
    two = Specification(strength=Decimal(2))
    # 0.0125 x 1.7 = 0.02125: exactly half way; half up gives 0.0213 (half even 0.0212)
    assert unit_comparable_price(Decimal("0.0125"), one, two, PUBLISHED) == Decimal("0.0213")
    # 0.0175 x 1.7 = 0.02975 -> 0.0298 (half even would give the same: 8 is even)
    assert unit_comparable_price(Decimal("0.0175"), one, two, PUBLISHED) == Decimal("0.0298")
    # just under half: 0.0124 x 1.7 = 0.02108 -> 0.0211
    assert unit_comparable_price(Decimal("0.0124"), one, two, PUBLISHED) == Decimal("0.0211")


def test_whole_doublings_are_exact_powers_of_the_coefficient() -> None:
    """16x is four doublings: 1.7 ** 4 = 8.3521 exactly, not exp(4 ln 1.7) at 34 digits."""
    five = Specification(strength=Decimal(5))
    eighty = Specification(strength=Decimal(80))
    assert comparable_factor(five, eighty, PUBLISHED) == Decimal("8.3521")
    with localcontext() as ctx:
        ctx.prec = 34
        assert comparable_factor(eighty, five, PUBLISHED) == Decimal(1) / Decimal("8.3521")
        # a sixteenth of the pack, not an oral solid: 2.0 ** -4 = 0.0625 exactly (the
        # continuous formula gives 0.06250000000000000000000000000000004)
        sixteen = Specification(pack_count=16, oral_solid=False)
        single = Specification(pack_count=1, oral_solid=False)
        assert comparable_factor(sixteen, single, PUBLISHED) == Decimal("0.0625")
        # a 64th of the strength: 1.7 ** -6 to 34 digits (continuous: ...9071, not ...9068)
        sixty_four = Specification(strength=Decimal(64))
        assert comparable_factor(sixty_four, Specification(strength=Decimal(1)), PUBLISHED) == (
            Decimal(1) / Decimal("1.7") ** 6
        )
    # 0.5000 x 8.3521 = 4.17605, exactly half way: 4.1761. A factor a hair under 8.3521
    # (the continuous formula gives 8.352099...996) would round it down to 4.1760.
    assert unit_comparable_price(Decimal("0.5000"), five, eighty, PUBLISHED) == Decimal("4.1761")
    # 6x is not a power of two: 1.7 ** log2(6) = 1.7 x 1.7 ** log2(3), continuous
    six = comparable_factor(five, Specification(strength=Decimal(30)), PUBLISHED)
    assert six.quantize(Decimal("0.000001")) == Decimal("3.941866")


def test_a_ratio_that_is_not_positive_is_an_error() -> None:
    """A representative strength of 0 would make the ratio 0 (and the halving loop endless)."""
    with pytest.raises(ValueError, match=r"^ratio must be positive, got 0$"):
        comparable_factor(
            Specification(strength=Decimal(10)), Specification(strength=Decimal(0)), PUBLISHED
        )
    with pytest.raises(ValueError, match=r"^ratio must be positive, got -2$"):
        comparable_factor(
            Specification(strength=Decimal(5)), Specification(strength=Decimal(-10)), PUBLISHED
        )

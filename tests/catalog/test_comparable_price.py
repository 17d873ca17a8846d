from decimal import Decimal

import pytest

from catalog.comparable_price import (
    ComparablePriceCoefficients,
    Specification,
    comparable_factor,
    unit_comparable_price,
)

DEFAULT = ComparablePriceCoefficients()


def within_a_tenth_of_a_percent(value: Decimal, published: str) -> bool:
    return abs(value - Decimal(published)) / Decimal(published) <= Decimal("0.001")


def test_ambroxol_injection_doubling_strength_and_volume_reproduces_published_ceiling() -> None:
    two_ml = Specification(strength=Decimal(15), fill_volume=Decimal(2), oral_solid=False)
    four_ml = Specification(strength=Decimal(30), fill_volume=Decimal(4), oral_solid=False)
    assert unit_comparable_price(Decimal("3.44"), two_ml, four_ml, DEFAULT) == Decimal("5.8480")


def test_duloxetine_tripled_strength_uses_the_continuous_rule() -> None:
    price = unit_comparable_price(
        Decimal("3.948"),
        Specification(strength=Decimal(20)),
        Specification(strength=Decimal(60)),
        DEFAULT,
    )
    assert price == Decimal("9.1544")


def test_voriconazole_fourfold_strength_is_within_a_tenth_of_a_percent_of_published() -> None:
    price = unit_comparable_price(
        Decimal("109.24"),
        Specification(strength=Decimal(50)),
        Specification(strength=Decimal(200)),
        DEFAULT,
    )
    assert price == Decimal("315.7036")
    assert within_a_tenth_of_a_percent(price, "315.69")


def test_halving_strength_divides_by_the_coefficient() -> None:
    factor = comparable_factor(
        Specification(strength=Decimal(20)), Specification(strength=Decimal(10)), DEFAULT
    )
    assert factor.quantize(Decimal("0.000001")) == Decimal("0.588235")


def test_fill_volume_applies_only_when_strength_does_not() -> None:
    five_ml = Specification(fill_volume=Decimal(5), oral_solid=False)
    ten_ml = Specification(fill_volume=Decimal(10), oral_solid=False)
    assert comparable_factor(five_ml, ten_ml, DEFAULT) == Decimal("1.9")


def test_pack_count_doubling_is_1_95_for_oral_solids_and_2_otherwise() -> None:
    pack14 = Specification(strength=Decimal(10), pack_count=14)
    pack28 = Specification(strength=Decimal(10), pack_count=28)
    assert comparable_factor(pack14, pack28, DEFAULT) == Decimal("1.95")
    vials1 = Specification(strength=Decimal(10), pack_count=1, oral_solid=False)
    vials2 = Specification(strength=Decimal(10), pack_count=2, oral_solid=False)
    assert comparable_factor(vials1, vials2, DEFAULT) == Decimal("2.0")
    # Per smallest unit: 14 tablets at 1.00 -> a pack of 28 costs 27.30, 0.9750 per tablet.
    assert unit_comparable_price(Decimal("1.00"), pack14, pack28, DEFAULT) == Decimal("0.9750")


def test_dosage_form_ratio_comes_from_the_coefficients() -> None:
    coefficients = ComparablePriceCoefficients.from_parameters(
        {"dosage_form_ratios": {"tablet": "1", "capsule": "1.1"}}
    )
    tablet = Specification(strength=Decimal(10), dosage_form="tablet")
    capsule = Specification(strength=Decimal(10), dosage_form="capsule")
    assert comparable_factor(tablet, capsule, coefficients) == Decimal("1.1")


def test_unknown_dosage_form_is_an_error() -> None:
    with pytest.raises(ValueError, match="no dosage-form ratio for 'tablet'"):
        comparable_factor(
            Specification(dosage_form="tablet"), Specification(dosage_form="capsule"), DEFAULT
        )


def test_coefficients_are_data_read_from_parameters() -> None:
    coefficients = ComparablePriceCoefficients.from_parameters({"strength": "1.5"})
    assert coefficients.strength == Decimal("1.5")
    price = unit_comparable_price(
        Decimal("2"),
        Specification(strength=Decimal(5)),
        Specification(strength=Decimal(10)),
        coefficients,
    )
    assert price == Decimal("3.0000")

"""The item ceiling per unit of the representative specification: one computation."""

from decimal import Decimal

from catalog.comparable_price import (
    ComparablePriceCoefficients,
    Specification,
    representative_ceiling,
)

D = Decimal
BATCH_4 = ComparablePriceCoefficients()  # 1.7 per doubling of strength
MG10 = Specification(strength=D(10), pack_count=7, oral_solid=True)
MG20 = Specification(strength=D(20), pack_count=7, oral_solid=True)
MG40 = Specification(strength=D(40), pack_count=7, oral_solid=True)


def test_the_representatives_own_ceiling_wins_over_any_converted_one() -> None:
    assert representative_ceiling(
        own=D("2.1200"),
        others=[(MG40, D("9.0000")), (MG20, D("2.1200"))],
        representative=MG20,
        coefficients=BATCH_4,
    ) == D("2.1200")


def test_without_its_own_the_highest_converted_ceiling_is_taken() -> None:
    # 40 mg: 3.4000 / 1.7 = 2.0000; 10 mg: 1.1000 x 1.7 = 1.8700 -> the highest, 2.0000.
    assert representative_ceiling(
        own=None,
        others=[(MG40, D("3.4000")), (MG10, D("1.1000"))],
        representative=MG20,
        coefficients=BATCH_4,
    ) == D("2.0000")
    # 10 mg: 1.3000 x 1.7 = 2.2100 now beats 40 mg's 2.0000.
    assert representative_ceiling(
        own=None,
        others=[(MG40, D("3.4000")), (MG10, D("1.3000"))],
        representative=MG20,
        coefficients=BATCH_4,
    ) == D("2.2100")


def test_no_ceiling_at_all_is_none() -> None:
    assert (
        representative_ceiling(own=None, others=[], representative=MG20, coefficients=BATCH_4)
        is None
    )

"""Demo rule sets and two demo rounds in draft (idempotent).

The timetable is set relative to the first time the demo is loaded (two weeks of demand,
then at least the rule set's 20 days of bidding); the office moves the rounds through
their states from the round page. Ceilings are the published figures
(DESIGN.md and issue 3): ambroxol 2ml:15mg 3.44 / 4ml:30mg 5.848, duloxetine 20mg 3.948 /
60mg 9.1544, voriconazole 50mg 109.24 / 200mg 315.69, the stent ceiling 2,850 yuan.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TextIO

from django.utils import timezone

from accounts.demo import organization_for
from accounts.models import Region
from catalog.models import ProcurementItem
from procurement.models import Round, RuleSet
from procurement.services import round_create, round_item_set_prices, rule_set_load_presets

D = Decimal
DEMO_REGIONS = ["11", "31", "37", "42", "44", "51"]

# item code -> (reference price of the representative spec, {spec code: ceiling})
DRUG_PRICES = {
    "D-ATV-OS": (D("7.2700"), {"10MG": D("1.2471"), "20MG": D("2.1200"), "40MG": D("3.6040")}),
    "D-CLO-OS": (D("15.4700"), {"75MG": D("3.1800")}),
    "D-AMB-INJ": (D("12.5000"), {"2ML15MG": D("3.4400"), "4ML30MG": D("5.8480")}),
    "D-DLX-OS": (D("8.0000"), {"20MG": D("3.9480"), "60MG": D("9.1544")}),
    "D-VRC-INJ": (D("198.0000"), {"50MG": D("109.2400"), "200MG": D("315.6900")}),
    "D-AML-OS": (D("4.6000"), {"5MG": D("0.6500")}),
}
CONSUMABLE_PRICES = {
    "C-STENT": (D("13000.0000"), {"UNIT": D("2850.0000")}),
    "C-HIP-CC": (D("35000.0000"), {"UNIT": D("7164.0000")}),
    "C-IOL-MH": (D("3500.0000"), {"UNIT": D("1800.0000")}),
}


def _create_round(
    *,
    code: str,
    name: str,
    name_en: str,
    kind: str,
    rule_set: RuleSet,
    prices: dict[str, tuple[Decimal, dict[str, Decimal]]],
    contract_starts_on: datetime.date | None = None,
) -> Round:
    """A demo round created now (on the demo clock, ``accounts.demo.demo_clock``, for the
    rounds walked through as if months ago): demand opens at once."""
    now = timezone.now().replace(second=0, microsecond=0)
    office = organization_for("office")
    items = list(ProcurementItem.objects.filter(code__in=prices).order_by("code"))
    round_ = round_create(
        office=office,
        code=code,
        name=name,
        name_en=name_en,
        kind=kind,
        rule_set=rule_set,
        regions=Region.objects.filter(code__in=DEMO_REGIONS),
        demand_opens_at=now,
        demand_closes_at=now + datetime.timedelta(days=14),
        # Bidding opens when demand closes; the rule set keeps at least 20 days from then
        # (the publication of the procurement document) to the bid deadline.
        bid_deadline=now + datetime.timedelta(days=35),
        opening_at=now + datetime.timedelta(days=35, hours=1),
        objection_ends_at=now + datetime.timedelta(days=42),
        contract_starts_on=contract_starts_on or (now + datetime.timedelta(days=60)).date(),
        items=items,
    )
    for round_item in round_.items.select_related("item"):
        reference, ceilings = prices[round_item.item.code]
        specs = {s.code: s for s in round_item.item.specifications.all()}
        round_item_set_prices(
            round_item=round_item,
            ceilings={specs[c]: price for c, price in ceilings.items()},
            reference_price=reference,
        )
    return round_


def load(*, stdout: TextIO) -> None:
    rule_set_load_presets()
    if not Round.objects.filter(code="DEMO-2026-D1").exists():
        _create_round(
            code="DEMO-2026-D1",
            name="2026年演示药品集中带量采购",
            name_en="2026 demo drug volume-based procurement",
            kind=Round.Kind.DRUGS,
            rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
            prices=DRUG_PRICES,
        )
    if not Round.objects.filter(code="DEMO-2026-C1").exists():
        _create_round(
            code="DEMO-2026-C1",
            name="2026年演示医用耗材集中带量采购",
            name_en="2026 demo medical consumables volume-based procurement",
            kind=Round.Kind.CONSUMABLES,
            rule_set=RuleSet.objects.get(name="consumables-joints", version=1),
            prices=CONSUMABLE_PRICES,
        )
    stdout.write(
        f"procurement: {RuleSet.objects.count()} rule sets, {Round.objects.count()} rounds\n"
    )

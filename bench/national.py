"""Seeded generator of national-scale optimiser problems (same seed, same problem).

* ``drug_round``: a national drug batch: 60 items, 3 to 39 bids per item, 31 provinces,
  46,000 reporting hospitals, each declaring about a third of the items (~920,000
  demand lines), under the batch-4 national rule.
* ``award_scenario``: an optimised-award scenario: 50 items x 20 bidders x 31 provinces
  x 3,000 hospitals, single source per province, every supplier's capacity shared
  across items, at least 2 winners per item, per-(bid, province) delivery costs.

Problems are built as the optimiser's dataclasses directly (what the Django evaluation
service does), with hospitals already grouped by province as the format requires.
"""

from __future__ import annotations

import random
from decimal import Decimal

from procurement.optimiser.model import (
    Bid,
    HospitalDemand,
    Item,
    Problem,
    RegionCost,
    RegionDemand,
    RuleSet,
    Supplier,
)
from procurement.optimiser.presets import PRESETS

PROVINCES = tuple(f"P{k:02d}" for k in range(1, 32))
_PRICE = Decimal("0.0001")


def _price(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(str(round(rng.uniform(low, high), 4))).quantize(_PRICE)


def _hospitals(rng: random.Random, count: int) -> dict[str, list[str]]:
    """Hospitals spread over the provinces with uneven weights (populous provinces)."""
    weights = [rng.uniform(0.3, 3.0) for _ in PROVINCES]
    by_province: dict[str, list[str]] = {p: [] for p in PROVINCES}
    for h in range(count):
        province = rng.choices(PROVINCES, weights)[0]
        by_province[province].append(f"H{h:05d}")
    return by_province


def _demand(
    rng: random.Random, by_province: dict[str, list[str]], share: float, scale: int
) -> tuple[RegionDemand, ...]:
    regions = []
    for province, names in by_province.items():  # in PROVINCES (or the regions') order
        hospitals = tuple(
            HospitalDemand(id=h, quantity=rng.randint(1, scale))
            for h in names
            if rng.random() < share
        )
        if hospitals:
            regions.append(RegionDemand(province, sum(h.quantity for h in hospitals), hospitals))
    return tuple(regions)


def drug_round(seed: int = 2021, items: int = 60, hospitals: int = 46_000) -> Problem:
    rng = random.Random(seed)
    by_province = _hospitals(rng, hospitals)
    preset = PRESETS["national-drug-batch-4"]
    item_list: list[Item] = []
    bids: list[Bid] = []
    for i in range(items):
        ceiling = _price(rng, 0.2, 120)
        item_id = f"D{i:02d}"
        item_list.append(
            Item(
                id=item_id,
                name=f"drug {i}",
                max_valid_bid_price=ceiling,
                reference_price=(ceiling * Decimal("1.6")).quantize(_PRICE),
                demand=_demand(rng, by_province, 1 / 3, 5_000),
            )
        )
        for b in range(rng.randint(3, 39)):
            ratio = rng.choice([rng.uniform(0.1, 0.6), rng.uniform(0.5, 1.15)])
            wants = rng.sample(PROVINCES, rng.randint(0, 5))
            bids.append(
                Bid(
                    id=f"{item_id}-B{b:02d}",
                    supplier=f"M{rng.randint(0, 399):03d}",
                    item=item_id,
                    unit_price=(ceiling * Decimal(str(round(ratio, 4)))).quantize(_PRICE),
                    capacity=rng.randint(5, 60) * 1_000_000,
                    region_preferences=tuple(wants),
                    tie_break_rank=b,
                )
            )
    return Problem(
        rule_set=RuleSet(preset.kind, preset.copy_parameters(), preset.name, preset.version),
        items=tuple(item_list),
        bids=tuple(sorted(bids, key=lambda b: b.id)),
        regions=PROVINCES,
    )


def award_scenario(
    seed: int = 2024,
    items: int = 50,
    suppliers: int = 20,
    hospitals: int = 3_000,
    time_limit: float = 60.0,
    backend: str = "cp_sat",
) -> Problem:
    rng = random.Random(seed)
    by_province = _hospitals(rng, hospitals)
    preset = PRESETS["optimised-award"]
    parameters = preset.copy_parameters()
    parameters.update(
        {
            "min_winners_per_item": 2,
            "time_limit_seconds": time_limit,
            "backend": backend,
            "relative_gap": "0",
            "num_workers": 1,
        }
    )
    item_list: list[Item] = []
    bids: list[Bid] = []
    costs: list[RegionCost] = []
    total = 0
    for i in range(items):
        ceiling = _price(rng, 0.5, 60)
        item_id = f"I{i:02d}"
        demand = _demand(rng, by_province, 0.5, 2_000)
        total += sum(d.quantity for d in demand)
        item_list.append(
            Item(id=item_id, name=f"item {i}", max_valid_bid_price=ceiling, demand=demand)
        )
        for s in range(suppliers):
            bid_id = f"{item_id}-S{s:02d}"
            bids.append(
                Bid(
                    id=bid_id,
                    supplier=f"S{s:02d}",
                    item=item_id,
                    unit_price=(ceiling * Decimal(str(round(rng.uniform(0.3, 0.9), 4)))).quantize(
                        _PRICE
                    ),
                )
            )
            for province in PROVINCES:
                costs.append(
                    RegionCost(bid_id, province, per_unit=_price(rng, 0.0, 0.05 * float(ceiling)))
                )
    # Capacity shared across items: each supplier can make about 1/8 of all units, so
    # the cheapest suppliers run out and the assignment has to trade them off.
    supplier_list = tuple(
        Supplier(id=f"S{s:02d}", capacity=int(total * rng.uniform(0.06, 0.16)))
        for s in range(suppliers)
    )
    return Problem(
        rule_set=RuleSet(preset.kind, parameters, preset.name, preset.version),
        items=tuple(item_list),
        bids=tuple(sorted(bids, key=lambda b: b.id)),
        regions=PROVINCES,
        suppliers=supplier_list,
        region_costs=tuple(sorted(costs, key=lambda c: (c.bid, c.region))),
    )


NATIONAL_REGIONS = tuple(f"R{k:02d}" for k in range(1, 33))


def national_award(
    seed: int = 2025,
    items: int = 55,
    firms: int = 445,
    hospitals: int = 46_000,
    time_limit: float = 60.0,
    backend: str = "auto",
    relative_gap: str = "0.0001",
    bids_total: int = 790,
    capacity_range: tuple[float, float] = (0.25, 1.2),
) -> Problem:
    """The national shape as an optimised award (issue 15): 55 drugs x 445 firms x 32
    regions x 46,000 institutions (~10^6 demand lines, ~790 bids), single source per
    region, firms' capacity shared across the items they bid on, each item's maximum
    number of winners from the batch-4 cap table by its number of bidders, winners within
    1.8 x the item's lowest winning price, each winner at least 5% of the item's national
    agreed volume, and unmet demand allowed at the item's maximum valid bid price per
    unit (no forced winner).

    Bid counts per item follow the national batches (3 to 39, most between 5 and 20);
    a few large makers bid on many items, most firms on one or two. Prices are 10% to
    95% of the ceiling, delivery costs up to 4% of it and vary by region. Capacities are
    drawn so that about a third of the firms cannot supply everything they bid for.
    """
    rng = random.Random(seed)
    weights = [rng.uniform(0.3, 3.0) for _ in NATIONAL_REGIONS]
    by_region: dict[str, list[str]] = {r: [] for r in NATIONAL_REGIONS}
    for h in range(hospitals):
        by_region[rng.choices(NATIONAL_REGIONS, weights)[0]].append(f"H{h:05d}")
    cap_table = PRESETS["national-drug-batch-4"].parameters["winner_cap_by_bidders"]
    preset = PRESETS["optimised-award"]
    parameters = preset.copy_parameters()
    parameters.update(
        {
            "min_winners_per_item": 0,
            "max_winners_per_item": None,
            "single_source_per_region": True,
            "volume_share": "0.7",
            # a whole number as an integer: a JSON file then has no fractional number
            "time_limit_seconds": int(time_limit) if time_limit == int(time_limit) else time_limit,
            "relative_gap": relative_gap,
            "backend": backend,
            "num_workers": 1,
            "max_price_ratio_among_winners": "1.8",
            "min_national_share_per_winner": "0.05",
            "unmet_penalty_ratio": "1",
        }
    )
    # Bids per item: 790 over 55 items, 3 to 39 each.
    counts = [rng.randint(3, 25) for _ in range(items)]
    while sum(counts) != bids_total * items // 55:
        k = rng.randrange(items)
        if sum(counts) < bids_total * items // 55 and counts[k] < 39:
            counts[k] += 1
        elif sum(counts) > bids_total * items // 55 and counts[k] > 3:
            counts[k] -= 1
    # Firm popularity: a few large makers bid on many items.
    firm_ids = [f"F{f:03d}" for f in range(firms)]
    firm_weight = [1.0 / (1 + f) ** 0.6 for f in range(firms)]
    item_list: list[Item] = []
    bids: list[Bid] = []
    costs: list[RegionCost] = []
    volume_of_firm: dict[str, int] = {}
    unused = list(firm_ids)
    rng.shuffle(unused)
    for i in range(items):
        ceiling = _price(rng, 0.2, 120)
        item_id = f"N{i:02d}"
        demand = (
            _demand(rng, by_region, 0.4, 600)
            if hospitals
            else tuple(RegionDemand(r, rng.randint(20_000, 400_000)) for r in NATIONAL_REGIONS)
        )
        item_list.append(
            Item(
                id=item_id,
                name=f"drug {i}",
                max_valid_bid_price=ceiling,
                demand=demand,
                max_winners=cap_table[min(counts[i], len(cap_table)) - 1],
            )
        )
        total = sum(d.quantity for d in demand)
        chosen: set[str] = set()
        while len(chosen) < counts[i]:
            # every firm bids at least once; the rest by popularity
            firm = (
                unused.pop()
                if unused and rng.random() < 0.6
                else rng.choices(firm_ids, firm_weight)[0]
            )
            chosen.add(firm)
        for firm in sorted(chosen):
            bid_id = f"{item_id}-{firm}"
            ratio = rng.choice([rng.uniform(0.1, 0.5), rng.uniform(0.3, 0.95)])
            bids.append(
                Bid(
                    id=bid_id,
                    supplier=firm,
                    item=item_id,
                    unit_price=(ceiling * Decimal(str(round(ratio, 4)))).quantize(_PRICE),
                )
            )
            volume_of_firm[firm] = volume_of_firm.get(firm, 0) + total
            for region in NATIONAL_REGIONS:
                costs.append(
                    RegionCost(bid_id, region, per_unit=_price(rng, 0.0, 0.04 * float(ceiling)))
                )
    supplier_list = tuple(
        Supplier(id=firm, capacity=int(volume_of_firm[firm] * rng.uniform(*capacity_range)))
        for firm in sorted(volume_of_firm)
    )
    return Problem(
        rule_set=RuleSet(preset.kind, parameters, preset.name, preset.version),
        items=tuple(item_list),
        bids=tuple(sorted(bids, key=lambda b: b.id)),
        regions=NATIONAL_REGIONS,
        suppliers=supplier_list,
        region_costs=tuple(sorted(costs, key=lambda c: (c.bid, c.region))),
    )

"""An awarded round built directly as model rows, with figures computed by hand.

``small_awarded_round()`` (the hand-computed example of docs/reports.md):

Item A, atorvastatin tablets (片): reference price 0.8000, ceiling 0.5000.
  齐鲁制药有限公司 0.1000 wins Beijing 7,000; 浙江华海药业股份有限公司 0.1500 wins
  Shanghai 3,000; a third bid 0.3000 loses; a fourth 0.6000 is above the ceiling (invalid).
  after 7,000 x 0.1 + 3,000 x 0.15 = 1,150.00; before 10,000 x 0.8 = 8,000.00;
  savings 6,850.00; cut vs reference 85.63%; vs ceiling (5,000.00) 77.00%.
Item B, coronary stents (个): reference price 13,000.0000, ceiling 2,850.0000.
  微创医疗器械（上海）有限公司 700.0000 wins Beijing 100; 乐普（北京）医疗器械股份有限公司
  750.0000 wins Shanghai 50.
  after 70,000 + 37,500 = 107,500.00; before 150 x 13,000 = 1,950,000.00;
  savings 1,842,500.00; cut vs reference 94.49%; vs ceiling (427,500.00) 74.85%.
Round: after 108,650.00; before 1,958,000.00; savings 1,849,350.00;
  cut vs reference 1,849,350 / 1,958,000 = 94.45% (the plain mean of the item cuts would
  be 90.06%); cut vs ceiling 323,850 / 432,500 = 74.88%.
Provinces: Beijing savings 1,234,900.00, Shanghai 614,450.00.

``large_awarded_round(items=60)`` builds a round of many items (for repeated headers and
the benchmark) with bulk inserts.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from accounts.models import Organization, Region, User
from awards.models import (
    AuditEntry,
    BidResult,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    ProvinceAllocation,
)
from bidding.models import Bid, BidVersion, OpenedBid, Opening
from catalog.models import (
    BiddingUnit,
    FormGroup,
    ProcurementItem,
    Product,
    ProductKind,
    Specification,
)
from procurement.models import Ceiling, Round, RoundItem, RuleSet
from procurement.services import rule_set_load_presets
from tests.factories import user_of

_seq = itertools.count(1)


@dataclass
class BidSpec:
    maker: str  # manufacturer name (Chinese)
    product: str  # product name (Chinese)
    price: str
    outcome: str  # won / lost / invalid
    allocations: tuple[tuple[str, int], ...] = ()  # (region code, quantity)


@dataclass
class ItemSpec:
    code: str
    name: str
    name_en: str
    unit: str
    unit_en: str
    reference_price: str | None
    ceiling: str
    bids: tuple[BidSpec, ...]
    kind: str = ProductKind.DRUG


@dataclass
class AwardedRound:
    round: Round
    run: EvaluationRun
    office: User
    makers: dict[str, User] = field(default_factory=dict)
    hospitals: dict[str, User] = field(default_factory=dict)  # region code -> hospital user
    opened_bids: list[OpenedBid] = field(default_factory=list)


SMALL_ITEMS = (
    ItemSpec(
        code="A-ATOR",
        name="阿托伐他汀钙片",
        name_en="Atorvastatin calcium tablets",
        unit="片",
        unit_en="tablet",
        reference_price="0.8000",
        ceiling="0.5000",
        bids=(
            BidSpec("齐鲁制药有限公司", "阿托伐他汀钙片（齐鲁）", "0.1000", "won", (("11", 7000),)),
            BidSpec(
                "浙江华海药业股份有限公司",
                "阿托伐他汀钙片（华海）",
                "0.1500",
                "won",
                (("31", 3000),),
            ),
            BidSpec("石药集团欧意药业有限公司", "阿托伐他汀钙片（石药）", "0.3000", "lost"),
            BidSpec("辉瑞制药有限公司", "立普妥", "0.6000", "invalid"),
        ),
    ),
    ItemSpec(
        code="B-STENT",
        name="冠脉药物洗脱支架",
        name_en="Coronary drug-eluting stent",
        unit="个",
        unit_en="piece",
        reference_price="13000.0000",
        ceiling="2850.0000",
        kind=ProductKind.CONSUMABLE,
        bids=(
            BidSpec(
                "微创医疗器械（上海）有限公司",
                "Firehawk 冠脉雷帕霉素靶向洗脱支架",
                "700.0000",
                "won",
                (("11", 100),),
            ),
            BidSpec(
                "乐普（北京）医疗器械股份有限公司",
                "GuReater 钴铬合金雷帕霉素洗脱支架",
                "750.0000",
                "won",
                (("31", 50),),
            ),
        ),
    ),
)


def _product(
    *, maker: Organization, item: ProcurementItem, spec: Specification, name: str, kind: str
) -> Product:
    n = next(_seq)
    extra = (
        {
            "approval_number": f"国药准字H2027{n:04d}",
            "is_consistency_evaluated": True,
            "generic_name": item.name,
        }
        if kind == ProductKind.DRUG
        else {"registration_number": f"国械注准2027{n:07d}"}
    )
    return Product.objects.create(
        kind=kind,
        manufacturer=maker,
        item=item,
        specification=spec,
        name=name,
        name_en=f"Product {n}",
        **extra,
    )


def build_awarded_round(
    items: tuple[ItemSpec, ...], *, code: str = "R-2026-07", status: str = Round.Status.AWARDED
) -> AwardedRound:
    rule_set_load_presets()
    office = user_of(
        Organization.Kind.OFFICE,
        name="国家组织药品联合采购办公室（测试）",
        name_en="Joint Procurement Office (test)",
    )
    now = timezone.now().replace(microsecond=0)
    round_ = Round.objects.create(
        code=code,
        name="第七批国家组织集中带量采购（测试）",
        name_en="Seventh national volume-based procurement (test)",
        kind=Round.Kind.DRUGS,
        status=status,
        office=office.organization,
        rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
        demand_opens_at=now - datetime.timedelta(days=40),
        demand_closes_at=now - datetime.timedelta(days=30),
        bid_deadline=now - datetime.timedelta(days=10),
        opening_at=now - datetime.timedelta(days=9),
        objection_ends_at=now - datetime.timedelta(days=2),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
    )
    regions = {r.code: r for r in Region.objects.filter(code__in=["11", "31", "44", "51"])}
    round_.regions.set(regions.values())
    built = AwardedRound(
        round=round_,
        run=None,  # type: ignore[arg-type]
        office=office,
    )
    for region_code, region in regions.items():
        built.hospitals[region_code] = user_of(
            Organization.Kind.HOSPITAL,
            region=region,
            name=f"{region.name_zh}第一人民医院",
            name_en=f"First People's Hospital of {region.name_en}",
        )
    opening = Opening.objects.create(
        round=round_,
        opened_at=now - datetime.timedelta(days=9),
        trigger=Opening.Trigger.OFFICE,
        opened_by=office,
    )
    run = EvaluationRun.objects.create(
        round=round_,
        rule_set=round_.rule_set,
        rule_set_version=1,
        is_official=True,
        status=EvaluationRun.Status.DONE,
        input_hash=hashlib.sha256(code.encode()).hexdigest(),
        progress=100,
    )
    built.run = run
    award_rows: list[ItemAward] = []
    result_rows: list[BidResult] = []
    province_rows: list[ProvinceAllocation] = []
    hospital_rows: list[HospitalAllocation] = []
    for spec_item in items:
        item = ProcurementItem.objects.create(
            code=f"{spec_item.code}-{code}",
            kind=spec_item.kind,
            name=spec_item.name,
            name_en=spec_item.name_en,
            generic_name=spec_item.name if spec_item.kind == ProductKind.DRUG else "",
            form_group=FormGroup.ORAL_SOLID if spec_item.kind == ProductKind.DRUG else "",
            bidding_unit="" if spec_item.kind == ProductKind.DRUG else BiddingUnit.CORONARY_STENT,
            unit_of_count=spec_item.unit,
            unit_of_count_en=spec_item.unit_en,
        )
        spec = Specification.objects.create(
            item=item,
            code="rep",
            label="10 mg" if spec_item.kind == ProductKind.DRUG else "标准型",
            pack_count=1,
            is_representative=True,
        )
        ceiling = Decimal(spec_item.ceiling)
        round_item = RoundItem.objects.create(
            round=round_,
            item=item,
            reference_price=Decimal(spec_item.reference_price)
            if spec_item.reference_price
            else None,
        )
        Ceiling.objects.create(
            round_item=round_item, specification=spec, max_valid_bid_price=ceiling
        )
        winners = [b for b in spec_item.bids if b.outcome == "won"]
        pooled = 0
        agreed = 0
        cost = Decimal(0)
        for rank, b in enumerate(spec_item.bids, start=1):
            maker = built.makers.get(b.maker)
            if maker is None:
                maker = user_of(
                    Organization.Kind.MANUFACTURER,
                    name=b.maker,
                    name_en=f"Maker {len(built.makers) + 1}",
                )
                built.makers[b.maker] = maker
            org = maker.organization
            product = _product(maker=org, item=item, spec=spec, name=b.product, kind=spec_item.kind)
            bid = Bid.objects.create(
                round=round_, round_item=round_item, specification=spec, manufacturer=org
            )
            receipt = hashlib.sha256(f"{code}-{item.code}-{b.maker}".encode()).hexdigest()
            version = BidVersion.objects.create(
                bid=bid,
                number=1,
                action=BidVersion.Action.SUBMIT,
                product=product,
                nonce=b"n" * 12,
                ciphertext=b"sealed",
                receipt_hash=receipt,
                server_time=now - datetime.timedelta(days=11),
                submitted_by=maker,
                manufacturer=org,
            )
            price = Decimal(b.price)
            invalid = b.outcome == "invalid"
            opened = OpenedBid.objects.create(
                opening=opening,
                bid=bid,
                version=version,
                round_item=round_item,
                manufacturer=org,
                specification=spec,
                product=product,
                unit_price=price,
                annual_capacity=10_000_000,
                unit_comparable_price=price,
                max_valid_bid_price=ceiling,
                validity=OpenedBid.Validity.INVALID if invalid else OpenedBid.Validity.VALID,
                reasons=[OpenedBid.Reason.ABOVE_CEILING] if invalid else [],
                receipt_hash=receipt,
            )
            built.opened_bids.append(opened)
            result_rows.append(
                BidResult(
                    run=run,
                    round_item=round_item,
                    opened_bid=opened,
                    manufacturer=org,
                    outcome=b.outcome,
                    reason="",
                    rank=None if invalid else rank,
                    unit_price=price,
                    unit_comparable_price=price,
                    award_price=price if b.outcome == "won" else None,
                )
            )
            for region_code, quantity in b.allocations:
                line_cost = price * quantity
                cost += line_cost
                agreed += quantity
                province_rows.append(
                    ProvinceAllocation(
                        run=run,
                        round_item=round_item,
                        opened_bid=opened,
                        manufacturer=org,
                        region=regions[region_code],
                        quantity=quantity,
                        unit_price=price,
                        delivery_cost=Decimal(0),
                        cost=line_cost,
                    )
                )
                hospital_rows.append(
                    HospitalAllocation(
                        run=run,
                        round_item=round_item,
                        opened_bid=opened,
                        manufacturer=org,
                        region=regions[region_code],
                        hospital=built.hospitals[region_code].organization,
                        quantity=quantity,
                        unit_price=price,
                    )
                )
        pooled = agreed * 2
        reference = Decimal(spec_item.reference_price) if spec_item.reference_price else None
        award_rows.append(
            ItemAward(
                run=run,
                round_item=round_item,
                bidders=len(spec_item.bids),
                valid_bids=len([b for b in spec_item.bids if b.outcome != "invalid"]),
                winner_cap=max(len(winners), 1),
                winners=len(winners),
                agreed_volume_share=Decimal("0.5000"),
                pooled_demand=pooled,
                agreed_volume=agreed,
                term_years=1 if len(winners) <= 2 else 2,
                cost=cost,
                savings_vs_reference=(reference * agreed - cost) if reference else None,
                savings_vs_ceiling=ceiling * agreed - cost,
            )
        )
    ItemAward.objects.bulk_create(award_rows)
    BidResult.objects.bulk_create(result_rows)
    ProvinceAllocation.objects.bulk_create(province_rows)
    HospitalAllocation.objects.bulk_create(hospital_rows)
    Opening.objects.filter(pk=opening.pk).update(
        bid_count=len(result_rows),
        valid_count=len([r for r in result_rows if r.outcome != "invalid"]),
    )
    AuditEntry.objects.create(
        round=round_, action="award_finalized", by=office, detail={"run": run.pk}
    )
    AuditEntry.objects.filter(round=round_, action="award_finalized").update(
        at=now - datetime.timedelta(days=1)
    )
    return built


def small_awarded_round(**kwargs: object) -> AwardedRound:
    return build_awarded_round(SMALL_ITEMS, **kwargs)  # type: ignore[arg-type]


MAKERS = (
    "齐鲁制药有限公司",
    "浙江华海药业股份有限公司",
    "石药集团欧意药业有限公司",
    "扬子江药业集团有限公司",
    "正大天晴药业集团股份有限公司",
    "江苏恒瑞医药股份有限公司",
    "四川科伦药业股份有限公司",
    "海南普利制药股份有限公司",
)
REGION_CODES = ("11", "31", "44", "51")


def many_items(count: int) -> tuple[ItemSpec, ...]:
    """``count`` items, each with 4 winners (one province each), one loser, one invalid."""
    out = []
    for i in range(count):
        ceiling = Decimal("10.0000") + i
        bids = []
        for k in range(6):
            maker = MAKERS[(i + k) % len(MAKERS)]
            price = (ceiling * Decimal(30 + 5 * k) / 100).quantize(Decimal("0.0001"))
            if k < 4:
                bids.append(
                    BidSpec(
                        maker,
                        f"通用名药品{i:02d}（{maker[:2]}）",
                        str(price),
                        "won",
                        ((REGION_CODES[k], 1000 + 10 * i + k),),
                    )
                )
            elif k == 4:
                bids.append(BidSpec(maker, f"通用名药品{i:02d}（{maker[:2]}）", str(price), "lost"))
            else:
                bids.append(
                    BidSpec(maker, f"通用名药品{i:02d}（{maker[:2]}）", str(ceiling + 1), "invalid")
                )
        out.append(
            ItemSpec(
                code=f"D{i:02d}",
                name=f"通用名药品{i:02d} 口服常释剂型",
                name_en=f"Generic drug {i:02d}, oral solid",
                unit="片",
                unit_en="tablet",
                reference_price=str(ceiling * 2),
                ceiling=str(ceiling),
                bids=tuple(bids),
            )
        )
    return tuple(out)


def large_awarded_round(items: int = 60, **kwargs: object) -> AwardedRound:
    return build_awarded_round(many_items(items), **kwargs)  # type: ignore[arg-type]

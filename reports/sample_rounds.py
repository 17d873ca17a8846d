"""Sample awarded rounds built directly as model rows (no evaluation is run).

For benchmarks (``bench/bench_reports.py`` times the award-result PDF of a 60-item round)
and for the reports tests, whose hand-computed example (``tests/reports/factories.py``)
is built with ``build_awarded_round``. Nothing here runs in production: it writes rows
past every service, on a database that is for trying things out.

``large_awarded_round(items=60)`` builds a round of many items (for repeated headers and
the benchmark) with bulk inserts.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from accounts.demo import demo_code
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


UserMaker = Callable[..., User]  # (kind, **organization fields) -> a user of a new organization
_CODE_PREFIX = {"office": "11", "hospital": "12", "manufacturer": "91"}


def sample_user(kind: str, **organization_fields: object) -> User:
    """A user acting for a new organization of ``kind`` (no usable password)."""
    n = next(_seq)
    organization_fields.setdefault("region", Region.objects.get(code="11"))
    organization = Organization.objects.create(
        kind=kind,
        social_credit_code=demo_code(_CODE_PREFIX[kind], "11", 700000 + n),
        hospital_grade=3 if kind == Organization.Kind.HOSPITAL else None,
        **organization_fields,
    )
    user = User(username=f"sample{n}", organization=organization)
    user.set_unusable_password()
    user.save()
    return user


def _organization_of(user: User) -> Organization:
    assert user.organization is not None  # every sample user acts for an organization
    return user.organization


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
    items: tuple[ItemSpec, ...],
    *,
    code: str = "R-2026-07",
    status: str = Round.Status.AWARDED,
    user_of: UserMaker = sample_user,
) -> AwardedRound:
    """One awarded round of ``items``: office, hospitals of four provinces, makers and
    products, the opening, the official run with its results and allocations."""
    rule_set_load_presets()
    builder = _Builder.start(code=code, status=status, user_of=user_of)
    for spec_item in items:
        builder.add_item(spec_item)
    return builder.finish()


@dataclass
class _Builder:
    """The round being built, and the result rows written in bulk at the end."""

    built: AwardedRound
    opening: Opening
    regions: dict[str, Region]
    now: datetime.datetime
    user_of: UserMaker
    awards: list[ItemAward] = field(default_factory=list)
    results: list[BidResult] = field(default_factory=list)
    province_rows: list[ProvinceAllocation] = field(default_factory=list)
    hospital_rows: list[HospitalAllocation] = field(default_factory=list)

    @classmethod
    def start(cls, *, code: str, status: str, user_of: UserMaker) -> _Builder:
        """The round, its office and hospitals, the opening and the official run."""
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
            office=_organization_of(office),
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
        built.run = EvaluationRun.objects.create(
            round=round_,
            rule_set=round_.rule_set,
            rule_set_version=1,
            is_official=True,
            status=EvaluationRun.Status.DONE,
            input_hash=hashlib.sha256(code.encode()).hexdigest(),
            progress=100,
        )
        return cls(built=built, opening=opening, regions=regions, now=now, user_of=user_of)

    def add_item(self, spec_item: ItemSpec) -> None:
        """The item, its one specification and ceiling, its bids and its award."""
        code = self.built.round.code
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
            strength_value=Decimal(10) if spec_item.kind == ProductKind.DRUG else None,
            strength_unit="mg" if spec_item.kind == ProductKind.DRUG else "",
            pack_count=1,
            is_representative=True,
        )
        ceiling = Decimal(spec_item.ceiling)
        round_item = RoundItem.objects.create(
            round=self.built.round,
            item=item,
            reference_price=Decimal(spec_item.reference_price)
            if spec_item.reference_price
            else None,
        )
        Ceiling.objects.create(
            round_item=round_item, specification=spec, max_valid_bid_price=ceiling
        )
        winners = [b for b in spec_item.bids if b.outcome == "won"]
        agreed = 0
        cost = Decimal(0)
        for rank, b in enumerate(spec_item.bids, start=1):
            quantity, amount = self._add_bid(
                b, rank=rank, round_item=round_item, spec=spec, ceiling=ceiling, kind=spec_item.kind
            )
            agreed += quantity
            cost += amount
        reference = Decimal(spec_item.reference_price) if spec_item.reference_price else None
        self.awards.append(
            ItemAward(
                run=self.built.run,
                round_item=round_item,
                bidders=len(spec_item.bids),
                valid_bids=len([b for b in spec_item.bids if b.outcome != "invalid"]),
                winner_cap=max(len(winners), 1),
                winners=len(winners),
                agreed_volume_share=Decimal("0.5000"),
                pooled_demand=agreed * 2,
                agreed_volume=agreed,
                max_valid_bid_price=ceiling,
                term_years=1 if len(winners) <= 2 else 2,
                cost=cost,
                savings_vs_reference=(reference * agreed - cost) if reference else None,
                savings_vs_ceiling=ceiling * agreed - cost,
            )
        )

    def _add_bid(
        self,
        b: BidSpec,
        *,
        rank: int,
        round_item: RoundItem,
        spec: Specification,
        ceiling: Decimal,
        kind: str,
    ) -> tuple[int, Decimal]:
        """One bid: its maker and product, sealed version, opened bid, result and
        allocations. Returns the quantity it was allocated and what that costs."""
        built, run = self.built, self.built.run
        maker = built.makers.get(b.maker)
        if maker is None:
            maker = self.user_of(
                Organization.Kind.MANUFACTURER,
                name=b.maker,
                name_en=f"Maker {len(built.makers) + 1}",
            )
            built.makers[b.maker] = maker
        org = _organization_of(maker)
        product = _product(maker=org, item=round_item.item, spec=spec, name=b.product, kind=kind)
        bid = Bid.objects.create(
            round=built.round, round_item=round_item, specification=spec, manufacturer=org
        )
        receipt = hashlib.sha256(
            f"{built.round.code}-{round_item.item.code}-{b.maker}".encode()
        ).hexdigest()
        version = BidVersion.objects.create(
            bid=bid,
            number=1,
            action=BidVersion.Action.SUBMIT,
            product=product,
            nonce=b"n" * 12,
            ciphertext=b"sealed",
            receipt_hash=receipt,
            server_time=self.now - datetime.timedelta(days=11),
            submitted_by=maker,
            manufacturer=org,
        )
        price = Decimal(b.price)
        invalid = b.outcome == "invalid"
        opened = OpenedBid.objects.create(
            opening=self.opening,
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
        self.results.append(
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
        return self._allocate(b, opened=opened, price=price)

    def _allocate(self, b: BidSpec, *, opened: OpenedBid, price: Decimal) -> tuple[int, Decimal]:
        """A winning bid's provinces (and their one hospital each)."""
        agreed = 0
        cost = Decimal(0)
        for region_code, quantity in b.allocations:
            line_cost = price * quantity
            cost += line_cost
            agreed += quantity
            allocation = {
                "run": self.built.run,
                "round_item": opened.round_item,
                "opened_bid": opened,
                "manufacturer": opened.manufacturer,
                "region": self.regions[region_code],
                "quantity": quantity,
                "unit_price": price,
            }
            self.province_rows.append(
                ProvinceAllocation(**allocation, delivery_cost=Decimal(0), cost=line_cost)
            )
            hospital = self.built.hospitals[region_code].organization
            self.hospital_rows.append(HospitalAllocation(**allocation, hospital=hospital))
        return agreed, cost

    def finish(self) -> AwardedRound:
        """Write the result rows in bulk, count the opening, record the finalization."""
        ItemAward.objects.bulk_create(self.awards)
        BidResult.objects.bulk_create(self.results)
        ProvinceAllocation.objects.bulk_create(self.province_rows)
        HospitalAllocation.objects.bulk_create(self.hospital_rows)
        Opening.objects.filter(pk=self.opening.pk).update(
            bid_count=len(self.results),
            valid_count=len([r for r in self.results if r.outcome != "invalid"]),
        )
        round_, office = self.built.round, self.built.office
        AuditEntry.objects.create(
            round=round_, action="award_finalized", by=office, detail={"run": self.built.run.pk}
        )
        AuditEntry.objects.filter(round=round_, action="award_finalized").update(
            at=self.now - datetime.timedelta(days=1)
        )
        return self.built


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


def large_awarded_round(
    items: int = 60, *, code: str = "R-2026-07", user_of: UserMaker = sample_user
) -> AwardedRound:
    return build_awarded_round(many_items(items), code=code, user_of=user_of)

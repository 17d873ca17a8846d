"""A round carried through every stage at a chosen size, for the page benchmark
(``bench/bench_pages.py``) and the query-count test (``tests/scale/``).

``build_round(code, hospitals=N, makers=M)`` takes a drug round of the demo's four items
through the project's own services, as ``seed_demo`` does for ``DEMO-2026-A1``: demand of
the demo's 30 hospitals plus ``N`` more (spread over the demo's six provinces), the demo
makers' sealed bids plus one more bid each from ``M`` extra makers, the opening, the
official evaluation, the objection period, finalize, province selection and its
allocation, contracts confirmed by both parties, execution and a month of purchases.
Only the extra organizations and their products are written as plain rows (in bulk),
since no service registers an organization with its users in bulk.

The demo data (``seed_demo``) must be loaded first: the round uses its office, items,
rule sets and makers.
"""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.hashers import make_password

from accounts.demo import DEMO_PASSWORD, demo_clock, demo_code, demo_hospitals
from accounts.models import Organization, Region, User
from awards.demo import _award, _select_provinces
from bidding.demo import (
    AWARDED_ITEMS,
    _declare_and_bid,
    awarded_contract_start,
    awarded_round_created,
    open_with_demo_officials,
)
from bidding.services import bid_submit
from catalog.models import Product, ProductKind
from contracts.demo import _buy_one_month, _contract, _start_execution
from procurement.demo import DEMO_REGIONS, DRUG_PRICES, _create_round
from procurement.models import Round, RuleSet

_serial = itertools.count(1)


@dataclass(frozen=True)
class BuiltRound:
    round: Round
    hospitals: int
    makers: int


def _extra_organizations(kind: str, count: int, prefix: str, tag: str) -> list[Organization]:
    """``count`` organizations of ``kind`` in the demo provinces, one user each (the demo
    password)."""
    if count <= 0:
        return []
    regions = list(Region.objects.filter(code__in=DEMO_REGIONS).order_by("code"))
    base = 600_000 + 10_000 * next(_serial)
    organizations = Organization.objects.bulk_create(
        [
            Organization(
                kind=kind,
                name=f"{tag}{k:05d}",
                name_en=f"{tag} {k:05d}",
                region=regions[k % len(regions)],
                social_credit_code=demo_code(prefix, regions[k % len(regions)].code, base + k),
                hospital_grade=(k % 3) + 1 if kind == Organization.Kind.HOSPITAL else None,
            )
            for k in range(count)
        ]
    )
    password = make_password(DEMO_PASSWORD)
    User.objects.bulk_create(
        [
            User(username=f"{tag}-{o.social_credit_code}", organization=o, password=password)
            for o in organizations
        ]
    )
    return organizations


def _extra_bids(round_: Round, makers: list[Organization]) -> None:
    """One sealed bid from each extra maker on atorvastatin 20 mg, each a little dearer
    than the one before (all below the ceiling)."""
    round_item = round_.items.select_related("item").get(item__code="D-ATV-OS")
    spec = round_item.item.specifications.get(code="20MG")
    for k, maker in enumerate(makers):
        product = Product.objects.create(
            kind=ProductKind.DRUG,
            manufacturer=maker,
            item=round_item.item,
            specification=spec,
            name=f"阿托伐他汀钙片（{maker.name}）",
            name_en=f"Atorvastatin ({maker.name_en})",
            generic_name=round_item.item.name,
            approval_number=f"国药准字H29{next(_serial):06d}",
            is_consistency_evaluated=True,
        )
        bid_submit(
            round_item=round_item,
            specification=spec,
            product=product,
            unit_price=Decimal("0.2000") + Decimal(k) / 1000,
            annual_capacity=50_000_000,
            by=maker.users.get(),
        )


def build_round(code: str, *, hospitals: int = 0, makers: int = 0) -> BuiltRound:
    """The round ``code`` in execution, with the demo's hospitals plus ``hospitals`` more
    and the demo's bids plus ``makers`` more (see the module docstring)."""
    extra_hospitals = _extra_organizations(Organization.Kind.HOSPITAL, hospitals, "12", code)
    extra_makers = _extra_organizations(Organization.Kind.MANUFACTURER, makers, "91", code)
    contract_start = awarded_contract_start()  # of the real today, read before the clock
    with demo_clock(awarded_round_created()) as clock:  # walked as the demo's A1 is
        round_ = _create_round(
            code=code,
            name=f"规模测试轮次 {code}",
            name_en=f"Scale round {code}",
            kind=Round.Kind.DRUGS,
            rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
            prices={c: DRUG_PRICES[c] for c in AWARDED_ITEMS},
            contract_starts_on=contract_start,
        )
        _declare_and_bid(round_, clock, hospitals=[*demo_hospitals(), *extra_hospitals])
        _extra_bids(round_, extra_makers)
        clock.travel_to(round_.opening_at + datetime.timedelta(minutes=5))
        open_with_demo_officials(round_)  # the ceremony: two of the demo's officials
        clock.advance(datetime.timedelta(hours=1))
        _award(round_, clock)
        round_.refresh_from_db()
        _select_provinces(round_, clock)
        round_.refresh_from_db()
        _contract(round_, clock)
        _start_execution(round_, clock)
    round_.refresh_from_db()
    _buy_one_month(round_, round_.contract_starts_on)
    round_.refresh_from_db()
    return BuiltRound(round=round_, hospitals=30 + hospitals, makers=makers)


def pages(round_: Round) -> list[tuple[str, str | None, str]]:
    """(name, username or None for anonymous, URL) of every page and list measured."""
    code, pk = round_.code, round_.pk
    return [
        ("my awards", "hospital01", "/awards/mine/"),
        ("my awards", "maker01", "/awards/mine/"),
        ("API allocations", "hospital01", "/api/v1/allocations/"),
        ("API allocations", "maker01", "/api/v1/allocations/"),
        ("demand totals + missing", "office", f"/rounds/{code}/demand/totals/"),
        ("missing hospitals .xlsx", "office", f"/rounds/{code}/demand/missing.xlsx"),
        ("demand history", "office", f"/rounds/{code}/demand/history/"),
        ("opening", None, f"/bidding/rounds/{code}/opening/"),
        ("opening CSV", None, f"/bidding/rounds/{code}/opening.csv"),
        ("API opening", None, f"/api/v1/rounds/{code}/opening/"),
        ("province selection", "office", f"/awards/rounds/{pk}/selection/"),
        ("province selection", "maker01", f"/awards/rounds/{pk}/selection/"),
        ("contracts", "office", f"/awards/contracts/?round={pk}"),
        ("contracts", "hospital01", "/awards/contracts/"),
        ("contracts", "maker01", "/awards/contracts/"),
        ("API contracts", "office", "/api/v1/contracts/"),
        ("API contracts", "hospital01", "/api/v1/contracts/"),
        ("API contracts", "maker01", "/api/v1/contracts/"),
        ("progress by hospital", "office", f"/awards/progress/?round={pk}&detail=hospitals"),
        ("progress lines", "office", f"/awards/progress/?round={pk}&detail=lines"),
        ("progress behind", "office", f"/awards/progress/?round={pk}&detail=behind"),
        ("progress", "hospital01", f"/awards/progress/?round={pk}"),
        ("progress by hospital", "maker01", f"/awards/progress/?round={pk}&detail=hospitals"),
        ("price-cut analysis", "office", f"/reports/office/rounds/{pk}/"),
        ("price-cut .xlsx", None, f"/reports/rounds/{pk}/price-cuts.xlsx"),
        (
            "price-cut .xlsx with hospitals",
            "office",
            f"/reports/office/rounds/{pk}/price-cuts.xlsx",
        ),
        ("OCDS release package", None, f"/reports/rounds/{pk}/ocds.json"),
        ("API OCDS release package", None, f"/api/v1/rounds/{code}/ocds/"),
    ]

"""A round carried through every stage at a chosen size, for the page benchmark
(``bench/bench_pages.py``) and the query-count test (``tests/scale/``).

``build_round(code, hospitals=N, makers=M)`` takes a drug round of the demo's four items
through the project's own services, as ``seed_demo`` does for ``DEMO-2026-A1``: demand of
the demo's 30 hospitals plus ``N`` more (spread over the demo's six provinces), the demo
makers' sealed bids plus one more bid each from ``M`` extra makers, the opening, the
official evaluation, the objection period, finalize, province selection and its
allocation, contracts confirmed by both parties, execution and a month of purchases.
It is walked on the demo clock (``accounts.demo.demo_clock``) from the time the demo's
``DEMO-2026-A1`` was created, so every record carries the time its step was taken.
Only the extra organizations and their products are written as plain rows (in bulk),
since no service registers an organization with its users in bulk.

The demo data (``seed_demo``) must be loaded first: the round uses its office, items,
rule sets and makers.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db.models import F

from accounts.demo import (
    DEMO_PASSWORD,
    DemoClock,
    demo_clock,
    demo_code,
    demo_hospitals,
    organization_for,
)
from accounts.models import Organization, Region, User
from awards.demo import _award, _select_provinces
from bidding.demo import (
    ANNUAL_CAPACITY,
    AWARDED_ITEMS,
    BIDS,
    _declare_and_bid,
    awarded_contract_start,
    awarded_round_created,
    demand_of,
    give_demo_officials,
    open_with_demo_officials,
)
from bidding.services import bid_submit
from catalog.models import Product, ProductKind
from contracts.demo import _buy_one_month, _contract, _start_execution
from procurement.demo import DEMO_REGIONS, DRUG_PRICES, _create_round
from procurement.models import Round, RuleSet
from procurement.services import (
    DemandLine,
    demand_import,
    round_close_demand,
    round_open_bidding,
    round_open_demand,
)
from qualification.services import round_qualification_set

_serial = itertools.count(1)
PURCHASE_COLUMNS = (
    *("contract_id", "round_item_id", "month", "quantity"),
    *("channel", "recorded_by_id", "recorded_at"),
)


@contextlib.contextmanager
def _step(name: str) -> Iterator[None]:
    """Log a build step's start and duration on stderr (the national build takes hours)."""
    started = time.perf_counter()
    print(f"{time.strftime('%H:%M:%S')} build: {name} ...", file=sys.stderr, flush=True)
    yield
    print(
        f"{time.strftime('%H:%M:%S')} build: {name} done in {time.perf_counter() - started:,.1f} s",
        file=sys.stderr,
        flush=True,
    )


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


# The bench's own items beyond the demo's four (``items`` of ``build_round``): one
# representative 10 mg tablet each, a ceiling of 1 to 6.5 yuan, bid by three makers of its
# own (30%, 35% and 40% of the ceiling) and every fourth one also by maker01 at 25%.
EXTRA_ITEM_PREFIX = "B-D"
EXTRA_SPEC = "10MG"
EXTRA_BIDDERS = 3
EXTRA_DECLARED = 16  # extra items each hospital declares (with the demo's four: 20)


def _extra_item_code(k: int) -> str:
    return f"{EXTRA_ITEM_PREFIX}{k:02d}"


def _extra_ceiling(k: int) -> Decimal:
    return Decimal("1.0000") + Decimal(k) / 10


def _extra_items(count: int) -> dict[str, tuple[Decimal, dict[str, Decimal]]]:
    """``count`` drug items of the bench (created once, by code), as the round's prices:
    {code: (reference price, {specification code: ceiling})}."""
    from catalog.models import FormGroup
    from catalog.services import item_upsert, specification_upsert

    prices: dict[str, tuple[Decimal, dict[str, Decimal]]] = {}
    for k in range(count):
        item, _created = item_upsert(
            code=_extra_item_code(k),
            kind=ProductKind.DRUG,
            name=f"规模测试药品{k:02d}片",
            name_en=f"Scale drug {k:02d} tablets",
            generic_name=f"规模测试药品{k:02d}",
            form_group=FormGroup.ORAL_SOLID,
            unit_of_count="片",
            unit_of_count_en="tablet",
        )
        specification_upsert(
            item=item,
            code=EXTRA_SPEC,
            label="10mg",
            strength_value=Decimal(10),
            strength_unit="mg",
            pack_count=7,
            dosage_form="片剂",
            is_representative=True,
        )
        ceiling = _extra_ceiling(k)
        prices[item.code] = (
            (ceiling * Decimal("1.6")).quantize(Decimal("0.0001")),
            {EXTRA_SPEC: ceiling},
        )
    return prices


def _extra_item_lines(hospital: Organization, serial: int, count: int) -> list[DemandLine]:
    """The extra items hospital ``serial`` declares: ``EXTRA_DECLARED`` of the ``count``
    (every third from its serial on, so the items are declared evenly)."""
    if count <= 0:
        return []
    share = {3: 10, 2: 6, 1: 3}.get(hospital.hospital_grade or 1, 3)
    declared = sorted({(serial + 3 * j) % count for j in range(min(EXTRA_DECLARED, count))})
    return [
        DemandLine(
            item_code=_extra_item_code(k),
            specification_code=EXTRA_SPEC,
            quantity=share * (1_000 + 37 * ((serial + k) % 100)),
        )
        for k in declared
    ]


def _extra_item_bids(round_: Round, count: int, makers: list[Organization]) -> None:
    """The sealed bids on the extra items: ``EXTRA_BIDDERS`` makers of ``makers`` for each
    (in turn), and maker01, lowest, on every fourth."""
    maker01 = organization_for("maker01")
    user01 = User.objects.get(username="maker01")
    round_items = {
        ri.item.code: ri
        for ri in round_.items.select_related("item").filter(
            item__code__startswith=EXTRA_ITEM_PREFIX
        )
    }
    for k in range(count):
        round_item = round_items[_extra_item_code(k)]
        spec = round_item.item.specifications.get(code=EXTRA_SPEC)
        ceiling = _extra_ceiling(k)
        bidders: list[tuple[Organization, User, Decimal]] = [
            (maker, maker.users.get(), Decimal("0.30") + Decimal("0.05") * b)
            for b, maker in enumerate(makers[k * EXTRA_BIDDERS : (k + 1) * EXTRA_BIDDERS])
        ]
        if k % 4 == 0:
            bidders.append((maker01, user01, Decimal("0.25")))
        for maker, user, ratio in bidders:
            product = Product.objects.create(
                kind=ProductKind.DRUG,
                manufacturer=maker,
                item=round_item.item,
                specification=spec,
                name=f"{round_item.item.name}（{maker.name}）",
                name_en=f"{round_item.item.name_en} ({maker.name_en})",
                generic_name=round_item.item.generic_name,
                approval_number=f"国药准字H29{next(_serial):06d}",
                is_consistency_evaluated=True,
            )
            bid_submit(
                round_item=round_item,
                specification=spec,
                product=product,
                unit_price=(ceiling * ratio).quantize(Decimal("0.0001")),
                annual_capacity=ANNUAL_CAPACITY,
                by=user,
            )


def _declare_collated_and_bid(
    round_: Round, clock: DemoClock, hospitals: list[Organization], extra_items: int = 0
) -> None:
    """``_declare_and_bid`` with the demand of every hospital in one collated file,
    imported as the office does (``demand_import``: checked, then written by COPY) an hour
    after demand opens; the rest on the demo clock as ``_declare_and_bid`` walks it
    (demand closed at its closing time, bidding opened an hour later, the demo makers'
    bids from three days later, two hours apart, unsigned: the round does not require
    signatures)."""
    import csv
    import io

    office = User.objects.get(username="office")
    give_demo_officials(round_)
    round_open_demand(round_=round_, by=office)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["医疗机构代码", "品种编码", "规格编码", "年度需求量"])
    for serial, hospital in enumerate(hospitals, 1):
        for line in [
            *demand_of(hospital, serial),
            *_extra_item_lines(hospital, serial, extra_items),
        ]:
            writer.writerow(
                [
                    hospital.social_credit_code,
                    line.item_code,
                    line.specification_code,
                    line.quantity,
                ]
            )
    data = out.getvalue().encode()
    clock.advance(datetime.timedelta(hours=1))
    outcome = demand_import(
        round_=round_,
        data=data,
        filename="demand.csv",
        max_bytes=len(data) + 1,
        hospital=None,
        by=office,
        commit=True,
    )
    if not (outcome.ok and outcome.committed):
        raise RuntimeError(f"demand import refused: {outcome.file_error} {outcome.errors[:5]}")
    clock.travel_to(round_.demand_closes_at)
    round_close_demand(round_=round_, by=office)
    clock.advance(datetime.timedelta(hours=1))
    round_open_bidding(round_=round_, by=office)
    round_.refresh_from_db()
    clock.advance(datetime.timedelta(days=3))
    for username, approval_number, price in BIDS:
        clock.advance(datetime.timedelta(hours=2))
        product = Product.objects.select_related("specification__item").get(
            approval_number=approval_number, manufacturer=organization_for(username)
        )
        bid_submit(
            round_item=round_.items.get(item=product.specification.item),
            specification=product.specification,
            product=product,
            unit_price=Decimal(price),
            annual_capacity=ANNUAL_CAPACITY,
            by=User.objects.get(username=username),
        )


def _contract_in_bulk(round_: Round, clock: DemoClock) -> None:
    """The contracts drawn up by the service at 09:00 the morning after the clock's day
    (as ``contracts.demo._contract``), then confirmed by both parties (each party's first
    user) in one UPDATE at 10:00, unsigned (the round does not require signatures), and
    the round moved on as the last confirmation moves it."""
    from django.db.models import OuterRef, Subquery
    from django.utils import timezone

    from contracts.models import Contract
    from contracts.services import contracts_generate
    from procurement.services import round_advance

    office = User.objects.get(username="office")
    day = timezone.localdate(clock.now()) + datetime.timedelta(days=1)
    clock.travel_to(timezone.make_aware(datetime.datetime.combine(day, datetime.time(9))))
    contracts_generate(round_=round_, by=office)
    clock.advance(datetime.timedelta(hours=1))
    now = timezone.now()

    def first_user(party: str) -> Subquery:
        return Subquery(
            User.objects.filter(organization=OuterRef(party)).order_by("pk").values("pk")[:1]
        )

    Contract.objects.filter(round=round_).update(
        status=Contract.Status.CONFIRMED,
        hospital_confirmed_by=first_user("hospital_id"),
        hospital_confirmed_at=now,
        manufacturer_confirmed_by=first_user("manufacturer_id"),
        manufacturer_confirmed_at=now,
    )
    round_.refresh_from_db()
    round_advance(round_=round_, to=Round.Status.CONTRACTED, by=office, note="bench: confirmed")


def _buy_one_month_in_bulk(round_: Round, month: datetime.date) -> int:
    """``_buy_one_month`` written by COPY: each current line's pro-rata volume by today
    (a fifth of the hospitals well behind it), recorded by the hospital's first user."""
    from django.utils import timezone

    from common.bulk_copy import copy_rows
    from contracts import summaries
    from contracts.demo import BEHIND, ON_SCHEDULE
    from contracts.models import ContractLine, Purchase
    from contracts.progress import expected_by

    today = timezone.localdate()
    now = timezone.now()
    users = dict(
        User.objects.order_by("-pk").values_list("organization_id", "pk")
    )  # the first user of each organization wins (lowest pk last)
    lines = (
        ContractLine.objects.filter(contract__round=round_, version=F("contract__current_version"))
        .order_by("pk")
        .values_list(
            "contract_id",
            "contract__hospital_id",
            "round_item_id",
            "quantity",
            "starts_on",
            "ends_on",
        )
    )
    # Read before the COPY starts: the connection runs nothing else while it copies.
    rows = [
        (
            contract_id,
            round_item_id,
            month,
            int(
                expected_by(quantity, starts, ends, today)
                * (BEHIND if hospital_id % 5 == 0 else ON_SCHEDULE)
            ),
            Purchase.Channel.WEB,
            users[hospital_id],
            now,
        )
        for contract_id, hospital_id, round_item_id, quantity, starts, ends in lines
    ]
    written = copy_rows(
        Purchase,
        PURCHASE_COLUMNS,
        rows,
    )
    summaries.mark_changed([round_.pk])
    return written


def build_round(
    code: str, *, hospitals: int = 0, makers: int = 0, bulk: bool = False, items: int = 4
) -> BuiltRound:
    """The round ``code`` in execution, with the demo's hospitals plus ``hospitals`` more
    and the demo's bids plus ``makers`` more (see the module docstring).

    ``bulk`` takes the fastest paths the project offers, for national sizes: the demand
    as the office's collated file (``demand_import``: one COPY), the contracts confirmed
    by both parties in one UPDATE, and the month's purchases written by COPY.

    ``items`` above the demo's four adds the bench's own items (``_extra_items``), bid by
    makers of their own, each hospital declaring ``EXTRA_DECLARED`` of them besides the
    demo's four (only with ``bulk``: 60 items and 46,000 hospitals make the national round
    of issue 19, ~920,000 demand lines)."""
    extra_items = max(0, items - len(AWARDED_ITEMS))
    if extra_items and not bulk:
        raise ValueError("the bench's extra items are declared only by the collated file (bulk)")
    with _step("organizations"):
        extra_hospitals = _extra_organizations(Organization.Kind.HOSPITAL, hospitals, "12", code)
        extra_makers = _extra_organizations(Organization.Kind.MANUFACTURER, makers, "91", code)
        item_makers = _extra_organizations(
            Organization.Kind.MANUFACTURER, EXTRA_BIDDERS * extra_items, "91", f"{code}I"
        )
        extra_prices = _extra_items(extra_items)
    office = User.objects.get(username="office")
    contract_start = awarded_contract_start()  # of the real today, read before the clock
    with demo_clock(awarded_round_created()) as clock:  # walked as the demo's A1 is
        round_ = _create_round(
            code=code,
            name=f"规模测试轮次 {code}",
            name_en=f"Scale round {code}",
            kind=Round.Kind.DRUGS,
            rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
            prices={**{c: DRUG_PRICES[c] for c in AWARDED_ITEMS}, **extra_prices},
            contract_starts_on=contract_start,
        )
        # The extra makers hold no qualification documents and their bids are unsigned:
        # the round requires neither (the checks themselves still run for every bid; on
        # the path that is not bulk, the demo's own bids and every contract confirmation
        # are signed with public demo keys, as on the demo).
        Round.objects.filter(pk=round_.pk).update(signatures_required=False)
        round_.refresh_from_db()
        round_qualification_set(round_=round_, required=False, by=office)
        hospitals_all = [*demo_hospitals(), *extra_hospitals]
        with _step("demand and bids"):
            if bulk:
                _declare_collated_and_bid(round_, clock, hospitals_all, extra_items)
            else:
                _declare_and_bid(round_, clock, hospitals=hospitals_all)
            _extra_bids(round_, extra_makers)
            _extra_item_bids(round_, extra_items, item_makers)
        clock.travel_to(round_.opening_at + datetime.timedelta(minutes=5))
        with _step("opening"):
            open_with_demo_officials(round_)  # the ceremony: two of the demo's officials
        clock.advance(datetime.timedelta(hours=1))
        with _step("evaluation and finalize"):
            _award(round_, clock)
        round_.refresh_from_db()
        with _step("province selection"):
            # Every pick inside the two days of the selection (one pick a province and item).
            picks = round_.items.count() * round_.regions.count()
            _select_provinces(
                round_,
                clock,
                pick_every=min(
                    datetime.timedelta(minutes=10), datetime.timedelta(days=2) / (picks + 1)
                ),
            )
        round_.refresh_from_db()
        with _step("contracts"):
            if bulk:  # confirmed in one UPDATE, unsigned (the round does not require it)
                _contract_in_bulk(round_, clock)
            else:
                _contract(round_, clock)
        with _step("execution"):
            _start_execution(round_, clock)
    round_.refresh_from_db()
    with _step("a month of purchases"):
        if bulk:
            _buy_one_month_in_bulk(round_, round_.contract_starts_on)
        else:
            _buy_one_month(round_, round_.contract_starts_on)
    round_.refresh_from_db()
    return BuiltRound(round=round_, hospitals=30 + hospitals, makers=makers)


def pages(round_: Round) -> list[tuple[str, str | None, str]]:
    """(name, username or None for anonymous, URL) of every page and list measured."""
    from reports.open_data import one_piece

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
        ("purchases", "hospital01", "/awards/purchases/"),
        ("progress by hospital", "maker01", f"/awards/progress/?round={pk}&detail=hospitals"),
        ("price-cut analysis", "office", f"/reports/office/rounds/{pk}/"),
        ("price-cut .xlsx", None, f"/reports/rounds/{pk}/price-cuts.xlsx"),
        (
            "price-cut .xlsx with hospitals",
            "office",
            f"/reports/office/rounds/{pk}/price-cuts.xlsx",
        ),
        *(
            [
                ("OCDS release package", None, f"/reports/rounds/{pk}/ocds.json"),
                ("API OCDS release package", None, f"/api/v1/rounds/{code}/ocds/"),
            ]
            if one_piece(round_)  # a national round has only its release files
            else []
        ),
        ("OCDS release files index", None, f"/reports/rounds/{pk}/ocds/index.json"),
        ("OCDS release file 2 (contracts)", None, f"/reports/rounds/{pk}/ocds/2.json"),
        ("public round page", None, f"/reports/rounds/{pk}/"),
    ]


def prepare_round(round_: Round) -> None:
    """What the tasks build after finalize, selection, contracts and purchases, built as
    they would: the progress and demand snapshots (``contracts.summaries``,
    ``procurement.summaries``) and the open-data files (``reports.open_data.build``, each
    file in each language): the pages then read them, as in production once the worker
    has run."""
    from django.conf import settings

    from contracts import summaries as progress
    from procurement import summaries as demand
    from reports import open_data
    from reports.models import OpenDataFile

    progress.refresh(round_id=round_.pk)
    demand.refresh(round_id=round_.pk)
    K = OpenDataFile.Kind
    open_data.build(round_id=round_.pk, kind=K.OCDS)  # none for a national round
    open_data.build(round_id=round_.pk, kind=K.OCDS_SPLIT)
    for kind in (K.PRICE_CUTS, K.PRICE_CUTS_OFFICE, K.ANALYSIS, K.ANALYSIS_OFFICE):
        for language, _name in settings.LANGUAGES:
            open_data.build(round_id=round_.pk, kind=kind, language=language)

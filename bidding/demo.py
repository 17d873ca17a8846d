"""The ready-made awarded demo round, part 1: demand, sealed bids and the public opening.

``DEMO-2026-A1`` goes the whole way through the real services so that a new user sees
results at once; this module takes it from creation to "bids opened", ``awards.demo``
awards it, ``contracts.demo`` draws up contracts and records a month of purchases,
``reports.demo`` publishes the award-result PDF (the loader runs them in app order, in one
transaction).

Every hospital declares its demand, the demo manufacturers seal their bids (to the
round's opening key, held 2 of 3 by the demo opening officials ``opener1`` to ``opener3``,
whose passphrases are public: ``DEMO_OFFICIALS``, README "Opening ceremony") and the bids
are opened by a ceremony of ``opener1`` and ``opener2``. The draft demo rounds get the
same three officials, so a newcomer can take them through bidding and run the ceremony.

The services check the clock (bids only before the deadline, the opening only after it)
and stamp what they record with it, so the round is walked through on the demo clock
(``accounts.demo.demo_clock``), as if months ago: created on ``awarded_round_created()``
(110 days ago, 09:00 China Standard Time), demand closed and bidding opened 14 days later,
bids sealed in the days after, the deadline 35 days after creation and the ceremony just
after the opening time; its contract term begins on the first day of last month (the month
``contracts.demo`` records). Every date a page, receipt or PDF shows is then the date the
step was taken. ``DEMO-2026-B1`` is walked the same way to its passed opening time.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import TextIO

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, DemoClock, demo_clock, demo_hospitals, organization_for
from accounts.models import Organization, User
from accounts.signing_demo import demo_sign
from bidding.models import Opening, RoundCustody
from bidding.services import bid_submit, ceremony_present, custody_designate, official_enroll
from bidding.services.terms import product_code
from bidding.signatures import bid_signed_content
from catalog.models import Product
from procurement.demo import DRUG_PRICES, _create_round
from procurement.models import Round, RuleSet
from procurement.services import (
    DemandLine,
    demand_declare,
    round_close_demand,
    round_open_bidding,
    round_open_demand,
)

D = Decimal
AWARDED_ROUND = "DEMO-2026-A1"
# Sealed, bidding closed, opening time passed: waiting for two officials' ceremony.
CEREMONY_ROUND = "DEMO-2026-B1"
AWARDED_ITEMS = ("D-ATV-OS", "D-CLO-OS", "D-AMB-INJ", "D-AML-OS")

# Yearly demand of a grade-3 hospital per item (representative specification); grade 2
# declares 60% of it, grade 1 30%, and each hospital a little more than the one before.
BASE_DEMAND = {
    "D-ATV-OS": ("20MG", 180_000),
    "D-CLO-OS": ("75MG", 120_000),
    "D-AMB-INJ": ("2ML15MG", 40_000),
    "D-AML-OS": ("5MG", 150_000),
}
GRADE_SHARE = {3: D("1.0"), 2: D("0.6"), 1: D("0.3")}

# Sealed bids: (manufacturer user, approval number of its product, unit price in yuan per
# unit of the product's specification). Prices are below the published ceilings
# (procurement/demo.py) the way the national rounds' winning prices were: cuts of 80 to
# 95%, originators bidding high and losing.
BIDS = [
    ("maker01", "国药准字H20193001", "0.1800"),  # atorvastatin 20 mg
    ("maker02", "国药准字H20193002", "0.1200"),  # atorvastatin 10 mg
    ("maker03", "国药准字H20193003", "0.3000"),  # atorvastatin 40 mg
    ("maker08", "国药准字J20170001", "1.6000"),  # Lipitor, originator
    ("maker05", "国药准字H20193005", "0.6000"),  # clopidogrel
    ("maker06", "国药准字H20193006", "0.7200"),
    ("maker07", "国药准字H20193007", "0.8500"),
    ("maker08", "国药准字J20170002", "2.9000"),  # Plavix, originator
    ("maker01", "国药准字H20193008", "0.9500"),  # ambroxol 2 ml:15 mg
    ("maker03", "国药准字H20193009", "1.9000"),  # ambroxol 4 ml:30 mg
    ("maker05", "国药准字H20193012", "0.0600"),  # amlodipine
    ("maker07", "国药准字H20193013", "0.0750"),
]
ANNUAL_CAPACITY = 50_000_000

# The demo opening officials (users of the procurement office) and their passphrases:
# public, for the demo only. Any 2 of the 3 open a round.
DEMO_OFFICIALS = (
    ("opener1", "opener1-demo-passphrase"),
    ("opener2", "opener2-demo-passphrase"),
    ("opener3", "opener3-demo-passphrase"),
)
DEMO_THRESHOLD = 2
DRAFT_ROUNDS = ("DEMO-2026-D1", "DEMO-2026-C1")

# The awarded round's walk: created this many days ago; the timetable of
# ``procurement.demo._create_round`` follows (demand 14 days, the deadline 35 days after
# creation); the award, the selection and the contracts take the following two weeks.
AWARDED_DAYS_AGO = 110


def awarded_round_created() -> datetime.datetime:
    """When the awarded demo round was created (and demand opened): 09:00 China Standard
    Time, ``AWARDED_DAYS_AGO`` days ago."""
    day = timezone.localdate() - datetime.timedelta(days=AWARDED_DAYS_AGO)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))


def awarded_contract_start() -> datetime.date:
    """The awarded round's contract start: the first day of last month, so that last month
    is a month of the term a hospital records (the purchase service accepts months begun).
    Read it before the demo clock is set: it is of the real today."""
    first_of_this_month = timezone.localdate().replace(day=1)
    return (first_of_this_month - datetime.timedelta(days=1)).replace(day=1)


def demo_officials() -> list[User]:
    """The three demo opening officials, users of the procurement office (idempotent)."""
    office = _user("office")
    password = make_password(DEMO_PASSWORD)
    officials = []
    for username, _passphrase in DEMO_OFFICIALS:
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={"organization": office.organization, "password": password},
        )
        officials.append(user)
    return officials


def give_demo_officials(round_: Round) -> None:
    """Designate the demo officials for ``round_`` (2 of 3) and set their passphrases."""
    if RoundCustody.objects.filter(round=round_).exists():
        return
    officials = demo_officials()
    custody_designate(
        round_=round_, officials=officials, threshold=DEMO_THRESHOLD, by=_user("office")
    )
    for user, (_username, passphrase) in zip(officials, DEMO_OFFICIALS, strict=True):
        official_enroll(round_=round_, user=user, passphrase=passphrase)


def open_with_demo_officials(round_: Round) -> Opening:
    """The opening ceremony of a demo round: two of the demo officials present."""
    officials = demo_officials()
    ceremony_present(round_=round_, user=officials[0], passphrase=DEMO_OFFICIALS[0][1])
    opening = ceremony_present(
        round_=round_, user=officials[1], passphrase=DEMO_OFFICIALS[1][1]
    ).opening
    assert opening is not None
    return opening


def demand_of(hospital: Organization, serial: int) -> list[DemandLine]:
    share = GRADE_SHARE.get(hospital.hospital_grade or 1, D("0.3")) * (1 + D(serial) / 100)
    return [
        DemandLine(item_code=code, specification_code=spec, quantity=int(base * share))
        for code, (spec, base) in BASE_DEMAND.items()
    ]


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _declare_and_bid(
    round_: Round, clock: DemoClock, hospitals: Iterable[Organization] | None = None
) -> None:
    """On the demo clock, from the round's creation: demand of ``hospitals`` (the demo's
    own unless given; never every hospital of the database, which may hold others), an
    hour apart (closer if they would not fit the demand window); demand closed at its
    closing time and bidding opened an hour later; then the demo makers' sealed bids, from
    three days later, two hours apart. The clock is left just after the last bid."""
    office = _user("office")
    give_demo_officials(round_)
    round_open_demand(round_=round_, by=office)
    declaring = list(demo_hospitals() if hospitals is None else hospitals)
    # An hour apart, closer when more hospitals than hours before the window closes (the
    # bench's bigger rounds): every declaration falls inside the demand window.
    step = min(
        datetime.timedelta(hours=1),
        (round_.demand_closes_at - clock.now()) / (len(declaring) + 1),
    )
    for serial, hospital in enumerate(declaring, 1):
        clock.advance(step)
        demand_declare(
            hospital=hospital,
            round_=round_,
            lines=demand_of(hospital, serial),
            channel="web",
            by=hospital.users.order_by("pk").first(),  # type: ignore[arg-type]
        )
    clock.travel_to(round_.demand_closes_at)
    round_close_demand(round_=round_, by=office)
    clock.advance(datetime.timedelta(hours=1))
    round_open_bidding(round_=round_, by=office)
    round_.refresh_from_db()
    clock.advance(datetime.timedelta(days=3))
    for username, approval_number, price in BIDS:
        clock.advance(datetime.timedelta(hours=2))
        product = Product.objects.select_related("specification__item", "manufacturer").get(
            approval_number=approval_number, manufacturer=organization_for(username)
        )
        user = _user(username)
        content = bid_signed_content(
            round_code=round_.code,
            manufacturer_code=product.manufacturer.social_credit_code,
            item_code=product.specification.item.code,
            specification_code=product.specification.code,
            product_code=product_code(product),
            version=1,
            unit_price=D(price),
            annual_capacity=ANNUAL_CAPACITY,
        )
        bid_submit(
            round_item=round_.items.get(item=product.specification.item),
            specification=product.specification,
            product=product,
            unit_price=D(price),
            annual_capacity=ANNUAL_CAPACITY,
            by=user,
            signature=demo_sign(user, content),  # the demo's public key (signing_demo)
        )


def _load_ceremony_round(stdout: TextIO) -> None:
    """A round whose bids are sealed and whose opening time has come: a newcomer opens it
    at its ceremony as ``opener1`` and ``opener2`` (README, "The opening ceremony"). Walked
    on the demo clock from 35 days and 70 minutes ago, so its deadline passed 70 minutes
    ago and its opening time 10 minutes ago."""
    if Round.objects.filter(code=CEREMONY_ROUND).exists():
        return
    created = timezone.now() - datetime.timedelta(days=35, minutes=70)
    with demo_clock(created) as clock:
        round_ = _create_round(
            code=CEREMONY_ROUND,
            name="2026年演示药品集中带量采购（待开标）",
            name_en="2026 demo drug volume-based procurement (awaiting its opening ceremony)",
            kind=Round.Kind.DRUGS,
            rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
            prices={code: DRUG_PRICES[code] for code in AWARDED_ITEMS},
        )
        _declare_and_bid(round_, clock)
    stdout.write(f"bidding: {CEREMONY_ROUND} sealed, waiting for its opening ceremony\n")


def load(*, stdout: TextIO) -> None:
    if Round.objects.filter(code=AWARDED_ROUND).exists():
        for code in DRAFT_ROUNDS:
            draft = Round.objects.filter(code=code).first()
            if draft is not None:
                give_demo_officials(draft)
        _load_ceremony_round(stdout)
        stdout.write(f"bidding: {AWARDED_ROUND} already loaded\n")
        return
    contract_start = awarded_contract_start()  # of the real today, read before the clock
    with demo_clock(awarded_round_created()) as clock:
        round_ = _create_round(
            code=AWARDED_ROUND,
            name="2026年演示药品集中带量采购（已中选）",
            name_en="2026 demo drug volume-based procurement (awarded)",
            kind=Round.Kind.DRUGS,
            rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
            prices={code: DRUG_PRICES[code] for code in AWARDED_ITEMS},
            contract_starts_on=contract_start,
        )
        _declare_and_bid(round_, clock)
        clock.travel_to(round_.opening_at + datetime.timedelta(minutes=5))
        opening = open_with_demo_officials(round_)
    for code in DRAFT_ROUNDS:
        draft = Round.objects.filter(code=code).first()
        if draft is not None:
            give_demo_officials(draft)
    stdout.write(
        f"bidding: {AWARDED_ROUND} demand declared, {opening.bid_count} bids sealed and opened\n"
    )
    _load_ceremony_round(stdout)

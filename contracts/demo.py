"""The ready-made awarded demo round, part 3: contracts and a month bought.

Takes ``DEMO-2026-A1`` (awarded, provinces selected by ``awards.demo``) through the real
services, on the demo clock (``accounts.demo.demo_clock``): contracts drawn up the
morning after the province selection closed, confirmed by every hospital that day and by
every supplier the next (each confirmation signed, when it is made, with the party's
public demo key, ``accounts.signing_demo``), and execution started on the contract start
date the round was created with (the first day of last month,
``bidding.demo.awarded_contract_start``).
Then, at the real time, last month's purchases: the purchase service accepts months of
the term that have begun, and "last month" is the one a hospital records.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TextIO

from django.utils import timezone

from accounts.demo import DemoClock, demo_clock
from accounts.models import Organization, User
from accounts.signing_demo import demo_sign
from awards.demo import office_user, user_of
from awards.models import ProvinceSelection
from bidding.demo import AWARDED_ROUND
from contracts import services
from contracts.models import Contract
from contracts.progress import expected_by
from contracts.signatures import contract_signed_content
from procurement.models import Round

S = Round.Status

# What a hospital has bought so far, recorded as last month's purchase: most hospitals
# are on schedule (the pro-rata volume of the days of the term begun); every fifth buys
# only 40% of it, so the progress pages show some behind schedule.
ON_SCHEDULE, BEHIND = Decimal("1.02"), Decimal("0.4")


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _contract(round_: Round, clock: DemoClock) -> None:
    """The morning after the clock's day: contracts drawn up at 09:00, confirmed by each
    hospital from 10:00 that day and by each supplier from 10:00 the next, five minutes
    apart (closer when there are more than eight hours of them, as in the bench's bigger
    rounds, so each party's confirmations stay within its day)."""
    day = timezone.localdate(clock.now()) + datetime.timedelta(days=1)
    clock.travel_to(_at(day, 9))
    services.contracts_generate(round_=round_, by=office_user())
    contracts = list(Contract.objects.filter(round=round_).order_by("pk"))
    step = min(datetime.timedelta(minutes=5), datetime.timedelta(hours=8) / max(len(contracts), 1))
    # Each party signs its confirmation with its public demo key (accounts.signing_demo)
    # at the time it confirms: the demo clock gives the contracts their final dates when
    # they are drawn up, so nothing moves after signing.
    clock.travel_to(_at(day, 10))
    for contract in contracts:
        clock.advance(step)
        _confirm(contract, "hospital", user_of(contract.hospital_id))
    clock.travel_to(_at(day + datetime.timedelta(days=1), 10))
    for contract in contracts:
        clock.advance(step)
        contract.refresh_from_db()
        _confirm(contract, "manufacturer", user_of(contract.manufacturer_id))


def _confirm(contract: Contract, party: str, user: User) -> None:
    content = contract_signed_content(contract=contract, party=party)
    services.contract_confirm(contract=contract, by=user, signature=demo_sign(user, content))


def _start_execution(round_: Round, clock: DemoClock) -> None:
    """Execution starts on the contract start date, at 00:05 China Standard Time (what the
    deadline sweep would do, ``execution_start_check``)."""
    round_.refresh_from_db()
    clock.travel_to(_at(round_.contract_starts_on, 0) + datetime.timedelta(minutes=5))
    services.execution_start(round_=round_, by=None)


def _buy_one_month(round_: Round, month: datetime.date) -> int:
    today = timezone.localdate()
    lines_by_hospital: dict[int, list[services.PurchaseLine]] = {}
    contracts = Contract.objects.filter(round=round_).select_related("hospital")
    for contract in contracts.order_by("hospital_id", "pk"):
        share = BEHIND if contract.hospital_id % 5 == 0 else ON_SCHEDULE
        for line in services.contract_lines(contract):
            due = expected_by(line.quantity, line.starts_on, line.ends_on, today)
            lines_by_hospital.setdefault(contract.hospital_id, []).append(
                services.PurchaseLine(
                    contract_number=contract.number,
                    item_code=line.round_item.item.code,
                    month=f"{month:%Y-%m}",
                    quantity=int(due * share),
                )
            )
    hospitals = Organization.objects.in_bulk(list(lines_by_hospital))
    for hospital_id, lines in lines_by_hospital.items():
        services.purchases_record(
            hospital=hospitals[hospital_id], by=user_of(hospital_id), lines=lines, channel="web"
        )
    return sum(len(lines) for lines in lines_by_hospital.values())


def load(*, stdout: TextIO) -> None:
    round_ = Round.objects.filter(code=AWARDED_ROUND).first()
    if round_ is None or round_.status != S.AWARDED:
        return  # not awarded by awards.demo in this run, or already taken further
    selection = ProvinceSelection.objects.get(round=round_)
    assert selection.closed_at is not None
    with demo_clock(selection.closed_at) as clock:
        _contract(round_, clock)
        _start_execution(round_, clock)
    round_.refresh_from_db()
    purchases = _buy_one_month(round_, round_.contract_starts_on)
    stdout.write(
        f"contracts: {AWARDED_ROUND} {Contract.objects.filter(round=round_).count()} contracts "
        f"confirmed, {purchases} purchase lines for {round_.contract_starts_on:%Y-%m}\n"
    )

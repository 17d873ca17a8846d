"""The ready-made awarded demo round, part 3: contracts and a month bought.

Takes ``DEMO-2026-A1`` (awarded, provinces selected by ``awards.demo``) through the real
services: contracts drawn up and confirmed by every hospital and then every supplier,
execution, and one month of purchases.

Different from a live round, demo only: once the contracts are confirmed the timetable is
moved back by a plain UPDATE so the round reads as run months ago, with the contract term
starting on the first day of last month: the purchase service accepts months of the term
that have begun, and "last month" is the one a hospital records.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TextIO

from django.utils import timezone

from accounts.models import Organization
from accounts.signing_demo import demo_sign
from awards.demo import office_user, user_of
from awards.models import AuditEntry
from bidding.demo import AWARDED_ROUND
from bidding.models import Opening
from contracts import services
from contracts.models import Contract, ContractLine
from contracts.progress import expected_by, month_start
from contracts.signatures import contract_signed_content
from procurement.models import Round
from procurement.notices import round_turn_notices_withdraw
from tender.demo import document_restate

S = Round.Status

# What a hospital has bought so far, recorded as last month's purchase: most hospitals
# are on schedule (the pro-rata volume of the days of the term begun); every fifth buys
# only 40% of it, so the progress pages show some behind schedule.
ON_SCHEDULE, BEHIND = Decimal("1.02"), Decimal("0.4")


def _contract(round_: Round) -> None:
    services.contracts_generate(round_=round_, by=office_user())


def _confirm(round_: Round) -> None:
    """Both parties confirm every contract, after the demo moved its dates (a signature
    covers the lines' dates: signing first would make the demo's own date change show as
    a contract altered after signing)."""
    for contract in Contract.objects.filter(round=round_).order_by("pk"):
        # Signed with the parties' public demo keys (accounts.signing_demo).
        for party, user in (
            ("hospital", user_of(contract.hospital_id)),
            ("manufacturer", user_of(contract.manufacturer_id)),
        ):
            content = contract_signed_content(contract=contract, party=party)
            contract = services.contract_confirm(
                contract=contract, by=user, signature=demo_sign(user, content)
            )


def _move_timetable_back(round_: Round) -> datetime.date:
    """Demo only: the round reads as run months ago; the term began on the first day of
    last month (contract lines and their end dates follow)."""
    now = timezone.now()
    starts = month_start(month_start(timezone.localdate()) - datetime.timedelta(days=1))
    opening = now - datetime.timedelta(days=70) + datetime.timedelta(hours=1)
    # The award's own records follow, so every page and PDF tells one story: bids opened
    # at the opening time, proposed winners published two days later, the objection
    # period (3 days) over, the award finalized an hour after it; all before the term.
    published = opening + datetime.timedelta(days=2)
    objection_ends = published + datetime.timedelta(days=3)
    Round.objects.filter(pk=round_.pk).update(
        demand_opens_at=now - datetime.timedelta(days=100),
        demand_closes_at=now - datetime.timedelta(days=80),
        bid_deadline=now - datetime.timedelta(days=70),
        opening_at=opening,
        objection_ends_at=objection_ends,
        contract_starts_on=starts,
    )
    Opening.objects.filter(round=round_).update(opened_at=opening)
    AuditEntry.objects.filter(round=round_, action="objection_period_opened").update(at=published)
    AuditEntry.objects.filter(round=round_, action="award_finalized").update(
        at=objection_ends + datetime.timedelta(hours=1)
    )
    Contract.objects.filter(round=round_).update(starts_on=starts)
    round_turn_notices_withdraw(round_)  # they would state the walk's times, not these
    lines = ContractLine.objects.filter(contract__round=round_)
    for years in set(lines.values_list("term_years", flat=True).distinct()):
        lines.filter(term_years=years).update(
            starts_on=starts, ends_on=services.term_end(starts, years)
        )
    return starts


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
    _contract(round_)
    round_.refresh_from_db()
    starts = _move_timetable_back(round_)
    _confirm(round_)
    document_restate(round_)
    round_.refresh_from_db()
    services.execution_start(round_=round_, by=office_user())
    purchases = _buy_one_month(round_, starts)
    stdout.write(
        f"contracts: {AWARDED_ROUND} {Contract.objects.filter(round=round_).count()} contracts "
        f"confirmed, {purchases} purchase lines for {starts:%Y-%m}\n"
    )

"""The demo's dates agree everywhere: the awarded round DEMO-2026-A1 is walked through on
the demo clock (``accounts.demo.demo_clock``), so every step it records, every receipt and
every date its pages and award-result PDF show happened in the order of its timetable;
the ceremony round's bids were sealed before its deadline. Once, the demo moved the
timetable back after the walk and the pages said "opened 2026-09-27" beside receipts,
declarations and confirmations dated today."""

from __future__ import annotations

import datetime
import re
import subprocess
import tempfile

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, demo_clock

pytestmark = pytest.mark.django_db

DATE = re.compile(r"\b(\d{4}-\d\d-\d\d)(?: (\d\d:\d\d))?\b")


def _shown(html: str) -> set[str]:
    """Every date (and time, China Standard Time) a page shows as text."""
    text = re.sub(r"<script.*?</script>|<[^>]+>", " ", html, flags=re.S)
    return {" ".join(filter(None, m.groups())) for m in DATE.finditer(text)}


def _local(at: datetime.datetime) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M}"


def _pdf_text(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return subprocess.run(
            ["pdftotext", "-layout", f.name, "-"], check=True, capture_output=True, text=True
        ).stdout


def test_the_demo_clock_runs_from_where_it_is_set_and_never_backwards() -> None:
    at = timezone.make_aware(datetime.datetime(2026, 8, 19, 9))
    with demo_clock(at) as clock:
        assert abs(timezone.now() - at) < datetime.timedelta(seconds=5)
        assert timezone.localdate() == datetime.date(2026, 8, 19)
        clock.travel_to(at + datetime.timedelta(days=3))
        assert timezone.now() >= at + datetime.timedelta(days=3)
        with pytest.raises(ValueError, match="does not run backwards"):
            clock.travel_to(at)
    assert timezone.now() > at + datetime.timedelta(days=30)  # the real clock again


def test_the_demo_rounds_dates_agree_everywhere() -> None:
    from accounts.models import Notification
    from awards.models import AuditEntry, EvaluationRun, ProvinceChoice, ProvinceSelection
    from bidding.models import BidVersion, CeremonyEvent, Opening
    from contracts.models import Contract, ContractLine, Purchase
    from procurement.models import DemandChange, Round
    from reports.models import ReportDocument
    from tender.models import ProcurementDocumentVersion

    call_command("seed_demo", verbosity=0)
    now = timezone.now()
    a1 = Round.objects.get(code="DEMO-2026-A1")
    opening = Opening.objects.get(round=a1)
    published = AuditEntry.objects.get(round=a1, action="objection_period_opened").at
    finalized = AuditEntry.objects.get(round=a1, action="award_finalized").at
    selection = ProvinceSelection.objects.get(round=a1)
    contracts = Contract.objects.filter(round=a1)
    starts = timezone.make_aware(datetime.datetime.combine(a1.contract_starts_on, datetime.time(0)))

    # The timetable, in order, and the contract term began last month.
    last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    assert a1.contract_starts_on == last_month
    assert (
        a1.created_at
        <= a1.demand_opens_at + datetime.timedelta(minutes=1)
        < a1.demand_closes_at
        < a1.bid_deadline
        < a1.opening_at
        <= opening.opened_at
        < published
        < a1.objection_ends_at
        < finalized
        < selection.opened_at
        < selection.closed_at
        < starts
        < now
    )
    # What each step recorded lies between the moments of the timetable around it.
    changes = DemandChange.objects.filter(round_item__round=a1).values_list("at", flat=True)
    assert changes and all(a1.demand_opens_at <= at <= a1.demand_closes_at for at in changes)
    document = ProcurementDocumentVersion.objects.get(round=a1, number=1)
    assert a1.demand_closes_at <= document.published_at < a1.bid_deadline
    versions = BidVersion.objects.filter(bid__round_item__round=a1)
    assert versions.count() == 12
    for version in versions:  # the receipts' server times, as hashed into the bid log
        assert document.published_at < version.server_time < a1.bid_deadline
    presented = CeremonyEvent.objects.filter(round=a1, kind="opened").values_list("at", flat=True)
    assert [_local(at) for at in presented] == [_local(opening.opened_at)]
    for run in EvaluationRun.objects.filter(round=a1):
        assert opening.opened_at < run.requested_at <= run.finished_at < starts  # type: ignore[operator]
    # The rule set's 3 days from publication.
    assert _local(a1.objection_ends_at) == _local(published + datetime.timedelta(days=3))
    picks = ProvinceChoice.objects.filter(selection=selection).values_list("at", flat=True)
    assert picks and all(selection.opened_at < at < selection.closed_at for at in picks)  # type: ignore[operator]
    for contract in contracts:
        assert selection.closed_at < contract.created_at  # type: ignore[operator]
        assert contract.created_at < contract.hospital_confirmed_at  # type: ignore[operator]
        assert contract.hospital_confirmed_at < contract.manufacturer_confirmed_at < starts  # type: ignore[operator]
        assert contract.starts_on == a1.contract_starts_on
    lines = ContractLine.objects.filter(contract__round=a1)
    assert set(lines.values_list("starts_on", flat=True)) == {a1.contract_starts_on}
    assert set(Purchase.objects.filter(contract__round=a1).values_list("month", flat=True)) == {
        a1.contract_starts_on
    }
    transitions = list(a1.transitions.order_by("pk").values_list("at", "to_status"))
    assert [at for at, _ in transitions] == sorted(at for at, _ in transitions)
    assert transitions[-1][1] == "in_execution" and transitions[-1][0] >= starts
    # Each notice was sent when its step was taken: none after the step that ends it.
    round_notices = Notification.objects.filter(dedupe_key__startswith=f"round:{a1.pk}:")
    assert all(n.created_at < starts for n in round_notices)

    # The pages: every date the round page, the openings list and the public pages show is
    # one of the round's own moments (or the figures' computation time, which is now).
    moments = {
        _local(at)
        for at in (
            a1.demand_opens_at,
            a1.demand_closes_at,
            document.published_at,
            a1.bid_deadline,
            a1.opening_at,
            opening.opened_at,
            published,
            a1.objection_ends_at,
            finalized,
            *(at for at, _ in transitions),
            *(run.finished_at for run in EvaluationRun.objects.filter(round=a1)),
        )
        if at is not None
    }
    days = {m[:10] for m in moments} | {f"{a1.contract_starts_on:%Y-%m-%d}"}
    office = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert office.login(username="office", password=DEMO_PASSWORD)
    round_page = _shown(office.get(reverse("procurement:round", args=[a1.code])).content.decode())
    assert _local(opening.opened_at) in round_page
    assert {d for d in round_page if " " in d} <= moments, {
        d for d in round_page if " " in d
    } - moments
    assert {d[:10] for d in round_page} <= days
    openings = _shown(office.get(reverse("bidding:openings")).content.decode())
    assert _local(opening.opened_at) in openings
    public = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    index = _shown(public.get(reverse("reports:public-index")).content.decode())
    assert f"{timezone.localtime(opening.opened_at):%Y-%m-%d}" in index
    assert {d[:10] for d in index} <= days
    documents = ReportDocument.objects.filter(round=a1, kind="award_result")
    assert documents.count() == 2
    for document_ in documents:
        assert finalized < document_.generated_at < starts
        text = _pdf_text(bytes(document_.content))
        in_pdf = {" ".join(filter(None, m.groups())) for m in DATE.finditer(text)}
        assert _local(opening.opened_at) in in_pdf and _local(a1.objection_ends_at) in in_pdf
        assert {d[:10] for d in in_pdf} <= days, {d[:10] for d in in_pdf} - days

    # The ceremony round: bids sealed before its deadline, which has passed.
    b1 = Round.objects.get(code="DEMO-2026-B1")
    assert b1.bid_deadline < b1.opening_at < now
    for version in BidVersion.objects.filter(bid__round_item__round=b1):
        assert b1.demand_closes_at < version.server_time < b1.bid_deadline
    b1_changes = DemandChange.objects.filter(round_item__round=b1).values_list("at", flat=True)
    assert all(b1.demand_opens_at <= at <= b1.demand_closes_at for at in b1_changes)

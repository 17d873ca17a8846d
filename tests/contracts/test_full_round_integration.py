"""A whole round on PostgreSQL with a real Celery worker: demand, sealed bids, the
public opening, the evaluation task, an upheld objection and a re-run, finalization,
and what follows it (province selection, contracts, purchases, a supplier switch)."""

from __future__ import annotations

import datetime
import subprocess
import time
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization, Region
from awards.models import BidResult, EvaluationRun, HospitalAllocation, Objection
from bidding.models import OpenedBid
from bidding.services import bid_submit
from catalog.models import FormGroup, ProductKind
from catalog.services import item_upsert, product_register, specification_upsert
from procurement.models import Round, RuleSet
from procurement.services import (
    DemandLine,
    demand_declare,
    round_close_demand,
    round_create,
    round_item_set_prices,
    round_open_bidding,
    round_open_demand,
    rule_set_load_presets,
)
from tests.ceremony import open_bids as round_open_bids
from tests.factories import TEST_PASSWORD, user_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
D = Decimal


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _wait_for_official(round_: Round, *, not_pk: int | None = None) -> EvaluationRun:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = EvaluationRun.objects.filter(round=round_, is_official=True).first()
        failed = EvaluationRun.objects.filter(round=round_, status="failed").first()
        assert failed is None, failed.error
        if run is not None and run.pk != not_pk:
            return run
        time.sleep(0.3)
    raise AssertionError("the evaluation did not finish on the worker within 120 s")


def _round_with_demand_and_bids():
    rule_set_load_presets()
    office = user_of(Organization.Kind.OFFICE)
    regions = [Region.objects.get(code=c) for c in ("11", "31", "44")]
    hospitals = [user_of(Organization.Kind.HOSPITAL, region=regions[i % 3]) for i in range(6)]
    makers = [user_of(Organization.Kind.MANUFACTURER) for _ in range(5)]
    item, _ = item_upsert(
        code="IT-ATV",
        kind=ProductKind.DRUG,
        name="阿托伐他汀钙片",
        name_en="Atorvastatin calcium tablets",
        generic_name="阿托伐他汀",
        form_group=FormGroup.ORAL_SOLID,
        unit_of_count="片",
        unit_of_count_en="tablet",
    )
    spec, _ = specification_upsert(
        item=item,
        code="20MG",
        label="20mg",
        strength_value=D(20),
        strength_unit="mg",
        pack_count=7,
        dosage_form="片剂",
        is_representative=True,
    )
    now = timezone.now()
    round_ = round_create(
        office=office.organization,
        code="IT-2026-D1",
        name="集成测试轮次",
        name_en="Integration round",
        kind=Round.Kind.DRUGS,
        rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
        regions=regions,
        demand_opens_at=now - datetime.timedelta(days=2),
        demand_closes_at=now + datetime.timedelta(hours=1),
        # The rule set's 20 days from publication (bidding opens) to the deadline.
        bid_deadline=now + datetime.timedelta(days=21),
        opening_at=now + datetime.timedelta(days=21, hours=1),
        objection_ends_at=now + datetime.timedelta(days=28),
        contract_starts_on=(now + datetime.timedelta(days=1)).date(),
        items=[item],
    )
    round_item = round_.items.get()
    round_item_set_prices(round_item=round_item, ceilings={spec: D("2.0000")})
    round_open_demand(round_=round_, by=office)
    for i, hospital in enumerate(hospitals):
        demand_declare(
            hospital=hospital.organization,
            round_=round_,
            lines=[
                DemandLine(item_code="IT-ATV", specification_code="20MG", quantity=10_000 * (i + 1))
            ],
            channel="web",
            by=hospital,
        )
    round_close_demand(round_=round_, by=office)
    round_open_bidding(round_=round_, by=office)
    for maker, price in zip(
        makers, ("0.4000", "0.5000", "0.6000", "1.2000", "2.5000"), strict=True
    ):
        product, _ = product_register(
            manufacturer=maker.organization,
            specification=spec,
            name=f"阿托伐他汀 {maker.organization.name}",
            name_en=f"Atorvastatin {maker.organization.name_en}",
            approval_number=f"国药准字H2098{maker.pk:04d}",
            is_consistency_evaluated=True,
        )
        bid_submit(
            round_item=round_item,
            specification=spec,
            product=product,
            unit_price=D(price),
            annual_capacity=5_000_000,
            by=maker,
        )
    later = timezone.now() + datetime.timedelta(days=21, hours=1, minutes=1)
    round_open_bids(round_=round_, by=office, now=later)
    round_.refresh_from_db()
    return office, hospitals, makers, round_, round_item


def test_a_full_round_through_every_state(celery_worker: subprocess.Popen[bytes]) -> None:
    from config.celery import app

    assert not app.conf.task_always_eager  # the evaluation goes through Redis to the worker
    office, hospitals, makers, round_, round_item = _round_with_demand_and_bids()
    assert round_.status == Round.Status.BIDS_OPENED
    office_client = _client(office)

    # Evaluation on the real worker, twice: the second run stores nothing new.
    office_client.post(reverse("awards:evaluate", args=[round_.pk]))
    first = _wait_for_official(round_)
    assert first.status == "done" and first.solver_status in {"optimal", "rule_only"}
    rows = HospitalAllocation.objects.filter(run=first).count()
    assert rows == 6
    # 0.4000, 0.5000, 0.6000 win (1.5 x the lowest, and cuts 70% from 2.0000); 1.2000 is
    # 3 x the lowest, cuts 40%: lost; 2.5000 is above the ceiling: invalid. N = 5, cap 4.
    outcomes = sorted(BidResult.objects.filter(run=first).values_list("unit_price", "outcome"))
    assert [o for _, o in outcomes] == ["won", "won", "won", "lost", "invalid"]
    # Agreed: 70% of 210,000 = 147,000 (by province, rounded half up).
    assert (
        sum(HospitalAllocation.objects.filter(run=first).values_list("quantity", flat=True))
        == 147_000
    )
    office_client.post(reverse("awards:evaluate", args=[round_.pk]))
    deadline = time.monotonic() + 60
    while EvaluationRun.objects.filter(round=round_, status__in=["queued", "running"]).exists():
        assert time.monotonic() < deadline
        time.sleep(0.3)
    again = EvaluationRun.objects.exclude(pk=first.pk).get(round=round_)
    assert again.same_as_id == first.pk
    assert HospitalAllocation.objects.count() == rows

    # Objection period; a rival objects; the office upholds it and the task re-runs.
    office_client.post(reverse("awards:objection-period", args=[round_.pk]))
    round_.refresh_from_db()
    assert round_.status == Round.Status.OBJECTION
    _client(makers[3]).post(
        reverse("awards:objection-new", args=[round_.pk]),
        {"round_item": round_item.pk, "text": "The lowest bidder's product lost its approval."},
    )
    objection = Objection.objects.get()
    cheapest = OpenedBid.objects.get(round_item=round_item, unit_price=D("0.4000"))
    office_client.post(
        reverse("awards:objection-answer", args=[objection.pk]),
        {
            "decision": "uphold",
            "answer": "Confirmed by the regulator.",
            "excluded_bid": cheapest.pk,
        },
    )
    second = _wait_for_official(round_, not_pk=first.pk)
    assert second.exclusions == [cheapest.pk]
    assert BidResult.objects.get(run=second, opened_bid=cheapest).outcome == "invalid"
    round_.refresh_from_db()
    assert round_.status == Round.Status.EVALUATED

    # Published again; finalize refused while an objection is open, then done.
    office_client.post(reverse("awards:objection-period", args=[round_.pk]))
    _client(hospitals[0]).post(
        reverse("awards:objection-new", args=[round_.pk]),
        {"round_item": round_item.pk, "text": "Please confirm the new volumes."},
    )
    page = office_client.post(reverse("awards:finalize", args=[round_.pk]), follow=True)
    assert "1 objection(s) are still open" in page.content.decode()
    open_objection = Objection.objects.get(status="open")
    office_client.post(
        reverse("awards:objection-answer", args=[open_objection.pk]),
        {"decision": "dismiss", "answer": "The volumes are as published."},
    )
    page = office_client.post(reverse("awards:finalize", args=[round_.pk]), follow=True)
    assert "runs until" in page.content.decode()  # the objection period (3 days) runs
    # The period has passed (moved back, no real waiting).
    # The whole timetable moves back with it (it stays in order: opening < objection end).
    now = timezone.now()
    Round.objects.filter(pk=round_.pk).update(
        demand_opens_at=now - datetime.timedelta(days=30),
        demand_closes_at=now - datetime.timedelta(days=25),
        bid_deadline=now - datetime.timedelta(days=5),
        opening_at=now - datetime.timedelta(days=5),
        objection_ends_at=now - datetime.timedelta(seconds=1),
    )
    office_client.post(reverse("awards:finalize", args=[round_.pk]))
    round_.refresh_from_db()
    assert round_.status == Round.Status.AWARDED
    public = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("awards:results", args=[round_.pk]))
    assert "Award results of round IT-2026-D1" in public.content.decode()

    # Province selection: the cheapest remaining winner picks two provinces, the other
    # winner never chooses; at the deadline the platform assigns its pick on the worker.
    from awards import services
    from awards.models import ProvinceAllocation
    from contracts import services as contract_services

    closes = timezone.now() + datetime.timedelta(hours=1)
    office_client.post(
        reverse("awards:selection-open", args=[round_.pk]),
        {"closes_at": timezone.localtime(closes).strftime("%Y-%m-%dT%H:%M")},
    )
    winners = list(
        BidResult.objects.filter(run=second, outcome="won")
        .order_by("rank")
        .select_related("manufacturer")
    )
    assert len(winners) == 2
    first_winner = next(m for m in makers if m.organization_id == winners[0].manufacturer_id)
    selection_url = reverse("awards:selection", args=[round_.pk])
    for code in ("44", "31"):
        _client(first_winner).post(selection_url, {"round_item": round_item.pk, "region": code})
    selection = round_.selection
    services.selection_deadline_check(now=closes + datetime.timedelta(minutes=1))
    third = _wait_for_official(round_, not_pk=second.pk)
    assert third.is_selection
    owners = dict(
        ProvinceAllocation.objects.filter(run=third).values_list("region__code", "manufacturer_id")
    )
    assert owners == {
        "44": winners[0].manufacturer_id,
        "31": winners[0].manufacturer_id,
        "11": winners[1].manufacturer_id,
    }
    selection.refresh_from_db()
    assert selection.status == "closed"

    # Contracts: drawn up, confirmed by a hospital then its supplier; the PDF is rendered
    # by the worker.
    from contracts.models import Contract

    office_client.post(reverse("contracts:contracts-generate", args=[round_.pk]))
    deadline = time.monotonic() + 60
    while not Contract.objects.filter(round=round_).exists():
        assert time.monotonic() < deadline, "the worker did not draw up the contracts"
        time.sleep(0.3)
    assert Contract.objects.filter(round=round_).count() == 6
    contract = Contract.objects.get(hospital=hospitals[0].organization)
    supplier = next(m for m in makers if m.organization_id == contract.manufacturer_id)
    _client(hospitals[0]).get(reverse("contracts:contract", args=[contract.pk]))
    deadline = time.monotonic() + 90
    while not Contract.objects.get(pk=contract.pk).pdf_ready:
        assert time.monotonic() < deadline, "the worker did not render the contract PDF"
        time.sleep(0.5)
    pdf = _client(hospitals[0]).get(reverse("contracts:contract-pdf", args=[contract.pk, "en"]))
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    for c in Contract.objects.filter(round=round_).select_related("hospital"):
        hospital_user = next(h for h in hospitals if h.organization_id == c.hospital_id)
        maker_user = next(m for m in makers if m.organization_id == c.manufacturer_id)
        _client(hospital_user).post(reverse("contracts:contract-confirm", args=[c.pk]))
        _client(maker_user).post(reverse("contracts:contract-confirm", args=[c.pk]))
    contract.refresh_from_db()
    assert contract.status == "confirmed" and contract.manufacturer_confirmed_by == supplier
    round_.refresh_from_db()
    assert round_.status == Round.Status.CONTRACTED
    office_client.post(reverse("contracts:execution-start", args=[round_.pk]))
    round_.refresh_from_db()
    assert round_.status == Round.Status.IN_EXECUTION

    # Execution: a month of purchases (one hospital far behind), the behind-schedule flag
    # and notification, then a supply failure switched to the backup supplier.
    from accounts.models import Notification
    from contracts.models import ContractLine, SupplyFailure

    Round.objects.filter(pk=round_.pk).update(
        contract_starts_on=timezone.localdate() - datetime.timedelta(days=90)
    )
    ContractLine.objects.filter(contract__round=round_).update(
        starts_on=timezone.localdate() - datetime.timedelta(days=90)
    )
    month = f"{timezone.localdate() - datetime.timedelta(days=60):%Y-%m}"
    for c in Contract.objects.filter(round=round_):
        hospital_user = next(h for h in hospitals if h.organization_id == c.hospital_id)
        line = ContractLine.objects.get(contract=c)
        quantity = 10 if c.pk == contract.pk else line.quantity // 3
        response = _client(hospital_user).post(
            reverse("contracts:purchases"),
            {"line": f"{c.number}|{round_item.item.code}", "month": month, "quantity": quantity},
        )
        assert response.status_code == 302
    page = office_client.get(reverse("contracts:progress")).content.decode()
    behind = page.split("<h2>Hospitals behind schedule</h2>")[1].split("</section>")[0]
    assert hospitals[0].organization.name_en in behind
    assert contract_services.behind_schedule_check(now=timezone.now()) == 1
    assert Notification.objects.filter(
        organization=hospitals[0].organization, kind="behind_schedule"
    ).exists()

    region = contract.hospital.region
    _client(hospitals[0]).post(
        reverse("contracts:supply-failure-new", args=[round_.pk]),
        {"round_item": round_item.pk, "region": region.pk, "description": "Nothing delivered."},
    )
    failure = SupplyFailure.objects.get()
    first_of_next = (timezone.localdate().replace(day=1) + datetime.timedelta(days=32)).replace(
        day=1
    )
    backup = next(w for w in winners if w.manufacturer_id != failure.manufacturer_id)
    office_client.post(
        reverse("contracts:supplier-switch", args=[failure.pk]),
        {"backup_bid": backup.opened_bid_id, "switch_from": f"{first_of_next:%Y-%m-%d}"},
    )
    failure.refresh_from_db()
    assert failure.status == "switched"
    contract.refresh_from_db()
    assert contract.current_version == 1
    assert ContractLine.objects.get(contract=contract, version=1).quantity == 10
    moved = Contract.objects.get(
        round=round_, hospital=contract.hospital, manufacturer_id=backup.manufacturer_id
    )
    assert ContractLine.objects.get(contract=moved).quantity == (
        ContractLine.objects.get(contract=contract, version=0).quantity - 10
    )

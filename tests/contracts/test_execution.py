"""Execution: purchases (form, upload with preview, all or nothing), progress against
agreed volume and the pro-rata schedule, behind-schedule flags, the supplier switch."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification, Organization, Region
from awards import services
from contracts import services as contract_services
from contracts.models import Contract, ContractLine, Purchase, SupplyFailure
from contracts.progress import line_progress, parse_month
from procurement.models import Round
from tests.awards.factories import OpenedRound, opened_round
from tests.factories import TEST_PASSWORD, user_of

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
STARTED = TODAY - datetime.timedelta(days=100)


def _client(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def in_execution(capture) -> OpenedRound:
    """The factory round with contracts that started 100 days ago, all confirmed."""
    built = opened_round()
    Round.objects.filter(pk=built.round.pk).update(contract_starts_on=STARTED)
    built.round.refresh_from_db()
    with capture(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    services.award_finalize(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    selection = services.selection_open(
        round_=built.round, by=built.office, closes_at=timezone.now() + datetime.timedelta(hours=1)
    )
    with capture(execute=True):
        services.selection_close(selection=selection, by=built.office)
    built.round.refresh_from_db()
    contract_services.contracts_generate(round_=built.round, by=built.office)
    for contract in Contract.objects.all():
        contract_services.contract_confirm(contract=contract, by=contract.hospital.users.first())
        contract_services.contract_confirm(contract=contract, by=built.makers[0])
    built.round.refresh_from_db()
    contract_services.execution_start(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.IN_EXECUTION
    return built


def _month(day: datetime.date) -> str:
    return f"{day:%Y-%m}"


def test_the_pro_rata_schedule() -> None:
    start = datetime.date(2027, 1, 1)
    end = datetime.date(2028, 12, 31)  # 731 days
    p = line_progress(agreed=7310, bought=300, starts_on=start, ends_on=end, today=start)
    assert (p.expected, p.elapsed, p.behind) == (10, 1, False)  # within the grace month
    p = line_progress(
        agreed=7310, bought=700, starts_on=start, ends_on=end, today=datetime.date(2027, 4, 10)
    )
    assert p.expected == 1000 and p.behind  # 700 < 80% of 1,000
    p = line_progress(
        agreed=7310, bought=800, starts_on=start, ends_on=end, today=datetime.date(2027, 4, 10)
    )
    assert not p.behind
    p = line_progress(agreed=100, bought=130, starts_on=start, ends_on=end, today=end)
    assert (p.expected, p.beyond_agreed, p.share_of_agreed) == (100, 30, Decimal("1.3"))
    assert parse_month("2027/3") == datetime.date(2027, 3, 1)
    assert parse_month("March") is None


def test_a_hospital_records_a_month_and_sees_its_progress(
    django_capture_on_commit_callbacks,
) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    contract = Contract.objects.get(hospital=hospital.organization)
    client = _client(hospital)
    response = client.post(
        reverse("contracts:purchases"),
        {
            "line": f"{contract.number}|{built.round_item.item.code}",
            "month": _month(STARTED),
            "quantity": "300",
        },
    )
    assert response.status_code == 302
    assert Purchase.objects.get().quantity == 300
    page = client.get(reverse("contracts:progress")).content.decode()
    # Agreed 4,200 over 2 years; 100 days in: 4,200 x 101 / 731 = 580.3 -> 580.
    line = ContractLine.objects.get(contract=contract)
    expected = line_progress(
        agreed=4200, bought=300, starts_on=line.starts_on, ends_on=line.ends_on, today=TODAY
    ).expected
    assert f"{expected:,}" in page
    assert "Behind schedule" in page
    # Again the same month: the figure is replaced, not added.
    client.post(
        reverse("contracts:purchases"),
        {
            "line": f"{contract.number}|{built.round_item.item.code}",
            "month": _month(STARTED),
            "quantity": "5000",
        },
    )
    assert Purchase.objects.get().quantity == 5000
    page = client.get(reverse("contracts:progress")).content.decode()
    assert "+800 beyond agreed" in page


def test_purchases_are_all_or_nothing_with_line_numbers(
    django_capture_on_commit_callbacks,
) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    own = Contract.objects.get(hospital=hospital.organization)
    other = Contract.objects.get(hospital=built.hospitals[1].organization)
    code = built.round_item.item.code
    future = TODAY + datetime.timedelta(days=40)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        contract_services.purchases_record(
            hospital=hospital.organization,
            by=hospital,
            lines=[
                contract_services.PurchaseLine(own.number, code, _month(STARTED), 100),
                contract_services.PurchaseLine(other.number, code, _month(STARTED), 100),
                contract_services.PurchaseLine(own.number, code, _month(future), 100),
                contract_services.PurchaseLine(own.number, code, "2020-01", 100),
                contract_services.PurchaseLine(own.number, "NOPE", _month(STARTED), 100),
                contract_services.PurchaseLine(own.number, code, _month(STARTED), 5),
            ],
            channel=Purchase.Channel.API,
        )
    assert exc.value.messages == [
        f"Line 2, 合同编号 (contract number): contract {other.number} is not one of your "
        "organization's contracts.",
        f"Line 3, 月份 (month): {_month(future)} has not begun yet.",
        f"Line 4, 月份 (month): 2020-01 is outside the contract term "
        f"{own.starts_on:%Y-%m-%d} to {ContractLine.objects.get(contract=own).ends_on:%Y-%m-%d}.",
        f"Line 5, 品种编码 (item code): item NOPE is not on contract {own.number}.",
        "Line 6: duplicate of row 1 (same contract, item and month).",
    ]
    assert Purchase.objects.count() == 0


def test_a_purchase_spreadsheet_is_previewed_then_committed(
    django_capture_on_commit_callbacks,
) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    own = Contract.objects.get(hospital=hospital.organization)
    code = built.round_item.item.code
    second = (STARTED.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    csv = (
        "合同编号,品种编码,月份,采购数量\n"
        f"{own.number},{code},{_month(STARTED)},1200\n"
        f"{own.number},{code},{_month(second)},400\n"
    ).encode("gb18030")
    client = _client(hospital)
    preview = client.post(
        reverse("contracts:purchases-upload"),
        {"file": SimpleUploadedFile("purchases.csv", csv, content_type="text/csv")},
    )
    text = preview.content.decode()
    assert preview.status_code == 200
    assert "2 rows: 2 new, 0 changed, 0 unchanged." in text
    assert Purchase.objects.count() == 0  # the preview writes nothing
    token = preview.context["token"]
    done = client.post(reverse("contracts:purchases-upload"), {"token": token})
    assert done.status_code == 302
    assert sorted(Purchase.objects.values_list("quantity", flat=True)) == [400, 1200]
    # The token is used up; another hospital cannot use it either.
    again = _client(built.hospitals[1]).post(
        reverse("contracts:purchases-upload"), {"token": token}
    )
    assert again.status_code == 302 and Purchase.objects.count() == 2

    bad = f"合同编号,品种编码,月份,采购数量\n{own.number},{code},{_month(STARTED)},-3\n"
    response = client.post(
        reverse("contracts:purchases-upload"),
        {"file": SimpleUploadedFile("bad.csv", bad.encode(), content_type="text/csv")},
    )
    assert response.status_code == 400
    assert "Row 2" in response.content.decode()
    assert "nothing was recorded" in response.content.decode()


def test_the_office_lists_hospitals_behind_schedule_and_they_are_told_once(
    django_capture_on_commit_callbacks,
) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    hospital.email = "pharmacy@example.org"
    hospital.save()
    own = Contract.objects.get(hospital=hospital.organization)
    contract_services.purchases_record(
        hospital=hospital.organization,
        by=hospital,
        lines=[
            contract_services.PurchaseLine(
                own.number, built.round_item.item.code, _month(STARTED), 100
            )
        ],
        channel=Purchase.Channel.WEB,
    )
    # The other two hospitals are on schedule.
    for user in built.hospitals[1:]:
        contract = Contract.objects.get(hospital=user.organization)
        contract_services.purchases_record(
            hospital=user.organization,
            by=user,
            lines=[
                contract_services.PurchaseLine(
                    contract.number, built.round_item.item.code, _month(STARTED), 4000
                )
            ],
            channel=Purchase.Channel.WEB,
        )
    page = _client(built.office).get(reverse("contracts:progress")).content.decode()
    behind = page.split("<h2>Hospitals behind schedule</h2>")[1].split("</section>")[0]
    assert hospital.organization.name_en in behind
    assert built.hospitals[1].organization.name_en not in behind
    with django_capture_on_commit_callbacks(execute=True):
        assert contract_services.behind_schedule_check(now=timezone.now()) == 1
    assert contract_services.behind_schedule_check(now=timezone.now()) == 0
    assert Notification.objects.filter(kind="behind_schedule").count() == 1
    assert mail.outbox[-1].to == ["pharmacy@example.org"]
    # No language chosen by the reader: the platform's default, Simplified Chinese.
    assert mail.outbox[-1].subject == "批次 T-2026-D1 的采购进度落后"


def test_a_supply_failure_switches_the_province_to_the_backup(
    django_capture_on_commit_callbacks,
) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    beijing_a, beijing_b, shanghai = built.hospitals
    item = built.round_item
    contract_a = Contract.objects.get(hospital=beijing_a.organization)
    contract_services.purchases_record(
        hospital=beijing_a.organization,
        by=beijing_a,
        lines=[
            contract_services.PurchaseLine(contract_a.number, item.item.code, _month(STARTED), 1000)
        ],
        channel=Purchase.Channel.WEB,
    )
    response = _client(beijing_b).post(
        reverse("contracts:supply-failure-new", args=[built.round.pk]),
        {
            "round_item": item.pk,
            "region": Region.objects.get(code="11").pk,
            "description": "No deliveries for 6 weeks.",
        },
    )
    assert response.status_code == 302
    failure = SupplyFailure.objects.get()
    assert failure.manufacturer == built.makers[0].organization
    switch_from = (TODAY.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    url = reverse("contracts:supplier-switch", args=[failure.pk])
    assert _client(beijing_b).get(url).status_code == 403
    assert _client(user_of(Organization.Kind.OFFICE)).get(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(built.office).post(
            url, {"backup_bid": built.bids[1].pk, "switch_from": f"{switch_from:%Y-%m-%d}"}
        )
    assert response.status_code == 302
    failure.refresh_from_db()
    assert failure.status == SupplyFailure.Status.SWITCHED

    # Beijing A keeps what it bought (1,000); the other 3,200 go to the backup at 0.1500.
    contract_a.refresh_from_db()
    assert contract_a.current_version == 1
    assert ContractLine.objects.get(contract=contract_a, version=1).quantity == 1000
    assert ContractLine.objects.get(contract=contract_a, version=0).quantity == 4200
    backup_a = Contract.objects.get(
        hospital=beijing_a.organization, manufacturer=built.makers[1].organization
    )
    line = ContractLine.objects.get(contract=backup_a)
    assert (line.quantity, line.unit_price, line.amount) == (
        3200,
        Decimal("0.15"),
        Decimal("480.00"),
    )
    assert line.starts_on == switch_from
    assert backup_a.status == Contract.Status.AWAITING_HOSPITAL
    backup_b = Contract.objects.get(
        hospital=beijing_b.organization, manufacturer=built.makers[1].organization
    )
    assert ContractLine.objects.get(contract=backup_b).quantity == 2800
    # Shanghai is untouched.
    assert Contract.objects.get(hospital=shanghai.organization).current_version == 0
    assert Notification.objects.filter(kind="supplier_switched").count() == 4
    assert {n.organization_id for n in Notification.objects.filter(kind="supplier_switched")} == {
        beijing_a.organization_id,
        beijing_b.organization_id,
        built.makers[0].organization_id,
        built.makers[1].organization_id,
    }
    # Handled once.
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        contract_services.supplier_switch(failure=failure, by=built.office, switch_from=switch_from)
    assert exc.value.messages == ["This supply failure has already been handled."]


def test_execution_pages_by_role(django_capture_on_commit_callbacks) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    hospital, other_hospital = built.hospitals[0], built.hospitals[1]
    purchases = reverse("contracts:purchases")
    assert _client(hospital).get(purchases).status_code == 200
    assert _client(built.office).get(purchases).status_code == 403
    assert _client(built.makers[0]).get(purchases).status_code == 403
    assert _client().get(purchases).status_code == 302
    own = Contract.objects.get(hospital=hospital.organization)
    progress = reverse("contracts:progress") + "?detail=lines"
    assert own.number in _client(hospital).get(progress).content.decode()
    assert own.number not in _client(other_hospital).get(progress).content.decode()
    assert own.number in _client(built.makers[0]).get(progress).content.decode()
    assert own.number not in _client(built.makers[1]).get(progress).content.decode()
    assert own.number in _client(built.office).get(progress).content.decode()
    assert _client().get(progress).status_code == 302
    new_failure = reverse("contracts:supply-failure-new", args=[built.round.pk])
    assert _client(built.makers[1]).get(new_failure).status_code == 404  # no contract there
    assert _client(hospital).get(new_failure).status_code == 200


def test_the_pages_render_in_chinese_too(django_capture_on_commit_callbacks) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    contract = Contract.objects.get(hospital=built.hospitals[0].organization)
    for user, names in (
        (built.office, ["contracts:progress", "contracts:contracts", "contracts:supply-failures"]),
        (built.hospitals[0], ["contracts:purchases", "awards:mine", "contracts:notifications"]),
    ):
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert client.login(username=user.username, password=TEST_PASSWORD)
        for name in names:
            response = client.get(reverse(name))
            assert response.status_code == 200, name
        page = client.get(reverse("contracts:contract", args=[contract.pk]))
        assert page.status_code == 200
    results = Client().get(reverse("awards:results", args=[built.round.pk]))  # default zh
    assert "北京市" in results.content.decode()
    award = Client().get(
        reverse("awards:round", args=[built.round.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert award.status_code == 302  # anonymous: to sign in

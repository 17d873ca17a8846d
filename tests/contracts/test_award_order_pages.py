"""The award and contract pages in the order the work happens: contracts only once province
selection is done (and what has to happen first until then), pages that update themselves
while something is pending (the contract PDF, the drawing up of contracts), and
server-side pages of every list that grows. The award's side (provisional allocations,
the province draft, objections and runs) is tests/awards/test_award_order_pages.py."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification, Organization
from awards import services
from awards.models import (
    AuditEntry,
    HospitalAllocation,
)
from contracts import services as contract_services
from contracts.models import Contract, Purchase
from tests.awards.factories import OpenedRound
from tests.awards.test_award_order_pages import _awarded, _client, _htmx, _open_selection
from tests.contracts.test_execution import STARTED, in_execution

pytestmark = pytest.mark.django_db


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# --- 1. Drawing up the contracts: only when allowed --------------------------------------


def test_the_award_page_says_what_must_happen_before_the_contracts(
    django_capture_on_commit_callbacks,
) -> None:
    built = _awarded(django_capture_on_commit_callbacks)
    round_page = reverse("awards:round", args=[built.round.pk])
    generate = reverse("contracts:contracts-generate", args=[built.round.pk])
    office = _client(built.office)

    page = office.get(round_page).content.decode()
    assert generate not in page and "Draw up the contracts" not in page
    assert "Open the province selection first" in page

    selection = _open_selection(built)
    page = office.get(round_page).content.decode()
    assert generate not in page
    # The window's end, in China Standard Time.
    assert f"Province selection is open until {_local(selection.closes_at)}" in page
    assert "(China Standard Time)" in page

    # Posted early anyway: refused with the same words, nothing queued, no error page.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = office.post(generate, follow=True)
    assert response.status_code == 200 and not callbacks
    assert f"Province selection is open until {_local(selection.closes_at)}" in (
        response.content.decode()
    )
    assert not AuditEntry.objects.filter(action=contract_services.CONTRACTS_REQUESTED).exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.selection_close(selection=selection, by=built.office)
    page = office.get(round_page).content.decode()
    assert generate in page and "Draw up the contracts" in page


def test_the_service_refuses_early_contracts_with_the_reason(
    django_capture_on_commit_callbacks,
) -> None:
    built = _awarded(django_capture_on_commit_callbacks)
    selection = _open_selection(built)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        contract_services.contracts_generate_request(round_=built.round, by=built.office)
    assert exc.value.messages == [
        f"Province selection is open until {_local(selection.closes_at)} (China Standard "
        "Time). Contracts can be drawn up once it has closed and the provinces are allocated."
    ]
    # The window has passed but the minute check has not closed it yet.
    later = selection.closes_at + datetime.timedelta(seconds=1)
    with translation.override("en"):
        blocker = contract_services.contracts_generate_blocker(round_=built.round, now=later)
    assert blocker.startswith(
        f"The province selection window ended at {_local(selection.closes_at)}"
    )
    # Closed, the allocation not run yet (its task not executed).
    services.selection_close(selection=selection, by=built.office)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        contract_services.contracts_generate(round_=built.round, by=built.office)
    assert exc.value.messages == ["省份选择后的分配正在进行；分配完成后即可生成合同。"]
    assert not Contract.objects.exists()


def test_drawing_up_is_shown_pending_and_the_page_reloads_when_done(
    django_capture_on_commit_callbacks,
) -> None:
    built = _awarded(django_capture_on_commit_callbacks)
    selection = _open_selection(built)
    with django_capture_on_commit_callbacks(execute=True):
        services.selection_close(selection=selection, by=built.office)
    office, poll = _client(built.office), _htmx(built.office)
    status = reverse("contracts:contracts-status", args=[built.round.pk])
    generate = reverse("contracts:contracts-generate", args=[built.round.pk])

    with django_capture_on_commit_callbacks(execute=False) as queued:
        office.post(generate)
    assert len(queued) == 1  # the task, not run yet
    page = office.get(reverse("awards:round", args=[built.round.pk])).content.decode()
    assert "The contracts are being drawn up" in page
    assert f'hx-get="{status}"' in page and 'hx-trigger="every 3s"' in page
    assert "Draw up the contracts</button>" not in page
    # Asking twice while the task is pending queues nothing more.
    with django_capture_on_commit_callbacks(execute=False) as again:
        response = office.post(generate, follow=True)
    assert not again
    assert "already being drawn up" in response.content.decode()

    pending = poll.get(status)
    assert pending.status_code == 200 and 'hx-trigger="every 3s"' in pending.content.decode()
    # A task that never finishes: after half an hour the button is offered again.
    AuditEntry.objects.filter(action=contract_services.CONTRACTS_REQUESTED).update(
        at=timezone.now() - datetime.timedelta(minutes=31)
    )
    stalled = poll.get(status)
    assert stalled.status_code == 204 and stalled["HX-Refresh"] == "true"
    page = office.get(reverse("awards:round", args=[built.round.pk])).content.decode()
    assert "have not been drawn up; the background task may have stopped" in page
    assert "Draw up the contracts</button>" in page
    queued[0]()  # the worker draws them up after all: one contract per hospital and supplier
    pairs = set(
        HospitalAllocation.objects.filter(run__round=built.round, run__is_official=True)
        .values_list("hospital_id", "manufacturer_id")
        .distinct()
    )
    assert Contract.objects.filter(round=built.round).count() == len(pairs) == 4
    done = poll.get(status)
    assert done.status_code == 204 and done["HX-Refresh"] == "true"
    page = office.get(reverse("awards:round", args=[built.round.pk])).content.decode()
    assert "The contracts are being drawn up" not in page
    assert f"{reverse('contracts:contracts')}?round={built.round.pk}" in page
    assert office.get(status)["Location"] == reverse("awards:round", args=[built.round.pk])
    # Only the round's office polls it.
    assert _htmx(built.hospitals[0]).get(status).status_code == 403


# --- 2. The contract PDF appears by itself --------------------------------------------------


def _contracted(capture) -> OpenedRound:
    built = _awarded(capture, demand=(("11", 6000), ("11", 4000), ("31", 10000)))
    selection = _open_selection(built)
    with capture(execute=True):
        services.selection_close(selection=selection, by=built.office)
    assert contract_services.contracts_generate(round_=built.round, by=built.office) == 3
    return built


def test_the_contract_pdf_is_polled_until_ready(
    django_capture_on_commit_callbacks, tmp_path, settings
) -> None:
    settings.MEDIA_ROOT = tmp_path
    built = _contracted(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    contract = Contract.objects.get(hospital=hospital.organization)
    status = reverse("contracts:contract-pdf-status", args=[contract.pk])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        page = _client(hospital).get(reverse("contracts:contract", args=[contract.pk]))
    html = page.content.decode()
    assert len(queued) == 1
    assert f'hx-get="{status}?since=' in html and 'hx-trigger="every 2s"' in html
    assert "PDF being prepared" in html and "PDF (English)" not in html
    assert '<div aria-live="polite">' in html

    pending = _htmx(hospital).get(status).content.decode()
    assert 'hx-trigger="every 2s"' in pending and "PDF (English)" not in pending
    queued[0]()  # the worker renders both PDFs
    ready = _htmx(hospital).get(status).content.decode()
    assert "hx-trigger" not in ready
    assert reverse("contracts:contract-pdf", args=[contract.pk, "en"]) in ready
    assert reverse("contracts:contract-pdf", args=[contract.pk, "zh"]) in ready
    # Without htmx it is the contract page; another hospital does not learn it exists.
    assert _client(hospital).get(status)["Location"] == reverse(
        "contracts:contract", args=[contract.pk]
    )
    assert _htmx(built.hospitals[2]).get(status).status_code == 404


def test_contract_lines_show_the_unit_of_count_in_the_readers_language(
    django_capture_on_commit_callbacks,
) -> None:
    built = _contracted(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    contract = Contract.objects.get(hospital=hospital.organization)
    url = reverse("contracts:contract", args=[contract.pk])
    with django_capture_on_commit_callbacks(execute=False):
        english = _client(hospital).get(url).content.decode()
        chinese = _client(hospital, "zh-hans").get(url).content.decode()
    # The unit of count follows the agreed volume (in smallest units, with the packs).
    assert "Agreed volume (smallest units)</th>" in english
    assert re.search(r"[\d,]+ tablet</td>", english)
    assert re.search(r"[\d,]+ 片</td>", chinese)


# --- 3. Server-side pages ------------------------------------------------------------------


def _hospitals(count: int, region_id: int, prefix: str) -> list[Organization]:
    return Organization.objects.bulk_create(
        Organization(
            kind=Organization.Kind.HOSPITAL,
            name=f"{prefix}医院{n:03d}",
            name_en=f"{prefix} hospital {n:03d}",
            social_credit_code=f"1211{prefix[:4].upper():>4}{n:09d}X",
            region_id=region_id,
            hospital_grade=2,
        )
        for n in range(count)
    )


def _more_contracts(built: OpenedRound, count: int) -> None:
    """Copies of the round's first contract under new numbers, with new hospitals."""
    first = Contract.objects.filter(round=built.round).order_by("number").first()
    assert first is not None
    hospitals = _hospitals(count, first.hospital.region_id, "More")
    now = timezone.now()
    confirmed = {
        "status": Contract.Status.CONFIRMED,
        "hospital_confirmed_at": now,
        "hospital_confirmed_by": built.hospitals[0],
        "manufacturer_confirmed_at": now,
        "manufacturer_confirmed_by": built.makers[0],
    }
    Contract.objects.bulk_create(
        Contract(
            round=built.round,
            run=first.run,
            number=f"{built.round.code}-HT9{n:05d}",
            hospital_id=hospitals[n].pk,
            manufacturer_id=first.manufacturer_id,
            starts_on=first.starts_on,
            total=first.total,
            **(confirmed if n % 2 else {}),
        )
        for n in range(count)
    )


def test_the_contract_list_pages_filters_and_searches_on_the_server(
    django_capture_on_commit_callbacks,
) -> None:
    built = _contracted(django_capture_on_commit_callbacks)
    _more_contracts(built, 120)  # 123 in all: 63 awaiting the hospital, 60 confirmed
    office = _client(built.office)
    url = reverse("contracts:contracts")
    page = office.get(url).content.decode()
    assert "Rows 1–50 of 123" in page and "Page 1 of 3" in page
    assert len(re.findall(r'<a href="/awards/contracts/\d+/">', page)) == 50
    assert 'data-filter="off"' in page  # the table's own filter would see one page only

    page = office.get(url, {"status": "confirmed", "page": "2"}).content.decode()
    assert "Rows 51–60 of 60" in page
    assert 'href="?status=confirmed&amp;page=1" rel="prev"' in page

    page = office.get(url, {"q": "HT900007"}).content.decode()
    assert "Rows 1–1 of 1" in page and "T-2026-D1-HT900007" in page
    name = built.hospitals[2].organization.name_en
    page = office.get(url, {"q": name}).content.decode()
    assert "Rows 1–1 of 1" in page and 'value="' + name + '"' in page
    page = office.get(url, {"q": "no such contract"}).content.decode()
    assert "No contracts match." in page
    page = office.get(url, {"round": str(built.round.pk)}).content.decode()
    assert "of 123" in page
    # The other parties' lists stay their own.
    page = _client(built.hospitals[1]).get(url).content.decode()
    assert "Rows 1–1 of 1" in page


def test_notifications_page_and_only_the_shown_ones_are_marked_read(
    django_capture_on_commit_callbacks,
) -> None:
    built = _contracted(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    org = hospital.organization
    Notification.objects.filter(organization=org).delete()
    Notification.objects.bulk_create(
        Notification(
            organization=org,
            kind=Notification.Kind.CONTRACT_TO_CONFIRM,
            subject="Note %(n)s",
            body="Body %(n)s",
            params={"n": n},
            dedupe_key=f"test:{n}",
        )
        for n in range(60)
    )
    page = _client(hospital).get(reverse("contracts:notifications")).content.decode()
    assert "Rows 1–50 of 60" in page
    assert Notification.objects.filter(organization=org, read_at__isnull=True).count() == 10
    page = _client(hospital).get(reverse("contracts:notifications"), {"page": 2}).content
    assert page.decode().count(">New</span>") == 10
    assert not Notification.objects.filter(organization=org, read_at__isnull=True).exists()


def test_hospital_allocations_page_and_search(django_capture_on_commit_callbacks) -> None:
    built = _contracted(django_capture_on_commit_callbacks)
    maker = built.makers[0]
    template = HospitalAllocation.objects.filter(manufacturer=maker.organization).first()
    assert template is not None
    template_fields = {
        f.attname: getattr(template, f.attname)
        for f in HospitalAllocation._meta.concrete_fields
        if f.attname != "id"
    }
    # The same allocation for 80 more hospitals of the same province.
    hospitals = _hospitals(80, template.region_id, "Paged")
    HospitalAllocation.objects.bulk_create(
        HospitalAllocation(**{**template_fields, "hospital_id": h.pk}) for h in hospitals
    )
    url = reverse("awards:mine")
    page = _client(maker).get(url).content.decode()
    assert "Rows 1–50 of 83" in page and "Page 1 of 2" in page
    assert 'id="allocations-q"' in page and "Hospital, item or round</label>" in page
    page = _client(maker).get(url, {"q": "Paged hospital 07"}).content.decode()
    assert "Rows 1–10 of 10" in page and "Paged hospital 079" in page
    # A hospital still sees only its own.
    page = _client(built.hospitals[0]).get(url).content.decode()
    assert "Rows 1–1 of 1" in page and "Paged hospital" not in page


# --- 4. Header cells ------------------------------------------------------------------------


def test_every_header_cell_of_the_contract_pages_has_a_scope(
    django_capture_on_commit_callbacks,
) -> None:
    built = _contracted(django_capture_on_commit_callbacks)
    contract = Contract.objects.get(hospital=built.hospitals[0].organization)
    pages = {
        built.office: [
            reverse("awards:round", args=[built.round.pk]),
            reverse("contracts:contracts"),
            reverse("awards:objections"),
            reverse("contracts:notifications"),
            reverse("contracts:supply-failures"),
            reverse("contracts:contract", args=[contract.pk]),
            reverse("awards:selection", args=[built.round.pk]),
        ],
        built.hospitals[0]: [reverse("awards:mine"), reverse("contracts:purchases")],
        built.makers[0]: [reverse("awards:mine")],
    }
    for user, urls in pages.items():
        for url in urls:
            with django_capture_on_commit_callbacks(execute=False):
                html = _client(user).get(url).content.decode()
            cells = re.findall(r"<th\b[^>]*>", html)
            assert cells, url
            missing = [c for c in cells if "scope=" not in c]
            assert not missing, (url, missing)


def test_purchases_page_with_units_pages_and_search(django_capture_on_commit_callbacks) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    contract = Contract.objects.get(hospital=hospital.organization)
    first = STARTED.replace(day=1)
    Purchase.objects.bulk_create(
        Purchase(
            contract=contract,
            round_item=built.round_item,
            month=(first - datetime.timedelta(days=31 * n)).replace(day=1),
            quantity=100 + n,
            channel=Purchase.Channel.WEB,
            recorded_by=hospital,
        )
        for n in range(60)
    )
    url = reverse("contracts:purchases")
    page = _client(hospital).get(url).content.decode()
    assert "Rows 1–50 of 60" in page
    assert f"{contract.number} · {built.round_item.item.code}" in page
    assert "(tablet) · " in page  # the unit beside the item in the form's choices
    assert "Unit of count</th>" in page and "<td>tablet</td>" in page
    assert 'id="purchases-q"' in page and "Contract number or item</label>" in page
    page = _client(hospital).get(url, {"q": contract.number, "page": "2"}).content.decode()
    assert "Rows 51–60 of 60" in page
    assert f'href="?q={contract.number}&amp;page=1" rel="prev"' in page
    page = _client(hospital).get(url, {"q": "XYZ-NOTHING"}).content.decode()
    assert "No purchases match." in page
    # Another hospital sees none of them.
    assert "No purchases recorded yet." in _client(built.hospitals[1]).get(url).content.decode()

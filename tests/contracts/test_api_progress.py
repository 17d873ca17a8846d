"""GET /api/v1/progress/: the progress page's aggregate figures, a page at a time, each
role reading only its own lines."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.pagination import PageNumberPagination
from rest_framework.test import APIClient

from accounts.models import Organization
from contracts.models import Contract, ContractLine, Purchase
from tests.contracts import reference_progress
from tests.contracts.test_execution import STARTED
from tests.contracts.test_progress_aggregates import _setup
from tests.factories import TEST_PASSWORD, user_of

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def _all_pages(user, **params) -> list[dict]:
    """Every row, following ``next`` from the first page."""
    response = api(user).get(reverse("api-progress"), params)
    assert response.status_code == 200, response.content
    body = response.json()
    rows = list(body["results"])
    while body["next"]:
        body = api(user).get(body["next"]).json()
        rows.extend(body["results"])
    return rows


def _rival_contract(built) -> Contract:
    """A second winner's confirmed contract with the first hospital, so that two
    manufacturers hold lines in the round (the factory round's cheapest winner holds
    both provinces)."""
    hospital, rival = built.hospitals[0], built.makers[1]
    bid = next(b for b in built.bids if b.manufacturer_id == rival.organization_id)
    now = timezone.now()
    contract = Contract.objects.create(
        round=built.round,
        run=Contract.objects.filter(round=built.round).first().run,
        number="T-RIVAL-0001",
        hospital=hospital.organization,
        manufacturer=rival.organization,
        starts_on=STARTED,
        total=Decimal("150.00"),
        status=Contract.Status.CONFIRMED,
        hospital_confirmed_at=now,
        hospital_confirmed_by=hospital,
        manufacturer_confirmed_at=now,
        manufacturer_confirmed_by=rival,
    )
    ContractLine.objects.create(
        contract=contract,
        round_item=built.round_item,
        opened_bid=bid,
        region=hospital.organization.region,
        quantity=1000,
        unit_price=Decimal("0.150000"),
        amount=Decimal("150.00"),
        term_years=2,
        starts_on=STARTED,
        ends_on=STARTED.replace(year=STARTED.year + 2) - datetime.timedelta(days=1),
    )
    Purchase.objects.create(
        contract=contract,
        round_item=built.round_item,
        month=STARTED.replace(day=1),
        quantity=40,
        recorded_by=hospital,
        channel=Purchase.Channel.WEB,
    )
    return contract


@pytest.fixture
def built(django_capture_on_commit_callbacks):
    built = _setup(django_capture_on_commit_callbacks)
    _rival_contract(built)
    return built


def _expected(contracts) -> list[dict]:
    """The per-line figures of ``contracts.progress`` (Python), as the API writes them."""
    rows = reference_progress.progress_lines(contracts=contracts, today=timezone.localdate())
    return [
        {
            "contract_number": r.contract_number,
            "item": r.item.code,
            "agreed": r.progress.agreed,
            "bought": r.progress.bought,
            "expected_by_today": r.progress.expected,
            "beyond_agreed": r.progress.beyond_agreed,
            "behind_schedule": r.progress.behind,
        }
        for r in rows
    ]


def test_each_role_reads_only_its_own_lines(built) -> None:
    confirmed = Contract.objects.filter(status=Contract.Status.CONFIRMED)
    hospital, other_hospital = built.hospitals[0], built.hospitals[1]
    winner, rival, loser = built.makers[0], built.makers[1], built.makers[2]

    office_rows = _all_pages(built.office)
    assert office_rows == _expected(confirmed)
    assert len(office_rows) == 4

    own = _all_pages(hospital)
    assert own == _expected(confirmed.filter(hospital=hospital.organization))
    assert {r["contract_number"] for r in own} == {
        Contract.objects.get(
            hospital=hospital.organization, manufacturer=winner.organization
        ).number,
        "T-RIVAL-0001",
    }
    assert "T-RIVAL-0001" not in {r["contract_number"] for r in _all_pages(other_hospital)}

    assert [r["contract_number"] for r in _all_pages(rival)] == ["T-RIVAL-0001"]
    assert "T-RIVAL-0001" not in {r["contract_number"] for r in _all_pages(winner)}
    assert len(_all_pages(winner)) == 3
    assert _all_pages(loser) == []
    assert _all_pages(user_of(Organization.Kind.OFFICE)) == []  # another office's rounds
    assert api().get(reverse("api-progress")).status_code in {401, 403}


def test_the_figures_are_the_per_line_schedule_rules(built) -> None:
    rows = {r["contract_number"]: r for r in _all_pages(built.office)}
    rival = rows["T-RIVAL-0001"]
    # 1,000 agreed over a 2-year term, 101 days begun: 1000 x 101 / 731 = 138.2 -> 138.
    term = (STARTED.replace(year=STARTED.year + 2) - STARTED).days
    assert rival["expected_by_today"] == round(1000 * 101 / term)
    assert (rival["agreed"], rival["bought"], rival["beyond_agreed"]) == (1000, 40, 0)
    assert rival["behind_schedule"] is True  # 40 < 80% of the pro-rata volume
    beyond = [r for r in rows.values() if r["beyond_agreed"]]
    assert [(r["bought"], r["agreed"], r["beyond_agreed"]) for r in beyond] == [(9000, 2923, 6077)]


def test_the_lines_of_a_round_are_chosen_by_its_code(built) -> None:
    assert len(_all_pages(built.office, round=built.round.code)) == 4
    assert _all_pages(built.office, round="NO-SUCH-ROUND") == []


def test_the_api_pages_follow_one_another_without_gaps(built, monkeypatch) -> None:
    monkeypatch.setattr(PageNumberPagination, "page_size", 3)
    first = api(built.office).get(reverse("api-progress")).json()
    assert first["count"] == 4 and len(first["results"]) == 3 and first["previous"] is None
    second = api(built.office).get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    numbers = [r["contract_number"] for r in first["results"] + second["results"]]
    assert numbers == sorted(numbers)
    assert _all_pages(built.office) == _expected(Contract.objects.all())
    assert api(built.office).get(reverse("api-progress"), {"page": 9}).status_code == 404


def test_the_api_figures_equal_the_progress_pages(built) -> None:
    """The lines of the progress page (``detail=lines``) and the API's, for each role."""
    for user in (built.office, built.hospitals[0], built.makers[0], built.makers[1]):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        assert client.login(username=user.username, password=TEST_PASSWORD)
        response = client.get(reverse("contracts:progress"), {"detail": "lines", "per_page": 200})
        page = [
            (
                r.contract_number,
                r.item.code,
                r.progress.agreed,
                r.progress.bought,
                r.progress.expected,
                r.progress.beyond_agreed,
                r.progress.behind,
            )
            for r in response.context["page_obj"].object_list
        ]
        assert page, user.username
        served = [tuple(r.values()) for r in _all_pages(user)]
        assert served == page, user.username


def test_the_number_of_queries_does_not_grow_with_the_lines(built) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api(built.office).get(reverse("api-progress")).status_code == 200
        return len(captured.captured_queries)

    before = queries()
    template = ContractLine.objects.get(contract__number="T-RIVAL-0001")
    for n in range(1, 30):
        hospital = user_of(Organization.Kind.HOSPITAL)
        contract = Contract.objects.get(number="T-RIVAL-0001")
        contract.pk, contract.number, contract.hospital = (
            None,
            f"T-MORE-{n:04d}",
            hospital.organization,
        )
        contract.save()
        template.pk, template.contract = None, contract
        template.save()
    assert len(_all_pages(built.office)) == 33
    assert queries() == before


def test_the_openapi_schema_describes_the_pages_of_lines() -> None:
    response = Client().get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = response.json()
    get = schema["paths"]["/api/v1/progress/"]["get"]
    assert {p["name"] for p in get["parameters"]} == {"page", "round"}
    paginated = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert paginated == "#/components/schemas/PaginatedProgressList"
    row = schema["components"]["schemas"]["Progress"]["properties"]
    assert list(row) == [
        "contract_number",
        "item",
        "agreed",
        "bought",
        "expected_by_today",
        "beyond_agreed",
        "behind_schedule",
    ]

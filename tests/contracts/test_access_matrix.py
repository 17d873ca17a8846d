"""Every page and API endpoint of the awards app, for every role: the round's office,
another office, the hospital concerned, another hospital, the winning manufacturer, a
rival manufacturer, and an anonymous visitor.

Codes: 200 (or 302 for a POST that did its work), 302 to sign-in for anonymous pages,
401/403 for anonymous API calls, 403 for a role the page is not for, 404 for an object of
another party (its existence is not revealed).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Organization, Region
from awards.models import EvaluationRun, Objection
from contracts import services
from contracts.models import Contract, SupplyFailure
from tests.contracts.test_execution import in_execution
from tests.factories import TEST_PASSWORD, user_of

pytestmark = pytest.mark.django_db

ROLES = ("office", "other_office", "hospital", "other_hospital", "winner", "rival", "anonymous")
OK, FORBIDDEN, HIDDEN, LOGIN = 200, 403, 404, "login"


def _page_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _api_client(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def _matches(expected: object, response, *, api: bool) -> bool:
    code = response.status_code
    if expected == LOGIN:
        if api:
            return code in (401, 403)
        return code == 302 and "/login/" in response["Location"]
    return code == expected


def test_every_page_and_endpoint_by_role(django_capture_on_commit_callbacks) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    users = {
        "office": built.office,
        "other_office": user_of(Organization.Kind.OFFICE),
        "hospital": built.hospitals[0],
        "other_hospital": built.hospitals[1],
        "winner": built.makers[0],
        "rival": built.makers[1],
        "anonymous": None,
    }
    round_id = built.round.pk
    run = EvaluationRun.objects.filter(round=built.round).order_by("pk").first()
    contract = Contract.objects.get(hospital=built.hospitals[0].organization)
    objection = Objection.objects.create(
        round=built.round,
        run=run,
        round_item=built.round_item,
        organization=built.makers[3].organization,
        filed_by=built.makers[3],
        text="late objection kept for the record",
    )
    failure = services.supply_failure_report(
        round_=built.round,
        round_item_id=built.round_item.pk,
        region=Region.objects.get(code="11"),
        by=built.hospitals[0],
        description="late deliveries",
    )
    assert isinstance(failure, SupplyFailure)
    #            office other_office hospital other_h winner rival anonymous
    pages = [
        (
            "awards:round",
            [round_id],
            (OK, HIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
        (
            "awards:run",
            [run.pk],
            (OK, HIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
        (
            "awards:run-progress",
            [run.pk],
            (OK, HIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
        ("awards:results", [round_id], (OK, OK, OK, OK, OK, OK, OK)),
        ("awards:objection-new", [round_id], (FORBIDDEN, FORBIDDEN, OK, OK, OK, OK, LOGIN)),
        ("awards:objections", [], (OK, OK, OK, OK, OK, OK, LOGIN)),
        (
            "awards:objection-answer",
            [objection.pk],
            (OK, HIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
        ("awards:mine", [], (FORBIDDEN, FORBIDDEN, OK, OK, OK, OK, LOGIN)),
        ("contracts:notifications", [], (OK, OK, OK, OK, OK, OK, LOGIN)),
        ("awards:selection", [round_id], (OK, HIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, LOGIN)),
        ("contracts:contracts", [], (OK, OK, OK, OK, OK, OK, LOGIN)),
        ("contracts:contract", [contract.pk], (OK, HIDDEN, OK, HIDDEN, OK, HIDDEN, LOGIN)),
        ("contracts:purchases", [], (FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN, LOGIN)),
        ("contracts:progress", [], (OK, OK, OK, OK, OK, OK, LOGIN)),
        ("contracts:supply-failures", [], (OK, OK, OK, OK, OK, OK, LOGIN)),
        ("contracts:supply-failure-new", [round_id], (OK, HIDDEN, OK, OK, OK, HIDDEN, LOGIN)),
        (
            "contracts:supplier-switch",
            [failure.pk],
            (OK, HIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
    ]
    # The rival (makers[1]) is a winner of the item too (0.1500), so it sees the selection.
    posts = [
        ("awards:evaluate", [round_id], (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)),
        ("awards:scenario", [round_id], (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)),
        (
            "awards:objection-period",
            [round_id],
            (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
        ("awards:finalize", [round_id], (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)),
        ("awards:run-retry", [run.pk], (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)),
        (
            "awards:selection-open",
            [round_id],
            (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
        (
            "awards:selection-close",
            [round_id],
            (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
        (
            "contracts:contracts-generate",
            [round_id],
            (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
        (
            "contracts:execution-start",
            [round_id],
            (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
        (
            "contracts:contract-amend",
            [contract.pk],
            (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
        ),
    ]
    apis = [
        ("api-allocations", [], (FORBIDDEN, FORBIDDEN, OK, OK, OK, OK, LOGIN)),
        ("api-contracts", [], (OK, OK, OK, OK, OK, OK, LOGIN)),
        ("api-contract", [contract.pk], (OK, HIDDEN, OK, HIDDEN, OK, HIDDEN, LOGIN)),
        ("api-purchases", [], (OK, OK, OK, OK, OK, OK, LOGIN)),
        ("api-progress", [], (OK, OK, OK, OK, OK, OK, LOGIN)),
        ("api-run", [run.pk], (OK, HIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)),
    ]
    wrong = []
    for name, args, expected in pages:
        url = reverse(name, args=args)
        for role, want in zip(ROLES, expected, strict=True):
            response = _page_client(users[role]).get(url)
            if not _matches(want, response, api=False):
                wrong.append(f"GET {name} as {role}: {response.status_code}, expected {want}")
    # State-changing POSTs by the parties that must never reach them (hospital, other
    # hospital, winner, rival, anonymous); the office's own POSTs are tested elsewhere.
    for name, args, expected in posts:
        url = reverse(name, args=args)
        for role, want in zip(ROLES[2:], expected, strict=False):
            response = _page_client(users[role]).post(url)
            if not _matches(want, response, api=False):
                wrong.append(f"POST {name} as {role}: {response.status_code}, expected {want}")
        response = _page_client(users["other_office"]).post(url)
        if response.status_code != HIDDEN:
            wrong.append(f"POST {name} as other_office: {response.status_code}, expected 404")
    for name, args, expected in apis:
        url = reverse(name, args=args)
        for role, want in zip(ROLES, expected, strict=True):
            response = _api_client(users[role]).get(url)
            if not _matches(want, response, api=True):
                wrong.append(f"API GET {name} as {role}: {response.status_code}, expected {want}")
    assert wrong == []
    # Nothing above changed the round or the contract.
    built.round.refresh_from_db()
    contract.refresh_from_db()
    assert built.round.status == "in_execution" and contract.current_version == 0

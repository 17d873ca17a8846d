"""The contracts API (and the award's allocations beside them): each role reads only its
own, purchases all or nothing. The office's evaluation API is tests/awards/test_api.py."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Organization
from contracts.models import Contract, Purchase
from tests.contracts.test_execution import STARTED, in_execution
from tests.factories import user_of

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def test_each_role_reads_only_its_own(django_capture_on_commit_callbacks) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    hospital, other_hospital = built.hospitals[0], built.hospitals[1]
    winner, rival = built.makers[0], built.makers[1]
    own = Contract.objects.get(hospital=hospital.organization)

    def numbers(user, name: str) -> set[str]:
        response = api(user).get(reverse(name))
        assert response.status_code == 200, response.content
        data = response.json()
        rows = data["results"] if isinstance(data, dict) else data
        return {
            row.get("number") or row.get("contract_number") or row.get("hospital") for row in rows
        }

    assert numbers(hospital, "api-contracts") == {own.number}
    assert own.number not in numbers(other_hospital, "api-contracts")
    assert own.number in numbers(winner, "api-contracts")
    assert numbers(rival, "api-contracts") == set()
    assert len(numbers(built.office, "api-contracts")) == 3
    assert numbers(user_of(Organization.Kind.OFFICE), "api-contracts") == set()
    assert api().get(reverse("api-contracts")).status_code in {401, 403}

    detail = reverse("api-contract", args=[own.pk])
    body = api(hospital).get(detail).json()
    assert body["total"] == "420.00" and body["lines"][0]["quantity"] == 4200
    assert body["lines"][0]["unit_price"] == "0.100000"
    assert api(other_hospital).get(detail).status_code == 404
    assert api(rival).get(detail).status_code == 404

    allocations = reverse("api-allocations")
    mine = api(hospital).get(allocations).json()["results"]
    assert [a["quantity"] for a in mine] == [4200]
    assert {a["hospital"] for a in api(winner).get(allocations).json()["results"]} == {
        h.organization.social_credit_code for h in built.hospitals
    }
    assert api(rival).get(allocations).json()["results"] == []
    assert api(built.office).get(allocations).status_code == 403
    assert api().get(allocations).status_code in {401, 403}

    progress = api(hospital).get(reverse("api-progress")).json()["results"]
    assert [(p["contract_number"], p["agreed"]) for p in progress] == [(own.number, 4200)]
    assert api(rival).get(reverse("api-progress")).json()["results"] == []


def test_hospital_posts_purchases_all_or_nothing(django_capture_on_commit_callbacks) -> None:
    built = in_execution(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    own = Contract.objects.get(hospital=hospital.organization)
    other = Contract.objects.get(hospital=built.hospitals[1].organization)
    code = built.round_item.item.code
    month = f"{STARTED:%Y-%m}"
    url = reverse("api-purchases")
    refused = api(hospital).post(
        url,
        {
            "lines": [
                {"contract_number": own.number, "item_code": code, "month": month, "quantity": 7},
                {"contract_number": other.number, "item_code": code, "month": month, "quantity": 7},
            ]
        },
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": [
            f"Line 2, 合同编号 (contract number): contract {other.number} is not one of your "
            "organization's contracts."
        ]
    }
    assert Purchase.objects.count() == 0
    ok = api(hospital).post(
        url,
        {
            "lines": [
                {"contract_number": own.number, "item_code": code, "month": month, "quantity": 7}
            ]
        },
        format="json",
    )
    assert ok.status_code == 201 and ok.json() == {"created": 1, "changed": 0, "unchanged": 0}
    assert Purchase.objects.get().channel == "api"
    listed = api(hospital).get(url).json()
    assert listed[0]["month"] == month and listed[0]["quantity"] == 7
    assert api(built.hospitals[1]).get(url).json() == []
    assert len(api(built.makers[0]).get(url).json()) == 1
    assert api(built.makers[1]).get(url).json() == []
    for user in (built.office, built.makers[0]):
        assert api(user).post(url, {"lines": []}, format="json").status_code == 403
    assert api().post(url, {"lines": []}, format="json").status_code in {401, 403}

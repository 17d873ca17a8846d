"""The REST API: token auth, the same validation as the web table, the OpenAPI schema."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from procurement.models import DemandChange, DemandDeclaration
from procurement.services import round_close_demand
from tests.factories import api_token_for
from tests.procurement.conftest import client_for

pytestmark = pytest.mark.django_db


def api_for(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        token = api_token_for(user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def demand_url(round_):
    return reverse("api-demand", args=[round_.code])


def test_hospital_declares_with_its_token(open_round, hospital):
    client = api_for(hospital)
    response = client.post(
        demand_url(open_round),
        {
            "lines": [
                {"item_code": "D-ATV-OS", "specification_code": "10MG", "quantity": 1200},
                {"item_code": "D-CLO-OS", "specification_code": "75MG", "quantity": "300"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 2, "changed": 0, "unchanged": 0}
    assert set(DemandChange.objects.values_list("channel", flat=True)) == {"api"}
    listed = client.get(demand_url(open_round)).json()
    assert listed["count"] == 2
    assert {
        (r["item_code"], r["specification_code"], r["quantity"]) for r in listed["results"]
    } == {
        ("D-ATV-OS", "10MG", 1200),
        ("D-CLO-OS", "75MG", 300),
    }
    line = listed["results"][0]["id"]
    deleted = client.delete(reverse("api-demand-line", args=[open_round.code, line]))
    assert deleted.status_code == 204
    assert DemandDeclaration.objects.count() == 1


def test_api_refuses_bad_lines_with_line_numbers_and_writes_nothing(open_round, hospital):
    response = api_for(hospital).post(
        demand_url(open_round),
        {
            "lines": [
                {"item_code": "D-ATV-OS", "specification_code": "10MG", "quantity": 5},
                {"item_code": "D-ATV-OS", "specification_code": "20MG", "quantity": 1.5},
                {"item_code": "D-NOPE", "specification_code": "10MG", "quantity": 5},
                {"item_code": "D-CLO-OS", "specification_code": "75MG", "quantity": -1},
                {"item_code": "D-CLO-OS", "specification_code": "75MG", "quantity": 0},
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Some lines are invalid; nothing was written.",
        "errors": [
            {"line": 2, "field": "quantity", "message": "“1.5” is not a whole number."},
            {
                "line": 3,
                "field": "item_code",
                "message": "item code “D-NOPE” is not in round R-2026-1.",
            },
            {
                "line": 4,
                "field": "quantity",
                "message": "“-1” is negative; it must be greater than zero.",
            },
            {
                "line": 5,
                "field": "",
                "message": "duplicate of row 4 (same item_code, specification_code).",
            },
            {"line": 5, "field": "quantity", "message": "must be greater than zero."},
        ],
    }
    assert not DemandDeclaration.objects.exists()


def test_api_refuses_declaring_for_another_hospital(open_round, hospital, other_hospital):
    response = api_for(hospital).post(
        demand_url(open_round),
        {
            "lines": [
                {
                    "item_code": "D-ATV-OS",
                    "specification_code": "10MG",
                    "quantity": 5,
                    "hospital_code": other_hospital.organization.social_credit_code,
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["line"] == 1 and error["field"] == "hospital_code"
    assert "a hospital declares only for itself." in error["message"]
    assert not DemandDeclaration.objects.exists()


def test_api_refuses_after_close_with_409(open_round, hospital, office):
    round_close_demand(round_=open_round, by=office)
    response = api_for(hospital).post(
        demand_url(open_round),
        {"lines": [{"item_code": "D-ATV-OS", "specification_code": "10MG", "quantity": 5}]},
        format="json",
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Demand declaration for round R-2026-1 is not open: the round is “Demand "
        "declaration closed”."
    }


@pytest.mark.parametrize("who", ["office", "maker", "anonymous"])
def test_only_hospitals_use_the_demand_endpoint(open_round, office, maker, who):
    user = {"office": office, "maker": maker, "anonymous": None}[who]
    response = api_for(user).post(
        demand_url(open_round),
        {"lines": [{"item_code": "D-ATV-OS", "specification_code": "10MG", "quantity": 5}]},
        format="json",
    )
    assert response.status_code == (401 if user is None else 403)
    assert not DemandDeclaration.objects.exists()


def test_hospital_outside_scope_cannot_see_the_round(open_round):
    from tests.procurement.factories import hospital_user

    far = hospital_user("44")
    assert api_for(far).get(reverse("api-round", args=[open_round.code])).status_code == 404
    assert api_for(far).get(demand_url(open_round)).status_code == 404


def test_round_detail_lists_the_lines_to_declare(open_round, hospital):
    data = api_for(hospital).get(reverse("api-round", args=[open_round.code])).json()
    assert data["status"] == "demand_open"
    assert [
        (i["item_code"], [line["specification_code"] for line in i["lines"]]) for i in data["items"]
    ] == [
        ("D-ATV-OS", ["10MG", "20MG"]),
        ("D-CLO-OS", ["75MG"]),
    ]
    assert data["items"][0]["lines"][0]["max_valid_bid_price"] == "2.5000"
    rounds = api_for(hospital).get(reverse("api-rounds")).json()
    assert [r["code"] for r in rounds["results"]] == ["R-2026-1"]


def test_a_hospital_cannot_delete_another_hospitals_line(open_round, hospital, other_hospital):
    api_for(hospital).post(
        demand_url(open_round),
        {"lines": [{"item_code": "D-ATV-OS", "specification_code": "10MG", "quantity": 5}]},
        format="json",
    )
    declaration = DemandDeclaration.objects.get()
    response = api_for(other_hospital).delete(
        reverse("api-demand-line", args=[open_round.code, declaration.pk])
    )
    assert response.status_code == 404
    assert DemandDeclaration.objects.exists()
    assert api_for(other_hospital).get(demand_url(open_round)).json()["count"] == 0


def test_openapi_schema_describes_the_demand_endpoints(db):
    schema = client_for(None).get("/api/schema/?format=json").json()
    post = schema["paths"]["/api/v1/rounds/{code}/demand/"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DemandSubmit"
    )
    # Besides its own answers, every error the API's machinery can give is declared.
    assert set(post["responses"]) == {"200", "400", "401", "403", "404", "409", "429", "503"}
    line = schema["components"]["schemas"]["DemandLine"]
    assert {"item_code", "specification_code", "quantity"} <= set(line["properties"])
    assert "delete" in schema["paths"]["/api/v1/rounds/{code}/demand/{id}/"]


def test_token_page_shows_a_new_token_once_and_revokes_it(hospital):
    client = client_for(hospital)
    url = reverse("procurement:api-token")
    assert "You have no API token yet." in client.get(url).content.decode()
    created = client.post(url, {"name": "HIS", "valid_days": "30"}).content.decode()
    first = re.search(r'<code id="api-token">(jicai_[0-9a-f]{64})</code>', created).group(1)
    assert first not in client.get(url).content.decode()
    assert (
        api_for(None).get(reverse("api-rounds"), HTTP_AUTHORIZATION=f"Token {first}").status_code
        == 200
    )
    token = ApiToken.objects.get(user=hospital)
    client.post(reverse("procurement:api-token-revoke"), {"token": token.pk})
    assert (
        api_for(None).get(reverse("api-rounds"), HTTP_AUTHORIZATION=f"Token {first}").status_code
        == 401
    )


@pytest.mark.parametrize(
    ("who", "rounds", "detail", "demand_get", "demand_delete"),
    [
        ("hospital", 200, 200, 200, 404),
        ("other_hospital", 200, 200, 200, 404),
        ("office", 200, 200, 403, 403),
        ("maker", 200, 200, 403, 403),
        ("anonymous", 401, 401, 401, 401),
    ],
)
def test_api_endpoints_by_role(request, open_round, who, rounds, detail, demand_get, demand_delete):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    client = api_for(user)
    assert client.get(reverse("api-rounds")).status_code == rounds
    assert client.get(reverse("api-round", args=[open_round.code])).status_code == detail
    assert client.get(demand_url(open_round)).status_code == demand_get
    missing = reverse("api-demand-line", args=[open_round.code, 999999])
    assert client.delete(missing).status_code == demand_delete


def test_another_office_does_not_see_the_round_through_the_api(open_round):
    from tests.factories import user_of

    other = user_of("office")
    assert api_for(other).get(reverse("api-round", args=[open_round.code])).status_code == 404
    assert api_for(other).get(reverse("api-rounds")).json()["count"] == 0

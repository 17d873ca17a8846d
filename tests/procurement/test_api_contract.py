"""The OpenAPI schema is the truth: what the API answers is what the schema declares.

The drift found: Purchase.month declared a date but returned "2026-11"; 400 bodies of
demand and purchases differed from their documented shapes; empty ``lines`` refused
though the schema allowed it; 403/404/409/429 undeclared; 50,001 demand lines answered
by an HTML 400 from the body-size limit instead of the documented line limit; quantities
"1,000", "1e3", "+5" accepted by the API, full-width digits by the bid API only.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from procurement.models import DemandDeclaration
from tests.factories import api_token_for

pytestmark = pytest.mark.django_db


def api_for(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    token = api_token_for(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _validator(schema: dict, path: str, method: str, code: str) -> jsonschema.Validator:
    body = schema["paths"][path][method]["responses"][code]["content"]["application/json"]
    document = {**body["schema"], "components": schema["components"]}
    return jsonschema.Draft202012Validator(document, registry=_registry(schema))


def _registry(schema: dict):
    from referencing import Registry, Resource

    root = Resource.from_contents(
        {"components": schema["components"]},
        default_specification=__import__(
            "referencing.jsonschema", fromlist=["DRAFT202012"]
        ).DRAFT202012,
    )
    return Registry().with_resource("", root)


def _check(schema: dict, path: str, method: str, response) -> None:
    code = str(response.status_code)
    responses = schema["paths"][path][method]["responses"]
    assert code in responses, f"{method.upper()} {path} answered {code}, not declared"
    _validator(schema, path, method, code).validate(response.json())


DEMAND = "/api/v1/rounds/{code}/demand/"


def test_every_demand_400_has_the_documented_shape(schema, open_round, hospital) -> None:
    client = api_for(hospital)
    url = reverse("api-demand", args=[open_round.code])
    bodies = [
        {"lines": []},  # empty: refused, and the schema says minItems 1
        {"lines": "x"},
        {},
        {"lines": [{"item_code": "D-ATV-OS", "specification_code": "10MG", "quantity": "1e3"}]},
        {"lines": [{"quantity": 5}]},
    ]
    for body in bodies:
        response = client.post(url, body, format="json")
        assert response.status_code == 400, body
        _check(schema, DEMAND, "post", response)
        assert set(response.json()) == {"detail", "errors"}
    malformed = client.post(url, "{not json", content_type="application/json")
    assert malformed.status_code == 400
    _check(schema, DEMAND, "post", malformed)
    assert malformed.json()["errors"] == []
    lines = schema["components"]["schemas"]["DemandSubmit"]["properties"]["lines"]
    assert lines["minItems"] == 1 and lines["maxItems"] == 50_000
    assert client.post(url, {"lines": []}, format="json").json() == {
        "detail": "Send at least one line.",
        "errors": [{"line": None, "field": "lines", "message": "Send at least one line."}],
    }


def test_50001_demand_lines_get_the_json_line_limit_not_the_body_size_limit(
    open_round, hospital
) -> None:
    line = {
        "item_code": "D-ATV-OS",
        "specification_code": "10MG",
        "registration_number": "国械注准" + "2" * 40,
        "model_number": "M" * 60,
        "quantity": 120000,
    }
    body = json.dumps({"lines": [line] * 50_001})
    assert len(body.encode()) > 5 * 1024 * 1024  # over Django's form-post limit
    response = api_for(hospital).post(
        reverse("api-demand", args=[open_round.code]), body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"] == (
        "At most 50000 lines per request; upload a spreadsheet for more."
    )


@pytest.mark.parametrize("quantity", ["1e3", "+5", "1,2", True, "NaN"])
def test_the_demand_api_refuses_what_the_number_policy_refuses(
    open_round, hospital, quantity
) -> None:
    response = api_for(hospital).post(
        reverse("api-demand", args=[open_round.code]),
        {"lines": [{"item_code": "D-ATV-OS", "specification_code": "10MG", "quantity": quantity}]},
        format="json",
    )
    assert response.status_code == 400
    assert not DemandDeclaration.objects.exists()


def test_the_demand_api_accepts_full_width_digits_and_grouped_thousands(
    open_round, hospital
) -> None:
    response = api_for(hospital).post(
        reverse("api-demand", args=[open_round.code]),
        {
            "lines": [
                {"item_code": "D-ATV-OS", "specification_code": "10MG", "quantity": "１２００"},
                {"item_code": "D-ATV-OS", "specification_code": "20MG", "quantity": "1,000"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert sorted(DemandDeclaration.objects.values_list("quantity", flat=True)) == [1000, 1200]


def test_purchase_month_is_declared_as_what_it_returns(schema) -> None:
    month = schema["components"]["schemas"]["Purchase"]["properties"]["month"]
    assert month.get("format") != "date"
    assert month["pattern"] == "^[0-9]{4}-(0[1-9]|1[0-2])$"
    jsonschema.validate("2026-11", month)


def test_purchases_400_bodies_match_their_declaration(schema, hospital) -> None:
    client = api_for(hospital)
    for body in ({"lines": []}, {"lines": [{"contract_number": "X"}]}):
        response = client.post("/api/v1/purchases/", body, format="json")
        assert response.status_code == 400
        _check(schema, "/api/v1/purchases/", "post", response)
    lines = {
        "lines": [{"contract_number": "NOPE", "item_code": "X", "month": "2026-11", "quantity": 5}]
    }
    refused = client.post("/api/v1/purchases/", lines, format="json")
    assert refused.status_code == 400 and "errors" in refused.json()
    _check(schema, "/api/v1/purchases/", "post", refused)


def test_every_operation_declares_the_errors_the_machinery_answers(schema) -> None:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "503"} <= codes, (method, path)
            assert "Retry-After" in operation["responses"]["503"]["headers"]
            if "{" in path:
                assert "404" in codes, (method, path)
            if operation.get("security") != [{}] and path.startswith("/api/v1/"):
                assert "429" in codes and "Retry-After" in operation["responses"]["429"]["headers"]


def test_a_wrong_role_gets_the_declared_403(schema, maker, open_round) -> None:
    response = api_for(maker).post(
        reverse("api-demand", args=[open_round.code]), {"lines": []}, format="json"
    )
    assert response.status_code == 403
    _check(schema, DEMAND, "post", response)

"""Open data: the OCDS release package validates against the vendored schemas, carries
the database's exact figures, and is published only when it may be."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organization
from bidding.models import Opening
from procurement.models import Round, RoundItem
from reports import ocds
from tests.factories import TEST_PASSWORD, user_of
from tests.reports.factories import small_awarded_round
from tests.reports.test_exports_provisional import finish_province_selection

pytestmark = pytest.mark.django_db


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


@pytest.fixture
def awarded():
    """A drug round awarded, its province selection finished: final figures
    (test_ocds_provisional: before)."""
    built = small_awarded_round(code="R-OCDS-1")
    finish_province_selection(built)
    return built


@pytest.fixture
def package(awarded) -> dict:
    response = client_for().get(reverse("api-round-ocds", args=["R-OCDS-1"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return ocds.loads(b"".join(response.streaming_content))


def test_the_package_validates_against_the_vendored_schemas(package) -> None:
    assert ocds.validation_errors(package) == []
    release = package["releases"][0]
    assert release["ocid"] == "ocds-jicai0-R-OCDS-1"
    assert release["tag"] == ["award"]
    assert {"parties", "tender", "bids", "awards"} <= set(release)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("releases", 0, "bids", "details", 0, "status"), "won", "'won' is not one of"),
        (("releases", 0, "awards", 0, "status"), "final", "'final' is not one of"),
        (("releases", 0, "tag"), ["published"], "'published' is not one of"),
        (("releases", 0, "tender", "items", 0, "quantity"), "many", "'many' is not of type"),
        (("version",), "1.1.5", "does not match"),
    ],
)
def test_the_validation_catches_what_the_schemas_forbid(package, path, value, message) -> None:
    broken = copy.deepcopy(package)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors = ocds.validation_errors(broken)
    assert any(message in e for e in errors), errors


def test_a_release_missing_a_required_field_fails_at_the_package_level(package) -> None:
    broken = copy.deepcopy(package)
    del broken["releases"][0]["ocid"]
    errors = ocds.validation_errors(broken)
    assert any(e.startswith("package: releases/0: 'ocid' is a required property") for e in errors)


def test_figures_are_the_databases_exactly(package, awarded) -> None:
    release = package["releases"][0]
    awards = {a["title"]: a for a in release["awards"]}
    qilu = awards["齐鲁制药有限公司"]
    assert qilu["status"] == "active"
    assert qilu["value"] == {"amount": Decimal("700.00"), "currency": "CNY"}
    [item] = qilu["items"]
    assert item["quantity"] == 7000
    assert item["unit"]["value"]["amount"] == Decimal("0.100000")
    stent = awards["乐普（北京）医疗器械股份有限公司"]
    assert stent["value"]["amount"] == Decimal("37500.00")
    total = sum(a["value"]["amount"] for a in release["awards"])
    assert total == Decimal("108650.00")  # the analysis's amount at award prices
    assert len(release["bids"]["details"]) == len(awarded.opened_bids) == 6
    statuses = sorted(b["status"] for b in release["bids"]["details"])
    assert statuses == ["disqualified", "valid", "valid", "valid", "valid", "valid"]
    statistics = {s["measure"]: s["value"] for s in release["bids"]["statistics"]}
    assert statistics == {"bids": 6, "validBids": 5}
    roles = {p["name"]: set(p["roles"]) for p in release["parties"]}
    assert roles["齐鲁制药有限公司"] == {"tenderer", "supplier"}
    assert roles["辉瑞制药有限公司"] == {"tenderer"}
    assert roles["国家组织药品联合采购办公室（测试）"] == {"procuringEntity", "buyer"}


def test_decimals_are_written_as_exact_json_numbers() -> None:
    text = ocds.dumps({"a": Decimal("0.1000"), "b": [Decimal("1842500.00")], "c": "0.1"})
    assert json.loads(text) == {"a": 0.1, "b": [1842500.0], "c": "0.1"}
    assert '"a": 0.1000' in text and "1842500.00" in text


def test_no_bids_section_before_the_opening(awarded, client) -> None:
    source = awarded.round
    round_ = Round.objects.create(
        code="R-OCDS-2",
        name="未开标的批次",
        kind=source.kind,
        status=Round.Status.BIDDING_CLOSED,
        office=source.office,
        rule_set=source.rule_set,
        demand_opens_at=source.demand_opens_at,
        demand_closes_at=source.demand_closes_at,
        bid_deadline=source.bid_deadline,
        opening_at=source.opening_at,
        objection_ends_at=source.objection_ends_at,
        contract_starts_on=source.contract_starts_on,
    )
    for round_item in source.items.all():
        RoundItem.objects.create(
            round=round_, item=round_item.item, reference_price=round_item.reference_price
        )
    assert not Opening.objects.filter(round=round_).exists()
    document = ocds.release_package(round_=round_, run=None, uri="https://example.org/p")
    release = document["releases"][0]
    assert "bids" not in release and "awards" not in release
    assert release["tag"] == ["tender"] and len(release["tender"]["items"]) == 2
    assert "numberOfTenderers" not in release["tender"]
    assert ocds.validation_errors(ocds.loads(ocds.dumps(document))) == []
    url = reverse("api-round-ocds", args=["R-OCDS-2"])
    assert client_for(awarded.office).get(url).status_code == 404  # nothing opened yet


def test_public_access_only_once_the_award_is_final(awarded) -> None:
    api = reverse("api-round-ocds", args=["R-OCDS-1"])
    web = reverse("reports:ocds", args=[awarded.round.pk])
    assert client_for().get(web).status_code == 200
    Round.objects.filter(pk=awarded.round.pk).update(status="objection")
    for url in (api, web):
        assert client_for().get(url).status_code == 404
        assert client_for(awarded.makers["齐鲁制药有限公司"]).get(url).status_code == 404
        assert client_for(awarded.hospitals["11"]).get(url).status_code == 404
        assert client_for(user_of(Organization.Kind.OFFICE)).get(url).status_code == 404
        response = client_for(awarded.office).get(url)
        assert response.status_code == 200
        release = ocds.loads(b"".join(response.streaming_content))["releases"][0]
        assert {a["status"] for a in release["awards"]} == {"pending"}
    assert client_for().get(reverse("api-round-ocds", args=["NO-SUCH"])).status_code == 404


def test_the_public_page_links_the_open_data(awarded) -> None:
    page = client_for().get(reverse("reports:public-round", args=[awarded.round.pk]))
    assert reverse("reports:ocds", args=[awarded.round.pk]) in page.content.decode()


def test_the_open_data_endpoint_is_in_the_openapi_schema() -> None:
    schema = client_for().get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/rounds/{code}/ocds/" in schema.content.decode()

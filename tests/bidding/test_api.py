"""The REST API: token auth, idempotent submissions, revisions, withdrawal, receipts, the
public opening record, and the OpenAPI schema."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from bidding import sealing
from bidding.models import Bid, BidVersion
from tests.bidding.conftest import World, move_clock, past_opening
from tests.ceremony import open_bids as round_open_bids
from tests.factories import api_token_for

pytestmark = pytest.mark.django_db


def api_for(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    token = api_token_for(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def payload(world: World, **overrides) -> dict:
    body = {
        "round": world.round.code,
        "item": world.item.code,
        "specification": "20MG",
        "product": world.bidder_20.pk,
        "unit_price": "1.9876",
        "annual_capacity": 250000,
    }
    body.update(overrides)
    return body


def test_submit_needs_an_idempotency_key(world: World) -> None:
    response = api_for(world.bidder).post(reverse("api-bids"), payload(world), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "Idempotency-Key": ["Send an Idempotency-Key header (1 to 100 characters)."]
    }
    assert not Bid.objects.exists()


def test_retried_submission_returns_the_same_receipt_and_one_bid(world: World) -> None:
    client = api_for(world.bidder)
    first = client.post(
        reverse("api-bids"), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="3f1c-retry"
    )
    assert first.status_code == 201
    body = first.json()
    assert body["replayed"] is False
    assert sealing.receipt_verify(body["receipt"])
    assert body["receipt"]["content"]["unit_price"] == "1.9876"
    again = client.post(
        reverse("api-bids"), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="3f1c-retry"
    )
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["receipt"]["hash"] == body["receipt"]["hash"]
    assert Bid.objects.count() == 1 and BidVersion.objects.count() == 1
    # The replay cannot rebuild the full receipt (the terms are sealed): it says so.
    assert again.json()["receipt"]["content"]["unit_price"] == "sealed"
    conflict = client.post(
        reverse("api-bids"),
        payload(world, specification="40MG", product=world.bidder_40.pk),
        format="json",
        HTTP_IDEMPOTENCY_KEY="3f1c-retry",
    )
    assert conflict.status_code == 422
    assert conflict.json()["code"] == "idempotency_conflict"
    second_bid = client.post(
        reverse("api-bids"), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="another"
    )
    assert second_bid.status_code == 409
    assert second_bid.json()["detail"] == (
        "You have already bid on specification 20MG; revise that bid instead."
    )


def test_revise_withdraw_and_list_own_bids_without_terms(world: World) -> None:
    client = api_for(world.bidder)
    bid_id = client.post(
        reverse("api-bids"), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="a"
    ).json()["bid"]
    revised = client.post(
        reverse("api-bid-revise", args=[bid_id]),
        {"product": world.bidder_20.pk, "unit_price": "1.7000", "annual_capacity": 1},
        format="json",
        HTTP_IDEMPOTENCY_KEY="b",
    )
    assert revised.status_code == 201
    assert revised.json()["version"] == 2
    listing = client.get(reverse("api-bids"))
    assert listing.status_code == 200
    rows = listing.json()["results"]
    assert [(r["id"], r["current_version"], r["status"]) for r in rows] == [(bid_id, 2, "active")]
    assert "1.7000" not in listing.content.decode()
    withdrawn = client.post(reverse("api-bid-withdraw", args=[bid_id]), HTTP_IDEMPOTENCY_KEY="c")
    assert withdrawn.status_code == 201
    assert withdrawn.json()["receipt"]["content"]["action"] == "withdraw"
    assert revised.json()["receipt"]["content"]["unit_price"] == "1.7000"  # at submission
    receipt = client.get(reverse("api-receipt", args=[revised.json()["receipt_id"]]))
    assert receipt.json()["content"]["unit_price"] == "sealed"  # afterwards: sealed
    assert receipt.json()["hash"] == revised.json()["receipt"]["hash"]


def test_above_ceiling_is_accepted_with_a_warning(world: World) -> None:
    response = api_for(world.bidder).post(
        reverse("api-bids"),
        payload(world, unit_price="9.0000"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="x",
    )
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "The unit price is above the maximum valid bid price of specification 20mg: the bid "
        "will be accepted but judged invalid at the opening."
    ]


def test_submission_after_the_deadline_is_refused(world: World) -> None:
    move_clock(
        world.round,
        deadline_in=-datetime.timedelta(seconds=1),
        opening_in=datetime.timedelta(hours=1),
    )
    response = api_for(world.bidder).post(
        reverse("api-bids"), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="late"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "deadline"
    assert "this bid was not accepted" in response.json()["detail"]


def test_other_roles_and_rivals_are_refused(world: World) -> None:
    for user in (world.office, world.hospital):
        response = api_for(user).post(
            reverse("api-bids"), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="o"
        )
        assert response.status_code == 403
    bid_id = (
        api_for(world.bidder)
        .post(reverse("api-bids"), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="a")
        .json()["bid"]
    )
    rival = api_for(world.rival)
    assert rival.get(reverse("api-bid", args=[bid_id])).status_code == 404
    assert (
        rival.post(reverse("api-bid-withdraw", args=[bid_id]), HTTP_IDEMPOTENCY_KEY="r").status_code
        == 404
    )
    foreign = rival.post(
        reverse("api-bids"), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="f"
    )  # the bidder's product
    assert foreign.status_code == 400
    assert foreign.json() == {"product": ["No such product of your organization."]}
    assert BidVersion.objects.count() == 1


def test_opening_record_is_public_after_the_opening_only(world: World) -> None:
    api_for(world.bidder).post(
        reverse("api-bids"), payload(world), format="json", HTTP_IDEMPOTENCY_KEY="a"
    )
    anonymous = APIClient()
    url = reverse("api-opening", args=[world.round.code])
    assert anonymous.get(url).status_code == 404
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    body = anonymous.get(url).json()
    assert body["bid_count"] == 1
    [row] = body["bids"]
    assert row["unit_price"] == "1.9876"
    assert row["validity"] == "valid"
    assert row["receipt_hash"] == BidVersion.objects.get().receipt_hash
    assert "annual_capacity" not in row


def test_bidding_endpoints_are_in_the_openapi_schema(world: World) -> None:
    client = api_for(world.bidder)
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in (
        "/api/v1/bids/",
        "/api/v1/bids/{bid_id}/revise/",
        "/api/v1/bids/{bid_id}/withdraw/",
        "/api/v1/receipts/{version_id}/",
        "/api/v1/rounds/{code}/opening/",
    ):
        assert path in text
    assert "Idempotency-Key" in text

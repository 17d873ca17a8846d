"""The API takes signed submissions: the runnable client example (docs/examples/sign_bid.py)
registers a key, seals a signed bid and a signed revision against a live server; a bad
signature is refused with a clear message and nothing is written; the schema documents
the signature field."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from accounts.models import SigningKey
from accounts.services import api_token_create
from bidding.models import BidVersion
from bidding.services.terms import product_code
from procurement.models import Round
from tests.bidding.conftest import World, build_world
from tests.signing.keys import authority, browser_key, spki_base64

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "sign_bid.py"


def _run(live_server: object, token: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--base", live_server.url, "--token", token, *args],  # type: ignore[attr-defined]
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@pytest.mark.django_db(transaction=True)
def test_the_client_example_registers_a_key_and_seals_signed_bids(
    live_server: object, tmp_path: Path
) -> None:
    world = build_world()
    Round.objects.filter(pk=world.round.pk).update(signatures_required=True)
    token = api_token_create(user=world.bidder, name="tender server").key
    key_path = tmp_path / "maker.pem"
    _run(live_server, token, "new-key", str(key_path))
    _run(live_server, token, "register", str(key_path), "--name", "tender server")
    key = SigningKey.objects.get(user=world.bidder)
    common = [
        "--product",
        str(world.bidder_20.pk),
        "--product-code",
        str(product_code(world.bidder_20)),
        "--capacity",
        "50000",
    ]
    out = _run(
        live_server,
        token,
        "bid",
        str(key_path),
        "--round",
        world.round.code,
        "--item",
        world.item.code,
        "--specification",
        world.spec20.code,
        "--price",
        "1.8000",
        *common,
    )
    assert key.fingerprint in out  # the receipt's signature section
    bid_id = BidVersion.objects.get().bid_id
    _run(
        live_server, token, "revise", str(key_path), "--bid", str(bid_id), "--price", "1.7", *common
    )
    versions = list(BidVersion.objects.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert all(v.signing_key_id == key.pk and v.signature for v in versions)


@pytest.fixture
def api_world(db: None) -> World:
    world = build_world()
    Round.objects.filter(pk=world.round.pk).update(signatures_required=True)
    return world


def _client(world: World) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.bidder)
    return client


def test_a_badly_signed_api_bid_is_refused_in_both_languages(api_world: World) -> None:
    key = browser_key(api_world.bidder)
    wrong = key.sign(b"not the bid")
    body = {
        "round": api_world.round.code,
        "item": api_world.item.code,
        "specification": api_world.spec20.code,
        "product": api_world.bidder_20.pk,
        "unit_price": "1.8000",
        "annual_capacity": 1000,
        "signature": {"key": wrong.key, "value": base64.b64encode(wrong.value).decode()},
    }
    response = _client(api_world).post(
        "/api/v1/bids/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"The signature does not verify with key {key.key.short_fingerprint}: it was "
        "not made over this content with this key. Nothing was saved.",
        "code": "bad_signature",
    }
    chinese = _client(api_world).post(
        "/api/v1/bids/",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-2",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert chinese.status_code == 400 and "签名无法用密钥" in chinese.json()["detail"]
    assert not BidVersion.objects.exists()
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    refused = _client(api_world).post(
        "/api/v1/bids/", unsigned, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert refused.status_code == 400 and refused.json()["code"] == "signature_required"
    not_base64 = {**body, "signature": {"key": wrong.key, "value": "***"}}
    garbled = _client(api_world).post(
        "/api/v1/bids/", not_base64, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-4"
    )
    assert garbled.status_code == 400
    assert not BidVersion.objects.exists()


def test_the_schema_documents_signed_submissions(client: Client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert "signature" in components["BidSubmit"]["properties"]
    assert "signature" in components["BidRevise"]["properties"]
    assert set(components["Signature"]["required"]) == {"key", "value"}
    assert "/api/v1/signing-keys/" in schema["paths"]
    assert "/api/v1/contracts/{contract_id}/confirm/" in schema["paths"]


def test_keys_register_through_the_api(api_world: World, tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import ec

    client = _client(api_world)
    private = ec.generate_private_key(ec.SECP256R1())
    response = client.post(
        "/api/v1/signing-keys/",
        {"name": "server", "public_key": spki_base64(private)},
        content_type="application/json",
    )
    assert response.status_code == 201
    ca = authority()
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(ca.pem)
    settings.JICAI_SIGNING_TRUST_ANCHORS = str(anchors)
    _private, certificate = ca.issue("Maker signing certificate")
    response = client.post(
        "/api/v1/signing-keys/",
        {"name": "CA certificate", "certificate": certificate},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["kind"] == "certificate"
    with translation.override("en"):
        refused = client.post(
            "/api/v1/signing-keys/",
            {"name": "untrusted", "certificate": authority("Other CA").issue("x")[1]},
            content_type="application/json",
        )
    assert refused.status_code == 400
    assert refused.json()["code"] == "bad_certificate"
    assert SigningKey.objects.filter(user=api_world.bidder).count() == 2

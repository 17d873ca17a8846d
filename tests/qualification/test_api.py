"""The API lists an organization's own qualification documents with their status and
history, and the OpenAPI schema describes it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from qualification.models import DocumentKind
from tests.bidding.conftest import World
from tests.qualification.conftest import approve, upload

pytestmark = pytest.mark.django_db


def _api(user: object) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)  # type: ignore[arg-type]
    return client


def test_own_documents_with_status_and_history(world: World) -> None:
    mine = approve(upload(world.bidder, DocumentKind.BUSINESS_LICENCE), world.office)
    upload(world.rival, DocumentKind.BUSINESS_LICENCE)  # another organization's
    response = _api(world.bidder).get(reverse("api-qualification-documents"))
    assert response.status_code == 200
    (row,) = response.json()
    assert (row["id"], row["kind"], row["status"], row["number"]) == (
        mine.pk,
        "business_licence",
        "approved",
        mine.number,
    )
    assert [(s["action"], s["by"]) for s in row["history"]] == [
        ("submitted", world.bidder.username),
        ("approved", world.office.username),
    ]
    assert _api(world.office).get(reverse("api-qualification-documents")).status_code == 403
    assert APIClient().get(reverse("api-qualification-documents")).status_code == 401


def test_the_schema_declares_the_endpoint() -> None:
    schema = APIClient().get(reverse("api-schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/qualification/documents/"]["get"]
    assert "qualification" in operation["tags"]
    assert "200" in operation["responses"]

"""A statement timeout forced on PostgreSQL is a 503 with Retry-After, not a 500: JSON on
the API (it was an HTML 500 page), the bilingual page elsewhere."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import api_token_for, user_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _slow_statement(*args: object, **kwargs: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(2)")


@pytest.fixture
def statement_timeout():
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '100ms'")
    yield
    connection.close()  # the session setting and the aborted transaction go with it


def test_a_statement_timeout_on_the_api_is_a_json_503(monkeypatch, statement_timeout) -> None:
    from accounts.api import MeView

    assert connection.vendor == "postgresql"
    client = APIClient(raise_request_exception=False)
    token = api_token_for(user_of("hospital"))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    monkeypatch.setattr(MeView, "get", _slow_statement)
    response = client.get("/api/v1/me/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["code"] == "database_unavailable"


def test_a_statement_timeout_on_a_page_is_the_bilingual_503(monkeypatch, statement_timeout) -> None:
    from accounts import views

    client = Client(raise_request_exception=False)
    client.force_login(user_of("office"))
    monkeypatch.setattr(views, "render", _slow_statement)
    response = client.get("/office/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Temporarily unavailable" in response.content.decode()

"""No 5xx from a malformed request, and a database outage is a 503 with Retry-After.

The failures found: a NUL byte in the URL *path* answered 500 to anonymous visitors (the
check looked at the query string only); JSON nested 100,000 deep raised RecursionError; a
statement timeout made the API answer with an HTML 500 page.
"""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import api_token_for, user_of

pytestmark = pytest.mark.django_db

NUL_PATHS = [
    "/bidding/rounds/X%00/opening/",
    "/bidding/rounds/X%00/opening.csv",
    "/api/v1/rounds/X%00/opening/",
    "/api/v1/rounds/X%00/ocds/",
    "/rounds/X%00/",
    "/%00/",
]


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_nul_byte_anywhere_in_the_path_is_a_400_for_anybody(path: str) -> None:
    for client in (Client(raise_request_exception=False), _signed_in("hospital")):
        response = client.get(path)
        assert response.status_code == 400, (path, response.status_code)
        if path.startswith("/api/"):
            assert response["Content-Type"] == "application/json"
            assert response.json()["detail"] == "NUL character in the URL path"


def test_a_nul_byte_in_the_query_string_is_still_a_400() -> None:
    assert Client().get("/bidding/openings/?q=%00").status_code == 400
    api = Client().get("/api/v1/rounds/?page=%00")
    assert api.status_code == 400 and api.json()["code"] == "bad_request"


def _signed_in(kind: str) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user_of(kind))
    return client


def _api(kind: str) -> APIClient:
    client = APIClient(raise_request_exception=False)
    token = api_token_for(user_of(kind))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_json_nested_100k_deep_is_a_400_with_a_json_body() -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = _api("hospital").post("/api/v1/purchases/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The JSON is nested deeper than 20 levels; it is not a valid request."
    }


def test_json_just_over_the_depth_limit_is_refused_and_brackets_in_text_are_not_nesting(
    settings,
) -> None:
    settings.JICAI_API_MAX_JSON_DEPTH = 5
    client = _api("hospital")
    deep = {"lines": [{"a": [[[[1]]]]}]}
    response = client.post("/api/v1/purchases/", deep, format="json")
    assert response.status_code == 400
    assert "nested deeper than 5 levels" in response.json()["detail"]
    text = {"lines": [{"item_code": "[[[[[[[[[[{{{{{{{{{{"}]}
    response = client.post("/api/v1/purchases/", text, format="json")
    assert response.status_code == 400  # parsed: its fields are checked
    assert "lines" in response.json()


def test_a_body_over_the_api_limit_is_a_400_with_a_json_body(settings) -> None:
    settings.JICAI_API_MAX_BODY_BYTES = 1000
    body = json.dumps({"lines": [{"item_code": "X" * 2000}]})
    response = _api("hospital").post("/api/v1/purchases/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request body is larger than 1,000 bytes; send fewer lines per request."
    }


def test_nan_and_infinity_are_not_json_numbers() -> None:
    response = _api("hospital").post(
        "/api/v1/purchases/",
        '{"lines": [{"item_code": "X", "quantity": NaN}]}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "NaN is not a JSON number" in response.json()["detail"]


def _database_gone(*args: object, **kwargs: object) -> None:
    raise OperationalError("canceling statement due to statement timeout")


def test_a_database_error_is_a_503_in_json_on_the_api(monkeypatch) -> None:
    from accounts.api import MeView

    client = _api("hospital")
    monkeypatch.setattr(MeView, "get", _database_gone)
    response = client.get("/api/v1/me/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["code"] == "database_unavailable"


def test_a_database_error_is_a_503_bilingual_page_elsewhere(monkeypatch) -> None:
    from accounts import views

    client = _signed_in("office")
    monkeypatch.setattr(views, "render", _database_gone)
    response = client.get("/office/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "暂时无法服务" in page and "Temporarily unavailable" in page


def test_a_lost_connection_in_a_middleware_is_a_503_too(monkeypatch) -> None:
    """Outside any view (the session is read before the view runs)."""
    from django.contrib.sessions.backends.db import SessionStore

    client = _signed_in("office")
    monkeypatch.setattr(SessionStore, "load", _database_gone)
    response = client.get("/office/")
    assert response.status_code == 503
    api = client.get("/api/v1/me/")
    assert api.status_code == 503 and api.json()["code"] == "database_unavailable"


# --- throttles: 429 with Retry-After and a JSON body ---------------------------------------


def _rates(settings, **rates: str | None) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": None, "user": None, "write": None, "anon": None}
        | rates,
    }


def test_a_token_over_its_rate_gets_429_with_retry_after_and_json(settings) -> None:
    _rates(settings, token="3/minute")
    client = _api("hospital")
    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
    throttled = client.get("/api/v1/me/")
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert throttled.json()["detail"] == "请求已被限流。 预计 60 秒后可用。"  # Chinese by default
    # Another caller has its own count.
    assert _api("manufacturer").get("/api/v1/me/").status_code == 200


def test_a_users_tokens_and_sessions_share_the_users_rate(settings) -> None:
    from tests.factories import api_token_for

    _rates(settings, user="2/minute")
    user = user_of("office")
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    session_client = APIClient()
    session_client.force_login(user)
    assert token_client.get("/api/v1/me/").status_code == 200
    assert session_client.get("/api/v1/me/").status_code == 200
    assert token_client.get("/api/v1/me/").status_code == 429


def test_anonymous_callers_are_throttled_per_address(settings) -> None:
    _rates(settings, anon="2/minute")
    here = APIClient(REMOTE_ADDR="10.0.0.1")
    assert [here.get("/api/v1/rounds/X/opening/").status_code for _ in range(2)] == [404, 404]
    assert here.get("/api/v1/rounds/X/opening/").status_code == 429
    assert APIClient(REMOTE_ADDR="10.0.0.2").get("/api/v1/rounds/X/opening/").status_code == 404


def test_writes_have_their_own_tighter_rate(settings) -> None:
    _rates(settings, write="1/minute")
    client = _api("hospital")
    assert client.post("/api/v1/purchases/", {"lines": []}, format="json").status_code == 400
    assert client.post("/api/v1/purchases/", {"lines": []}, format="json").status_code == 429
    assert client.get("/api/v1/me/").status_code == 200  # reads are not writes

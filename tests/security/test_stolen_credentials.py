"""An adversary with a copy of the database (every column of every credential table) and
the server's code and settings cannot sign in or call the API as anyone.

The stored values are tried as they are, as ``Authorization: Token ...`` and as the
session cookie, against a manufacturer's sealed receipt (API and page) and its home page.
The real token and cookie keep working, and the decryption audit records only the real
reads. Runs on SQLite and on PostgreSQL (``DATABASE_URL``).
"""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from bidding.models import DecryptionAudit
from tests.bidding.conftest import World, build_world
from tests.factories import TEST_PASSWORD, api_token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _submit_bid(world: World, token: str) -> int:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Token {token}")
    body = {
        "round": world.round.code,
        "item": world.item.code,
        "specification": "20MG",
        "product": world.bidder_20.pk,
        "unit_price": "1.2345",
        "annual_capacity": 111111,
    }
    response = client.post(reverse("api-bids"), body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 201, response.content
    return int(response.json()["receipt_id"])


def _signed_in_cookie(user) -> str:
    """Sign in through the login page, as a browser does; the session cookie's value."""
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _credential_tables() -> list[str]:
    with connection.cursor() as cursor:
        names = connection.introspection.table_names(cursor)
    found = [n for n in names if "token" in n.lower() or "session" in n.lower()]
    assert "accounts_apitoken" in found and "accounts_hashedsession" in found
    assert "knox_authtoken" not in found  # knox's default table is not made (swapped out)
    return found


def _dump() -> set[str]:
    """Every text value of every column of every token and session table, and every
    other stored text that could pass for a credential (16 to 300 characters, no spaces:
    keys, digests, hashes in any other table, e.g. the sign-in log's session hashes)."""
    credential_tables = set(_credential_tables())
    values: set[str] = set()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if not isinstance(value, str) or not value or not value.isascii():
                        continue  # a credential is ASCII (and only ASCII goes in a header)
                    if table in credential_tables or (
                        16 <= len(value) <= 300 and not any(c.isspace() for c in value)
                    ):
                        values.add(value)
    return values


def test_no_value_from_a_database_dump_authenticates(world: World) -> None:
    real_token = api_token_for(world.bidder)
    version_id = _submit_bid(world, real_token)
    real_cookie = _signed_in_cookie(world.bidder)
    api_token_for(world.rival)  # other users' credentials are in the dump too
    _signed_in_cookie(world.rival)
    receipt_api = reverse("api-receipt", args=[version_id])
    receipt_page = reverse("bidding:receipt", args=[version_id])
    home = reverse("accounts:manufacturer-home")

    stolen = _dump()
    assert stolen, "the dump found no credential rows"
    assert real_token not in stolen and real_cookie not in stolen
    audited = DecryptionAudit.objects.count()
    for value in stolen:
        api = APIClient(HTTP_AUTHORIZATION=f"Token {value}")
        assert api.get(receipt_api).status_code == 401, value
        assert api.get(reverse("api-me")).status_code == 401, value
        browser = Client()
        browser.cookies[settings.SESSION_COOKIE_NAME] = value
        assert browser.get(receipt_api).status_code in (401, 403), value
        for page in (receipt_page, home):
            response = browser.get(page)
            assert response.status_code == 302, (value, page)
            assert response["Location"].startswith(reverse("accounts:login"))
    # No read was recorded as the maker reading its own receipt.
    assert DecryptionAudit.objects.count() == audited

    # The real credentials still work: the maker reads its own receipt, sealed (the full
    # receipt with the price was given once, at submission; the server cannot decrypt).
    api = APIClient(HTTP_AUTHORIZATION=f"Token {real_token}")
    answer = api.get(receipt_api)
    assert answer.status_code == 200
    assert answer.json()["content"]["unit_price"] == "sealed"
    assert answer.json()["sealed"] is True
    browser = Client()
    browser.cookies[settings.SESSION_COOKIE_NAME] = real_cookie
    assert browser.get(home).status_code == 200
    page = browser.get(receipt_page)
    assert page.status_code == 200 and "1.2345" not in page.content.decode()
    assert DecryptionAudit.objects.count() == audited  # nothing was decrypted


def test_the_database_holds_digests_of_the_token_and_session_key(world: World) -> None:
    token = api_token_for(world.bidder)
    cookie = _signed_in_cookie(world.bidder)
    stored = ApiToken.objects.get(user=world.bidder)
    assert token.startswith("jicai_") and len(token) == 6 + 64
    assert stored.digest != token and token not in stored.digest
    assert stored.token_key == token[:15]  # the public prefix and 9 of 64 random digits
    assert cookie not in _dump()


def test_an_expired_token_is_refused_with_the_date(world: World) -> None:
    token = api_token_for(world.bidder)
    expired = timezone.now() - datetime.timedelta(minutes=1)
    ApiToken.objects.filter(user=world.bidder).update(expiry=expired)
    response = APIClient(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT_LANGUAGE="en").get(
        reverse("api-me")
    )
    assert response.status_code == 401
    when = timezone.localtime(expired).strftime("%Y-%m-%d %H:%M")
    assert response.json()["detail"] == (
        f"This API token expired on {when}. Create a new one on the API token page."
    )


def test_a_revoked_token_is_refused(world: World) -> None:
    token = api_token_for(world.bidder)
    api = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(reverse("api-me")).status_code == 200
    browser = Client()
    browser.force_login(world.bidder)
    digest = ApiToken.objects.get(user=world.bidder).digest
    assert (
        browser.post(reverse("procurement:api-token-revoke"), {"token": digest}).status_code == 302
    )
    assert api.get(reverse("api-me")).status_code == 401


def test_a_rival_cannot_revoke_anothers_token(world: World) -> None:
    token = api_token_for(world.bidder)
    digest = ApiToken.objects.get(user=world.bidder).digest
    rival = Client(HTTP_ACCEPT_LANGUAGE="en")
    rival.force_login(world.rival)
    page = rival.post(reverse("procurement:api-token-revoke"), {"token": digest}, follow=True)
    assert "No such token: it was already revoked or has expired." in page.content.decode()
    assert APIClient(HTTP_AUTHORIZATION=f"Token {token}").get(reverse("api-me")).status_code == 200


def test_a_signed_out_session_cannot_be_used_again(world: World) -> None:
    cookie = _signed_in_cookie(world.bidder)
    browser = Client()
    browser.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert browser.get(reverse("accounts:manufacturer-home")).status_code == 200
    browser.post(reverse("accounts:logout"))
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert replay.get(reverse("accounts:manufacturer-home")).status_code == 302

"""API tokens (named, expiring, revocable, shown once) and hashed sign-in sessions."""

from __future__ import annotations

import datetime
import importlib
import re
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, HashedSession
from accounts.services import api_token_create, api_tokens_expired_delete
from accounts.sessions import SessionStore, session_key_digest
from tests.factories import TEST_PASSWORD, api_token_for, user_of

pytestmark = pytest.mark.django_db

TOKEN_SHOWN = re.compile(r'<code id="api-token">(jicai_[0-9a-f]{64})</code>')


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_a_new_token_is_shown_once_and_then_only_by_name_and_prefix() -> None:
    maker = user_of("manufacturer")
    client = _client(maker)
    url = reverse("procurement:api-token")
    created = client.post(url, {"name": "ERP link", "valid_days": "90"})
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    page = created.content.decode()
    key = TOKEN_SHOWN.search(page).group(1)
    assert "Copy it now: it is shown only this once." in page
    later = client.get(url).content.decode()
    assert key not in later and key[15:] not in later and not TOKEN_SHOWN.search(later)
    assert "ERP link" in later and f"{key[:15]}…" in later
    token = ApiToken.objects.get(user=maker)
    assert token.name == "ERP link"
    expected_expiry = timezone.now() + datetime.timedelta(days=90)
    assert abs((token.expiry - expected_expiry).total_seconds()) < 60
    api = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(reverse("api-me")).json()["username"] == maker.username


def test_token_creation_refuses_bad_names_and_validities_and_writes_nothing(settings) -> None:
    hospital = user_of("hospital")
    client = _client(hospital)
    url = reverse("procurement:api-token")
    assert (
        "This field is required."
        in client.post(url, {"name": "", "valid_days": "90"}).content.decode()
    )
    assert (
        "Select a valid choice."
        in client.post(url, {"name": "x", "valid_days": "9999"}).content.decode()
    )
    with pytest.raises(ValidationError, match=re.escape("A token is valid for 1 to 365 days.")):
        api_token_create(user=hospital, name="x", valid_days=366)
    with pytest.raises(ValidationError, match="Give the token a name"):
        api_token_create(user=hospital, name="   ")
    assert not ApiToken.objects.exists()
    api_token_create(user=hospital, name="HIS")
    duplicate = client.post(url, {"name": "HIS", "valid_days": "30"}).content.decode()
    assert "You already have a token named “HIS”. Choose another name or revoke it." in duplicate
    settings.JICAI_API_TOKENS_PER_USER = 2
    api_token_create(user=hospital, name="second")
    with pytest.raises(ValidationError, match=re.escape("You already have 2 tokens. Revoke one")):
        api_token_create(user=hospital, name="third")
    assert ApiToken.objects.filter(user=hospital).count() == 2


def test_expired_tokens_are_deleted_by_the_deadline_sweep_and_free_their_name() -> None:
    hospital = user_of("hospital")
    api_token_create(user=hospital, name="HIS", valid_days=1)
    later = timezone.now() + datetime.timedelta(days=1, minutes=1)
    assert "accounts.services.api_tokens_expired_delete" in settings.JICAI_DEADLINE_CHECKS
    assert api_tokens_expired_delete(now=later) == 1
    assert not ApiToken.objects.exists()
    api_token_create(user=hospital, name="HIS")


def test_changing_the_password_revokes_the_users_tokens() -> None:
    hospital = user_of("hospital")
    key = api_token_for(hospital)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=hospital.username, password=TEST_PASSWORD)
    response = client.post(
        reverse("accounts:password-change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "another-long-pw-77",
            "new_password2": "another-long-pw-77",
        },
        follow=True,
    )
    assert "Your API token was revoked with the old password" in response.content.decode()
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get(reverse("api-me")).status_code == 401


def test_the_openapi_schema_declares_the_token_scheme() -> None:
    schema = APIClient().get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    scheme = schema.json()["components"]["securitySchemes"]["tokenAuth"]
    assert scheme["type"] == "apiKey" and scheme["in"] == "header"
    assert scheme["name"] == "Authorization"
    assert "Token <token>" in scheme["description"]


def test_a_token_header_that_is_not_ascii_is_a_401_not_a_500() -> None:
    response = APIClient().get(reverse("api-me"), HTTP_AUTHORIZATION="Token caf\xe9")
    assert response.status_code == 401


# --- sessions ------------------------------------------------------------------------------


def test_a_session_is_stored_under_the_digest_of_its_key() -> None:
    user = user_of("office")
    client = Client()
    assert client.login(username=user.username, password=TEST_PASSWORD)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    row = HashedSession.objects.get()
    assert row.session_key == session_key_digest(key) and key not in row.session_key
    assert row.get_decoded()["_auth_user_id"] == str(user.pk)
    assert not Session.objects.exists()  # Django's clear-text table stays empty
    assert SessionStore().exists(key) and not SessionStore().exists(row.session_key)


def test_signing_in_again_replaces_the_stored_session() -> None:
    user = user_of("office")
    client = Client()
    assert client.login(username=user.username, password=TEST_PASSWORD)
    first = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.logout()
    assert not HashedSession.objects.filter(session_key=session_key_digest(first)).exists()


def test_clearsessions_deletes_expired_hashed_sessions() -> None:
    store = SessionStore()
    store["x"] = 1
    store.set_expiry(-1)
    store.save()
    assert HashedSession.objects.count() == 1
    call_command("clearsessions")
    assert not HashedSession.objects.exists()


# --- the migration that drops the clear-text credentials -----------------------------------


def test_the_migration_drops_the_clear_text_token_table_and_sessions() -> None:
    migration = importlib.import_module("accounts.migrations.0006_drop_clear_text_credentials")
    user = user_of("hospital")
    Session.objects.create(
        session_key="k" * 32, session_data="x", expire_date=timezone.now() + datetime.timedelta(1)
    )
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id int)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s)", ["a" * 40, user.pk])
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
            ["authtoken", "0001_initial", timezone.now()],
        )
    # The function only uses the editor's connection (SQLite's editor cannot be opened
    # inside the test's transaction).
    migration.drop_clear_text_credentials(None, SimpleNamespace(connection=connection))
    with connection.cursor() as cursor:
        assert "authtoken_token" not in connection.introspection.table_names(cursor)
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone()[0] == 0
    assert not Session.objects.exists()

"""Chinese by default, English on request; a signed-in user's choice is remembered."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import user_of

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese_by_default(client: Client) -> None:
    body = client.get(reverse("accounts:login")).content.decode()
    assert "登录" in body
    assert '<html lang="zh-hans">' in body


def test_login_page_follows_an_english_browser(client: Client) -> None:
    body = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sign in" in body
    assert '<html lang="en">' in body


@pytest.mark.parametrize(
    ("role", "chinese", "english"),
    [
        ("office", "采购办公室", "Procurement office"),
        ("hospital", "医院", "Hospital"),
        ("manufacturer", "生产企业", "Manufacturer"),
    ],
)
def test_home_pages_in_both_languages(
    client: Client, role: str, chinese: str, english: str
) -> None:
    user = user_of(role)
    client.force_login(user)
    assert chinese in client.get(reverse("accounts:home"), follow=True).content.decode()
    client.post(reverse("accounts:language"), {"language": "en", "next": "/"})
    assert english in client.get(reverse("accounts:home"), follow=True).content.decode()


def test_language_choice_is_remembered_on_the_user_across_sessions(client: Client) -> None:
    user = user_of("hospital")
    client.force_login(user)
    client.post(reverse("accounts:language"), {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.language == "en"
    fresh = Client()  # a new browser: no language cookie, Chinese Accept-Language
    fresh.force_login(user)
    body = fresh.get(reverse("accounts:home"), follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert '<html lang="en">' in body.content.decode()


def test_language_switch_ignores_unknown_languages_and_foreign_redirects(client: Client) -> None:
    response = client.post(
        reverse("accounts:language"), {"language": "xx", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")

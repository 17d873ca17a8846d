"""Each role signs in, lands on its home page, and is refused (403) on the others'."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import TEST_PASSWORD, user_of

HOMES = {
    "office": "accounts:office-home",
    "hospital": "accounts:hospital-home",
    "manufacturer": "accounts:manufacturer-home",
}

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_signs_in_and_lands_on_its_home_page(client: Client, role: str) -> None:
    user = user_of(role)
    response = client.post(
        reverse("accounts:login"),
        {"username": user.username, "password": TEST_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse(HOMES[role])
    assert response.status_code == 200
    assert user.organization.name in response.content.decode()


@pytest.mark.parametrize("role", list(HOMES))
@pytest.mark.parametrize("other", list(HOMES))
def test_each_role_is_refused_on_other_roles_pages(client: Client, role: str, other: str) -> None:
    client.force_login(user_of(role))
    response = client.get(reverse(HOMES[other]), HTTP_ACCEPT_LANGUAGE="en")
    if role == other:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "This page is not available to your organization." in response.content.decode()


@pytest.mark.parametrize("page", [*HOMES.values(), "accounts:home", "accounts:password-change"])
def test_anonymous_users_are_sent_to_sign_in(client: Client, page: str) -> None:
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_wrong_password_is_refused_with_a_message(client: Client) -> None:
    user = user_of("hospital")
    response = client.post(
        reverse("accounts:login"),
        {"username": user.username, "password": "wrong"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_user_without_organization_is_refused_not_crashed(client: Client) -> None:
    from accounts.models import User

    user = User.objects.create_user(username="loose", password=TEST_PASSWORD)
    client.force_login(user)
    assert client.get(reverse("accounts:home")).status_code == 403


def test_password_change_works(client: Client) -> None:
    user = user_of("manufacturer")
    client.force_login(user)
    response = client.post(
        reverse("accounts:password-change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a-much-better-pass-2026",
            "new_password2": "a-much-better-pass-2026",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-much-better-pass-2026")


def test_logout_ends_the_session(client: Client) -> None:
    client.force_login(user_of("office"))
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("accounts:office-home")).status_code == 302

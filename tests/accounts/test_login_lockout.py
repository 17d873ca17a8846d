"""Sign-in throttling (django-axes): 50 wrong passwords in a row used to change nothing and
the right password still worked. Now the account locks after JICAI_LOGIN_FAILURE_LIMIT
failures, for the cool-off, with a message in the reader's language saying when to try
again; the admin's sign-in is the site's own, so it locks too."""

from __future__ import annotations

import datetime

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import TEST_PASSWORD, user_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)


def _sign_in(client: Client, username: str, password: str, language: str = "en"):
    client.cookies["django_language"] = language
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_the_right_password_does_not_work_after_five_failures_and_the_page_says_when():
    user = user_of("hospital")
    client = Client()
    for _ in range(4):
        assert _sign_in(client, user.username, "wrong").status_code == 200  # the form again
    locked = _sign_in(client, user.username, "wrong")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-in attempts: this account is locked." in page
    assert "(in 15 minutes)" in page
    assert int(locked["Retry-After"]) > 14 * 60
    right = _sign_in(client, user.username, TEST_PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another browser (another address even) cannot sign in to the account either.
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert _sign_in(other, user.username, TEST_PASSWORD).status_code == 429


def test_the_lockout_message_is_in_chinese_for_a_chinese_reader():
    user = user_of("manufacturer")
    client = Client()
    for _ in range(5):
        response = _sign_in(client, user.username, "wrong", language="zh-hans")
    assert response.status_code == 429
    page = response.content.decode()
    assert "登录失败次数过多" in page
    assert "15 分钟后" in page


def test_after_the_cool_off_the_right_password_works_again():
    user = user_of("office")
    client = Client()
    for _ in range(5):
        _sign_in(client, user.username, "wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    response = _sign_in(client, user.username, TEST_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_success_before_the_limit_clears_the_failures():
    user = user_of("hospital")
    client = Client()
    for _ in range(4):
        _sign_in(client, user.username, "wrong")
    assert _sign_in(client, user.username, TEST_PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _sign_in(client, user.username, "wrong").status_code == 200


def test_the_admin_sign_in_is_the_sites_and_locks_too():
    staff = user_of("office")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client = Client()
    # The admin's own form is never shown: it sends to the site's sign-in.
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    posted = client.post(
        reverse("admin:login"), {"username": staff.username, "password": TEST_PASSWORD}
    )
    assert posted.status_code == 302 and "_auth_user_id" not in client.session
    for _ in range(5):
        _sign_in(client, staff.username, "wrong")
    assert _sign_in(client, staff.username, TEST_PASSWORD).status_code == 429
    assert client.get(reverse("admin:index")).status_code == 302  # still not signed in


def test_a_signed_in_user_who_is_not_staff_never_sees_the_admin_sign_in_form():
    client = Client()
    client.force_login(user_of("hospital"))
    response = client.get(reverse("admin:login"))
    assert response.status_code == 403
    assert 'name="password"' not in response.content.decode()
    index = client.get(reverse("admin:index"), follow=True)
    assert index.status_code == 403


def test_staff_reach_the_admin_after_the_sites_sign_in():
    staff = user_of("office")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client = Client()
    first = client.get(reverse("admin:index"), follow=True)
    assert first.redirect_chain[-1][0].startswith(reverse("accounts:login"))
    signed_in = client.post(
        first.redirect_chain[-1][0],
        {"username": staff.username, "password": TEST_PASSWORD, "next": reverse("admin:index")},
    )
    assert signed_in["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200

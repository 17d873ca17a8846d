from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from tests.factories import TEST_PASSWORD, user_of
from tests.procurement.factories import drug_item, hospital_user, make_round


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def office(db):
    return user_of("office")


@pytest.fixture
def hospital(db):
    return hospital_user("11")


@pytest.fixture
def other_hospital(db):
    return hospital_user("11")


@pytest.fixture
def maker(db):
    return user_of("manufacturer")


@pytest.fixture
def open_round(office):
    return make_round(
        office=office,
        items=[drug_item(), drug_item("D-CLO-OS", ("75MG",))],
        open_demand=True,
    )


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client

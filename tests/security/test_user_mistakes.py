"""A tampered or mistyped request is answered with a message, never a 500."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from awards import services
from awards.models import ProvinceChoice
from procurement.models import Round
from tests.awards.factories import awarded_round
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("round_item", ["first", "1.5", "-3", "99999999999999999999999"])
def test_a_pick_for_an_item_that_is_not_a_number_is_refused_with_a_message(
    django_capture_on_commit_callbacks, round_item: str
) -> None:
    built = awarded_round(django_capture_on_commit_callbacks, demand=(("11", 4000), ("31", 3000)))
    assert built.round.status == Round.Status.AWARDED
    services.selection_open(
        round_=built.round, by=built.office, closes_at=timezone.now() + datetime.timedelta(days=1)
    )
    client = Client()
    assert client.login(username=built.makers[0].username, password=TEST_PASSWORD)
    url = reverse("awards:selection", args=[built.round.pk])

    response = client.post(url, {"round_item": round_item, "region": "11"}, follow=True)

    assert response.status_code == 200
    assert gettext("Choose an item of this round.") in response.content.decode()
    assert not ProvinceChoice.objects.filter(selection__round=built.round).exists()

"""The award's API: the office starts an evaluation of its own round and reads the run."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Organization
from awards.models import EvaluationRun
from tests.awards.factories import opened_round
from tests.factories import user_of

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def test_office_starts_an_evaluation_by_api(django_capture_on_commit_callbacks) -> None:
    built = opened_round()
    url = reverse("api-evaluations", args=[built.round.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = api(built.office).post(url)
    assert response.status_code == 202
    run = EvaluationRun.objects.get()
    body = api(built.office).get(reverse("api-run", args=[run.pk])).json()
    assert body["status"] == "done" and body["total_cost"] == "1400.00"
    assert body["is_official"] is True
    for user in (built.hospitals[0], built.makers[0]):
        assert api(user).post(url).status_code == 403
        assert api(user).get(reverse("api-run", args=[run.pk])).status_code == 403
    assert api(user_of(Organization.Kind.OFFICE)).post(url).status_code == 404
    assert (
        api(user_of(Organization.Kind.OFFICE)).get(reverse("api-run", args=[run.pk])).status_code
        == 404
    )
    assert api().post(url).status_code in {401, 403}

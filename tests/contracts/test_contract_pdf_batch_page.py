"""The page of a contract-PDF batch (``contracts.views.pdf_batches``): the office starts
one for its round's contracts and follows "n of m contracts", when it started and
finished; polled by htmx while it runs; a batch with failures, or one that stopped
moving, says what to do and can be started again. Only the round's office sees it."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from contracts.models import Contract, ContractPdfBatch
from tests.contracts.test_contracts import contracted_round
from tests.factories import TEST_PASSWORD, user_of

pytestmark = pytest.mark.django_db


def _client(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _state(html: str) -> str:
    found = re.search(r'id="pdf-batch-progress"[^>]*data-state="(\w+)"', html)
    assert found, html
    return found.group(1)


def test_the_office_starts_a_batch_from_the_contracts_and_follows_it(
    django_capture_on_commit_callbacks, tmp_path, settings
) -> None:
    settings.MEDIA_ROOT = tmp_path
    built = contracted_round(django_capture_on_commit_callbacks)
    client = _client(built.office)
    listing = client.get(reverse("contracts:contracts"), {"round": built.round.pk})
    start = reverse("contracts:contract-pdf-batch-start", args=[built.round.pk])
    assert start in listing.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(start)
    batch = ContractPdfBatch.objects.get(round=built.round)
    assert response.status_code == 302
    assert response["Location"] == reverse("contracts:contract-pdf-batch", args=[batch.pk])
    page = client.get(response["Location"]).content.decode()
    assert _state(page) == "done"
    assert (batch.total, batch.done, batch.failed) == (3, 3, 0)
    assert "3 of 3 contracts" in page
    assert timezone.localtime(batch.finished_at).strftime("%Y-%m-%d %H:%M:%S") in page
    assert "hx-get" not in page.split('id="pdf-batch-progress"')[1].split(">")[0]
    assert all(c.pdf_ready for c in Contract.objects.filter(round=built.round))


def test_a_running_batch_is_polled_and_shows_its_count_in_both_languages(
    django_capture_on_commit_callbacks,
) -> None:
    built = contracted_round(django_capture_on_commit_callbacks)
    batch = ContractPdfBatch.objects.create(round=built.round, total=3, chunks=2, done=1)
    progress = reverse("contracts:contract-pdf-batch-progress", args=[batch.pk])
    for language, count in (("en", "1 of 3 contracts"), ("zh-hans", "3 份合同中已有 1 份")):
        partial = _client(built.office, language).get(progress, HTTP_HX_REQUEST="true")
        html = partial.content.decode()
        assert _state(html) == "running"
        assert f'hx-get="{progress}"' in html and 'hx-trigger="every 2s"' in html
        assert count in html
        assert "Start the batch again" not in html
    # Without htmx the partial's address leads to the page.
    assert _client(built.office).get(progress)["Location"] == reverse(
        "contracts:contract-pdf-batch", args=[batch.pk]
    )


def test_a_batch_with_failures_says_what_to_do_and_starts_again(
    django_capture_on_commit_callbacks, tmp_path, settings
) -> None:
    settings.MEDIA_ROOT = tmp_path
    built = contracted_round(django_capture_on_commit_callbacks)
    batch = ContractPdfBatch.objects.create(
        round=built.round, total=3, chunks=1, done=2, failed=1, finished_at=timezone.now()
    )
    client = _client(built.office)
    page = client.get(reverse("contracts:contract-pdf-batch", args=[batch.pk])).content.decode()
    assert _state(page) == "failed"
    assert 'class="batch-failed">1<' in page and 'role="alert"' in page
    again = reverse("contracts:contract-pdf-batch-again", args=[batch.pk])
    assert f'action="{again}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(again)
    new = ContractPdfBatch.objects.exclude(pk=batch.pk).get()
    assert response["Location"] == reverse("contracts:contract-pdf-batch", args=[new.pk])
    new.refresh_from_db()
    assert (new.total, new.done, new.failed) == (3, 3, 0) and new.finished_at is not None
    chinese = _client(built.office, "zh-hans").get(
        reverse("contracts:contract-pdf-batch", args=[batch.pk])
    )
    assert "重新开始" in chinese.content.decode()


def test_a_batch_that_stopped_moving_is_no_longer_polled_and_says_so(
    django_capture_on_commit_callbacks,
) -> None:
    built = contracted_round(django_capture_on_commit_callbacks)
    batch = ContractPdfBatch.objects.create(round=built.round, total=3, chunks=2, done=1)
    ContractPdfBatch.objects.filter(pk=batch.pk).update(
        updated_at=timezone.now() - datetime.timedelta(hours=1)
    )
    html = (
        _client(built.office)
        .get(reverse("contracts:contract-pdf-batch", args=[batch.pk]))
        .content.decode()
    )
    assert _state(html) == "stalled"
    assert 'hx-trigger="every 2s"' not in html
    assert reverse("contracts:contract-pdf-batch-again", args=[batch.pk]) in html


def test_another_office_or_a_party_does_not_see_the_batch(
    django_capture_on_commit_callbacks,
) -> None:
    built = contracted_round(django_capture_on_commit_callbacks)
    batch = ContractPdfBatch.objects.create(round=built.round, total=3, chunks=1)
    page = reverse("contracts:contract-pdf-batch", args=[batch.pk])
    other = _client(user_of(Organization.Kind.OFFICE))
    assert other.get(page).status_code == 404
    assert (
        other.post(reverse("contracts:contract-pdf-batch-again", args=[batch.pk])).status_code
        == 404
    )
    assert (
        other.post(reverse("contracts:contract-pdf-batch-start", args=[built.round.pk])).status_code
        == 404
    )
    assert _client(built.hospitals[0]).get(page).status_code in {302, 403}
    assert ContractPdfBatch.objects.count() == 1

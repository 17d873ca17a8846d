"""The contract page's PDF: polled while it is prepared, late after the task's time limit
and a margin (polling stops, the page says so and offers to request it again), and never
rendered twice for one request made twice."""

from __future__ import annotations

import datetime
import re
import time
from urllib.parse import unquote

import pytest
from django.core import signing
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contracts import tasks
from contracts.models import Contract
from contracts.views import contracts as views
from tests.contracts.test_contracts import contracted_round
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _client(user, *, htmx: bool = True) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=user.username, password=TEST_PASSWORD)
    if htmx:
        client.defaults["HTTP_HX_REQUEST"] = "true"
    return client


def _since(contract: Contract, seconds_ago: float) -> str:
    """The token the page's poll carries, as if the PDF was requested ``seconds_ago``."""
    moment = timezone.now().timestamp() - seconds_ago
    return signing.dumps([contract.pk, moment], salt=views.PDF_WAIT_SALT)


def _rendered_files(media) -> list[str]:
    """The contract PDFs stored (the award-result PDFs live under reports/)."""
    return sorted(p.name for p in (media / "contracts").rglob("*.pdf"))


@pytest.fixture
def contract(django_capture_on_commit_callbacks, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    built = contracted_round(django_capture_on_commit_callbacks)
    contract = Contract.objects.get(hospital=built.hospitals[0].organization)
    contract.built = built
    return contract


def _status(client: Client, contract: Contract, since: str | None = None) -> str:
    url = reverse("contracts:contract-pdf-status", args=[contract.pk])
    response = client.get(url, {"since": since} if since else {})
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_polls_with_the_time_of_the_request_until_the_wait_is_over(
    contract, django_capture_on_commit_callbacks
) -> None:
    hospital = contract.built.hospitals[0]
    client = _client(hospital)
    with django_capture_on_commit_callbacks() as queued:  # the worker never runs them
        page = client.get(reverse("contracts:contract", args=[contract.pk])).content.decode()
    assert len(queued) == 1  # the page asked for the PDF
    assert 'hx-trigger="every 2s"' in page and "PDF being prepared" in page

    first_poll = _status(client, contract)  # starts the clock
    token = re.search(r"\?since=([^\"]+)\"", first_poll).group(1)
    assert 'hx-trigger="every 2s"' in first_poll
    again = _status(client, contract, unquote(token))
    assert 'hx-trigger="every 2s"' in again and "Taking longer" not in again

    wait = tasks.CONTRACT_PDF_WAIT.total_seconds()
    assert wait == tasks.CONTRACT_PDF_TIME_LIMIT + 60
    in_time = _status(client, contract, _since(contract, wait - 5))
    assert 'hx-trigger="every 2s"' in in_time and "PDF being prepared" in in_time

    late = _status(client, contract, _since(contract, wait + 5))
    assert "hx-get" not in late and "hx-trigger" not in late  # the polling stops
    assert "Taking longer than expected" in late
    assert (
        "The PDF is still not ready after 3 minutes: the background workers may be busy or "
        "stopped. You can request it again; a PDF already being prepared is not prepared twice."
    ) in late
    assert "Request the PDF again" in late and 'name="csrfmiddlewaretoken"' in late
    assert 'aria-describedby="contract-pdf-late"' in late


def test_a_token_of_another_contract_or_altered_starts_the_clock_again(contract) -> None:
    client = _client(contract.built.hospitals[0])
    other = Contract.objects.exclude(pk=contract.pk).first()
    wait = tasks.CONTRACT_PDF_WAIT.total_seconds()
    for token in (_since(other, wait + 60), _since(contract, wait + 60)[:-2] + "xx", "junk"):
        html = _status(client, contract, token)
        assert "Taking longer" not in html and 'hx-trigger="every 2s"' in html


def test_requesting_again_queues_the_task_and_focuses_the_new_status(
    contract, django_capture_on_commit_callbacks, tmp_path
) -> None:
    client = _client(contract.built.hospitals[0])
    url = reverse("contracts:contract-pdf-status", args=[contract.pk])
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(url)
    assert response.status_code == 200 and len(queued) == 1
    html = response.content.decode()
    assert 'hx-trigger="every 2s"' in html  # polling again, with a fresh clock
    assert 'tabindex="-1" autofocus' in html and "PDF being prepared" in html
    token = unquote(re.search(r"\?since=([^\"]+)\"", html).group(1))
    assert "autofocus" not in _status(client, contract, token)  # only right after the click

    queued[0]()  # the worker comes back
    done = _status(client, contract, token)
    assert "PDF (Chinese)" in done and "hx-get" not in done
    assert len(_rendered_files(tmp_path)) == 2


def test_requesting_twice_renders_once(contract, django_capture_on_commit_callbacks, tmp_path):
    """The page asked, the user asked again: two tasks queued, one render."""
    hospital = contract.built.hospitals[0]
    client = _client(hospital)
    with django_capture_on_commit_callbacks() as queued:
        client.get(reverse("contracts:contract", args=[contract.pk]))
        client.post(reverse("contracts:contract-pdf-status", args=[contract.pk]))
    assert len(queued) == 2
    for task in queued:
        task()
    contract.refresh_from_db()
    assert contract.pdf_ready
    assert _rendered_files(tmp_path) == [
        f"{contract.number}-r{contract.revision}-en.pdf",
        f"{contract.number}-r{contract.revision}-zh.pdf",
    ]
    # Once ready, asking again queues nothing and the page shows the links.
    with django_capture_on_commit_callbacks() as queued:
        html = client.post(reverse("contracts:contract-pdf-status", args=[contract.pk]))
    assert queued == [] and "PDF (English)" in html.content.decode()


def test_without_htmx_requesting_again_returns_to_the_contract_with_a_message(
    contract, django_capture_on_commit_callbacks
) -> None:
    client = _client(contract.built.hospitals[0], htmx=False)
    url = reverse("contracts:contract-pdf-status", args=[contract.pk])
    with django_capture_on_commit_callbacks():
        response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("contracts:contract", args=[contract.pk])
    assert "The PDF is requested again; it appears here when ready." in response.content.decode()


def test_only_the_parties_and_the_office_may_request_it(
    contract, django_capture_on_commit_callbacks
) -> None:
    built = contract.built
    url = reverse("contracts:contract-pdf-status", args=[contract.pk])
    with django_capture_on_commit_callbacks() as queued:
        assert _client(built.hospitals[1]).post(url).status_code == 404
        assert _client(built.makers[1]).post(url).status_code == 404
        assert Client().post(url).status_code == 302  # to the sign-in page
    assert queued == []
    for user in (built.office, built.makers[0]):
        with django_capture_on_commit_callbacks() as queued:
            assert _client(user).post(url).status_code == 200
        assert len(queued) == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_render_under_way_is_not_started_again(
    django_capture_on_commit_callbacks, tmp_path, settings
) -> None:
    """On PostgreSQL: while another worker holds the contract's render lock, the task
    returns without rendering; once the lock is released, the task renders."""
    from config.celery import app

    app.conf.task_always_eager = True  # the round is built in-process (restored after)
    settings.MEDIA_ROOT = tmp_path
    built = contracted_round(django_capture_on_commit_callbacks)
    contract = Contract.objects.get(hospital=built.hospitals[0].organization)
    assert connection.vendor == "postgresql" and not contract.pdf_ready
    other_worker = connections.create_connection("default")
    key = [tasks.PDF_LOCK_NAMESPACE, contract.pk]
    try:
        with other_worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
        tasks.contract_pdf_task(contract.pk)
        contract.refresh_from_db()
        assert not contract.pdf_ready and _rendered_files(tmp_path) == []
        with other_worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    finally:
        other_worker.close()
    tasks.contract_pdf_task(contract.pk)
    contract.refresh_from_db()
    assert contract.pdf_ready and len(_rendered_files(tmp_path)) == 2


def test_the_late_state_reads_in_chinese(contract) -> None:
    client = _client(contract.built.hospitals[0])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    wait = tasks.CONTRACT_PDF_WAIT.total_seconds()
    late = _status(client, contract, _since(contract, wait + 5))
    assert "生成时间超出预期" in late and "重新请求生成 PDF" in late
    assert "已超过 3 分钟，PDF 仍未生成" in late


# --- one request per wait: reloads and other readers of the page queue nothing more -------


@pytest.fixture
def fresh_cache():
    """The request windows live in the cache: no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


def _tasks_queued_by_two_visits(client: Client, contract: Contract, capture) -> int:
    page_url = reverse("contracts:contract", args=[contract.pk])
    with capture() as queued:
        assert client.get(page_url).status_code == 200
        assert client.get(page_url).status_code == 200
    return len(queued)


def test_two_visits_queue_one_task(
    contract, fresh_cache, django_capture_on_commit_callbacks
) -> None:
    """The hospital reloads, the manufacturer and the office open the contract, somebody
    follows a download link: one task; every page waits from the first request."""
    built = contract.built
    page_url = reverse("contracts:contract", args=[contract.pk])
    with django_capture_on_commit_callbacks() as queued:
        first = _client(built.hospitals[0], htmx=False).get(page_url).content.decode()
        reload = _client(built.hospitals[0], htmx=False).get(page_url).content.decode()
        maker = _client(built.makers[0], htmx=False).get(page_url).content.decode()
        office = _client(built.office, htmx=False).get(page_url).content.decode()
        download = _client(built.hospitals[0], htmx=False).get(
            reverse("contracts:contract-pdf", args=[contract.pk, "en"])
        )
    assert len(queued) == 1
    assert download.status_code == 302 and download["Location"] == page_url
    pages = (first, reload, maker, office)
    tokens = [re.search(r"\?since=([^\"]+)\"", html).group(1) for html in pages]
    # The same time of the first request on every page (the signed value; the signature's
    # own timestamp is the second each page was made, which may differ under load).
    assert len({unquote(t).split(":", 1)[0] for t in tokens}) == 1
    since = views._pdf_wait_since(unquote(tokens[0]), contract)
    assert all(views._pdf_wait_since(unquote(t), contract) == since for t in tokens)
    assert since is not None and abs(timezone.now().timestamp() - since) < 60
    # The page's first poll keeps that time (it does not start a new clock).
    first_poll = _status(_client(built.hospitals[0]), contract)  # a page without a token
    assert "Taking longer" not in first_poll

    queued[0]()  # the worker renders it: the links, and no request at all
    with django_capture_on_commit_callbacks() as queued:
        ready = _client(built.hospitals[0], htmx=False).get(page_url).content.decode()
    assert queued == [] and "PDF (English)" in ready and "?since=" not in ready


def test_once_the_wait_is_over_a_visit_queues_again(
    contract, fresh_cache, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    """A task lost with a stopped worker is not waited for forever: the window ends with
    the wait, and the next visit asks again."""
    monkeypatch.setattr(views, "CONTRACT_PDF_WAIT", datetime.timedelta(seconds=1))
    client = _client(contract.built.hospitals[0], htmx=False)
    assert _tasks_queued_by_two_visits(client, contract, django_capture_on_commit_callbacks) == 1
    time.sleep(1.2)
    assert _tasks_queued_by_two_visits(client, contract, django_capture_on_commit_callbacks) == 1


def test_a_new_revision_is_asked_for_at_once(
    contract, fresh_cache, django_capture_on_commit_callbacks
) -> None:
    """The window is the revision's: after a confirmation the new PDF is queued on the
    next visit, not three minutes later."""
    client = _client(contract.built.hospitals[0], htmx=False)
    assert _tasks_queued_by_two_visits(client, contract, django_capture_on_commit_callbacks) == 1
    confirm = reverse("contracts:contract-confirm", args=[contract.pk])
    with django_capture_on_commit_callbacks():
        assert client.post(confirm).status_code == 302
    contract.refresh_from_db()
    assert contract.status == Contract.Status.AWAITING_MANUFACTURER
    assert _tasks_queued_by_two_visits(client, contract, django_capture_on_commit_callbacks) == 1


def test_requesting_again_restarts_the_wait_for_every_page(
    contract, fresh_cache, django_capture_on_commit_callbacks
) -> None:
    hospital = contract.built.hospitals[0]
    page_url = reverse("contracts:contract", args=[contract.pk])
    with django_capture_on_commit_callbacks() as queued:
        _client(hospital).post(reverse("contracts:contract-pdf-status", args=[contract.pk]))
        page = _client(contract.built.makers[0], htmx=False).get(page_url).content.decode()
    assert len(queued) == 1  # the visit after the button queues nothing more
    assert "PDF being prepared" in page and 'hx-trigger="every 2s"' in page

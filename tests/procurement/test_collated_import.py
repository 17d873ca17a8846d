"""The office's collated demand import: checked and written by tasks, followed on a page.

upload -> preview-queued -> previewing -> previewed (counts, errors, confirm) -> queued ->
running -> done or failed. The tests run the tasks in-process (no broker), executing the
``on_commit`` callbacks that enqueue them; ``test_demand_postgresql`` runs them on a real
worker.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import StoredUpload
from common.uploads import ERRORS_KEPT
from procurement.models import DemandChange, DemandDeclaration
from tests.factories import user_of
from tests.procurement.conftest import client_for
from tests.procurement.factories import hospital_user

pytestmark = pytest.mark.django_db

HEADER = "hospital code,item code,specification code,quantity\n"


@pytest.fixture
def office_en(office):
    """The tasks write their messages in the language the user chose."""
    office.language = "en"
    office.save(update_fields=["language"])
    return office


def _upload(client, round_, content: bytes, capture, name: str = "all.csv"):
    url = reverse("procurement:demand-office-import", args=[round_.code])
    with capture(execute=True) as callbacks:
        response = client.post(url, {"file": SimpleUploadedFile(name, content)})
    return response, callbacks


def _status_url(round_, upload: StoredUpload) -> str:
    return reverse("procurement:demand-office-import-status", args=[round_.code, upload.token])


def test_a_file_with_bad_rows_is_refused_by_the_check_with_row_numbers_and_nothing_written(
    open_round, office_en, hospital, django_capture_on_commit_callbacks
):
    far = hospital_user("44")
    own = hospital.organization.social_credit_code
    far_code = far.organization.social_credit_code
    content = (
        HEADER + f"{own},D-ATV-OS,10MG,10\n"
        f"{far_code},D-ATV-OS,10MG,10\n"
        ",D-ATV-OS,20MG,10\n"
        "91110100MA0000000X,D-ATV-OS,20MG,10\n"
    ).encode()
    client = client_for(office_en)
    response, callbacks = _upload(client, open_round, content, django_capture_on_commit_callbacks)
    upload = StoredUpload.objects.get()
    # The request only stores the file and enqueues the check.
    assert len(callbacks) == 1
    assert response.status_code == 302
    assert response["Location"] == _status_url(open_round, upload)
    assert upload.status == StoredUpload.Status.FAILED
    assert upload.result["phase"] == "check"
    assert upload.result["error_count"] == 3
    assert bytes(upload.data) == b""
    assert not DemandDeclaration.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "Not imported" in page
    summary = re.search(
        r'<div class="error-summary" role="alert" tabindex="-1">(.*?)</div>', page, re.S
    )
    assert summary is not None
    summary_html = summary.group(1)
    assert "3 problems found: nothing was written." in summary_html
    rows = re.findall(
        r'<tr class="row-error"><td class="num">(\d*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>',
        summary_html,
    )
    assert [(row, message) for row, _column, message in rows] == [
        ("3", f"hospital “{far_code}” is outside the round&#x27;s region scope."),
        ("4", "a value is required."),
        ("5", "“91110100MA0000000X” is not a hospital on the platform."),
    ]
    assert "Import all rows" not in page
    assert "Upload a corrected file" in page
    # Finished: the page no longer polls.
    assert "hx-trigger" not in page


def test_a_valid_file_is_checked_then_confirmed_then_imported_all_at_once(
    open_round, office_en, hospital, django_capture_on_commit_callbacks
):
    own = hospital.organization.social_credit_code
    content = (HEADER + f"{own},D-ATV-OS,10MG,10\n{own},D-CLO-OS,75MG,1200\n").encode()
    client = client_for(office_en)
    response, _callbacks = _upload(client, open_round, content, django_capture_on_commit_callbacks)
    status_url = response["Location"]
    upload = StoredUpload.objects.get()
    assert upload.status == StoredUpload.Status.PREVIEWED
    assert (upload.result["total"], upload.result["created"]) == (2, 2)
    assert not DemandDeclaration.objects.exists()  # checked, not written
    page = client.get(status_url).content.decode()
    assert "Checked: waiting for your confirmation" in page
    assert f"{own} · D-CLO-OS 75MG: 1,200" in page
    assert f'name="token" value="{upload.token}"' in page
    assert "Import all rows" in page
    # The round page links to the unfinished import, so the office can leave and return.
    round_page = client.get(reverse("procurement:round", args=[open_round.code])).content.decode()
    assert f'href="{status_url}"' in round_page
    # Confirming queues the commit; it runs in a task and writes every line in one go.
    import_url = reverse("procurement:demand-office-import", args=[open_round.code])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(import_url, {"token": str(upload.token), "commit": "1"})
    # The import task, then (from the import) the demand totals snapshot's refresh.
    assert len(callbacks) == 2
    assert response.status_code == 302 and response["Location"] == status_url
    assert DemandDeclaration.objects.count() == 2
    assert {(c.by, c.channel) for c in DemandChange.objects.all()} == {(office_en, "upload")}
    upload.refresh_from_db()
    assert upload.status == StoredUpload.Status.DONE
    assert upload.result["phase"] == "import"
    page = client.get(status_url).content.decode()
    assert "Imported" in page and '<dd class="num">2</dd>' in page
    # Done: the round page no longer points at it.
    round_page = client.get(reverse("procurement:round", args=[open_round.code])).content.decode()
    assert status_url not in round_page
    # A second click imports nothing twice.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(import_url, {"token": str(upload.token), "commit": "1"}, follow=True)
    assert not callbacks
    assert "This file has already been imported." in response.content.decode()
    assert DemandChange.objects.count() == 2
    # Another office user cannot follow this import.
    other = client_for(user_of("office"))
    assert other.get(status_url).status_code == 404


def test_the_status_page_polls_while_the_file_waits_and_says_it_can_be_left(
    open_round, office_en, hospital, django_capture_on_commit_callbacks
):
    own = hospital.organization.social_credit_code
    client = client_for(office_en)
    url = reverse("procurement:demand-office-import", args=[open_round.code])
    # The task has not run yet (the callbacks are not executed).
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            url,
            {"file": SimpleUploadedFile("a.csv", (HEADER + f"{own},D-ATV-OS,10MG,3\n").encode())},
        )
    upload = StoredUpload.objects.get()
    assert upload.status == StoredUpload.Status.PREVIEW_QUEUED
    page = client.get(response["Location"]).content.decode()
    assert "Waiting to be checked" in page
    assert "you can leave it and come back from the round page" in page
    assert 'hx-trigger="every 2s"' in page
    assert '<li aria-current="step">' in page
    partial = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "<h1>" not in partial and 'hx-trigger="every 2s"' in partial
    assert 'id="import-announce" hx-swap-oob="innerHTML"' in partial
    # A second file is refused while this one is unfinished, with a link to it.
    response = client.post(
        url, {"file": SimpleUploadedFile("b.csv", (HEADER + f"{own},D-ATV-OS,10MG,4\n").encode())}
    )
    assert response.status_code == 409
    assert "Your file a.csv is still being checked or imported" in response.content.decode()
    assert _status_url(open_round, upload) in response.content.decode()
    assert StoredUpload.objects.count() == 1
    # The check runs; the partial now offers the confirmation and moves the focus to it.
    callbacks[0]()
    callbacks[0]()  # redelivered: does nothing
    upload.refresh_from_db()
    assert upload.status == StoredUpload.Status.PREVIEWED
    partial = client.get(response_url := _status_url(open_round, upload), HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert "hx-trigger" not in html
    assert 'tabindex="-1" autofocus' in html
    assert "Import all rows" in client.get(response_url).content.decode()


def test_a_checked_file_can_be_discarded_without_writing(
    open_round, office_en, hospital, django_capture_on_commit_callbacks
):
    own = hospital.organization.social_credit_code
    client = client_for(office_en)
    _upload(
        client,
        open_round,
        (HEADER + f"{own},D-ATV-OS,10MG,3\n").encode(),
        django_capture_on_commit_callbacks,
    )
    upload = StoredUpload.objects.get()
    url = reverse("procurement:demand-office-import", args=[open_round.code])
    response = client.post(url, {"token": str(upload.token), "discard": "1"}, follow=True)
    assert "The file all.csv was discarded; nothing was written." in response.content.decode()
    assert not StoredUpload.objects.exists()
    assert not DemandDeclaration.objects.exists()


def test_a_file_being_imported_cannot_be_discarded(open_round, office_en):
    from common.uploads import upload_store

    upload = upload_store(
        user=office_en,
        purpose="demand-collated",
        scope=open_round.code,
        filename="x.csv",
        data=b"x",
        status=StoredUpload.Status.RUNNING,
    )
    url = reverse("procurement:demand-office-import", args=[open_round.code])
    response = client_for(office_en).post(
        url, {"token": str(upload.token), "discard": "1"}, follow=True
    )
    assert "This file is already being imported." in response.content.decode()
    assert StoredUpload.objects.filter(pk=upload.pk).exists()


def test_only_the_first_errors_are_kept_but_all_are_counted(
    open_round, office_en, hospital, django_capture_on_commit_callbacks
):
    bad = ERRORS_KEPT + 20
    # Hospitals the platform does not know: one error per row.
    content = (HEADER + "".join(f"9{i:017d},D-ATV-OS,10MG,5\n" for i in range(bad))).encode()
    client = client_for(office_en)
    response, _callbacks = _upload(client, open_round, content, django_capture_on_commit_callbacks)
    upload = StoredUpload.objects.get()
    assert upload.result["error_count"] == bad
    assert len(upload.result["errors"]) == ERRORS_KEPT
    page = client.get(response["Location"]).content.decode()
    assert f"{bad} problems found" in page
    assert "… and 20 more." in page


def test_the_check_reports_in_chinese_for_a_user_who_reads_chinese(
    open_round, office, hospital, django_capture_on_commit_callbacks
):
    office.language = "zh-hans"
    office.save(update_fields=["language"])
    own = hospital.organization.social_credit_code
    _upload(
        client_for(office),
        open_round,
        (HEADER + f"{own},D-ATV-OS,10MG,2.5\n").encode(),
        django_capture_on_commit_callbacks,
    )
    message = StoredUpload.objects.get().result["errors"][0]["message"]
    assert message == "“2.5”不是整数。", message


def test_a_task_that_died_does_not_block_the_next_file(
    open_round, office_en, hospital, django_capture_on_commit_callbacks, settings
):
    import datetime

    from django.utils import timezone

    from common.uploads import upload_store

    stalled = upload_store(
        user=office_en,
        purpose="demand-collated",
        scope=open_round.code,
        filename="lost.csv",
        data=b"x",
        status=StoredUpload.Status.RUNNING,
    )
    client = client_for(office_en)
    status_url = _status_url(open_round, stalled)
    # Claimed a moment ago: still importing, the page polls and a new file waits.
    StoredUpload.objects.filter(pk=stalled.pk).update(started_at=timezone.now())
    assert 'hx-trigger="every 2s"' in client.get(status_url).content.decode()
    own = hospital.organization.social_credit_code
    content = (HEADER + f"{own},D-ATV-OS,10MG,3\n").encode()
    response, _callbacks = _upload(client, open_round, content, django_capture_on_commit_callbacks)
    assert response.status_code == 409
    # Claimed longer ago than Celery lets a task run: its worker died.
    settings.CELERY_TASK_TIME_LIMIT = 600
    StoredUpload.objects.filter(pk=stalled.pk).update(
        started_at=timezone.now() - datetime.timedelta(seconds=700)
    )
    page = client.get(status_url).content.decode()
    assert "The background task stopped without finishing" in page
    assert "hx-trigger" not in page
    round_page = client.get(reverse("procurement:round", args=[open_round.code])).content.decode()
    assert status_url not in round_page
    response, _callbacks = _upload(client, open_round, content, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert not StoredUpload.objects.filter(pk=stalled.pk).exists()
    assert StoredUpload.objects.get().status == StoredUpload.Status.PREVIEWED


def test_a_file_waiting_in_the_queue_can_be_discarded(open_round, office_en):
    from common.uploads import upload_store

    upload = upload_store(
        user=office_en,
        purpose="demand-collated",
        scope=open_round.code,
        filename="q.csv",
        data=b"x",
        status=StoredUpload.Status.PREVIEW_QUEUED,
    )
    url = reverse("procurement:demand-office-import", args=[open_round.code])
    client_for(office_en).post(url, {"token": str(upload.token), "discard": "1"})
    assert not StoredUpload.objects.exists()
    # The task then finds nothing to claim.
    from procurement.tasks import demand_collated_preview_task

    demand_collated_preview_task.delay(str(upload.token))
    assert not StoredUpload.objects.exists()

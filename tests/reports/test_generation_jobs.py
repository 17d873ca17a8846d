"""Generation jobs: the award-result PDF and the report batches show a pending state the
page polls, end with the links and hashes (or the failures), count redelivered work once,
and the award-result PDF is generated as soon as the award is finalized."""

from __future__ import annotations

import datetime
import functools
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from awards import services as award_services
from awards.models import Objection
from common.pagination import paginate
from common.pdf import MissingGlyphsError, render_pdf
from procurement.models import Round
from reports import services, views
from reports.models import GenerationJob, ReportDocument
from tests.factories import TEST_PASSWORD
from tests.reports.factories import small_awarded_round

pytestmark = pytest.mark.django_db


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _quick_party_pdfs(monkeypatch: pytest.MonkeyPatch, failing: set[int] = frozenset()) -> None:
    """One-line party PDFs (the contents are tested in test_party_reports.py); the
    organizations in ``failing`` cannot be rendered."""

    def render(*, round_, run, kind, organization, language):
        if organization.pk in failing:
            raise MissingGlyphsError("no glyph in Noto Sans CJK SC for: '🧪' U+1F9EA")
        return render_pdf(f"<p>{kind} {organization.pk} {language}</p>")

    monkeypatch.setattr(services, "party_report_render", render)


def test_publishing_shows_a_pending_state_until_both_languages_are_ready(
    django_capture_on_commit_callbacks,
) -> None:
    built = small_awarded_round(code="R-JOB-1")
    office = client_for(built.office)
    analysis = reverse("reports:office-analysis", args=[built.round.pk])
    poll = reverse("reports:award-job-progress", args=[built.round.pk])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = office.post(reverse("reports:publish", args=[built.round.pk]), follow=True)
    page = response.content.decode()
    assert "The award-result PDF is being generated in Chinese and English." in page
    assert "0 of 2 documents ready." in page
    assert f'hx-get="{poll}"' in page
    assert "you can leave it and come back" in page
    job = GenerationJob.objects.get(round=built.round)
    assert (job.kind, job.total, job.done, job.is_pending) == ("award_result", 2, 0, True)

    # Leaving and coming back: the page still shows the same pending job, and the
    # office's home says it is under way.
    assert f'hx-get="{poll}"' in office.get(analysis).content.decode()
    home = office.get(reverse("accounts:home"), follow=True).content.decode()
    assert "R-JOB-1" in home and "Being generated" in home
    pending = office.get(poll, HTTP_HX_REQUEST="true")
    assert "hx-get" in pending.content.decode() and "HX-Refresh" not in pending
    for callback in callbacks:
        callback()  # the worker's turn (tasks run in-process here)
    response = office.get(poll, HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"  # the page reloads once, with the new button
    partial = response.content.decode()
    assert "hx-get" not in partial  # done: polling stops
    documents = ReportDocument.objects.filter(round=built.round)
    assert documents.count() == 2
    for document in documents:
        assert document.sha256 in partial
        assert reverse("reports:award-pdf", args=[built.round.pk, document.language]) in partial
    job.refresh_from_db()
    assert (job.done, job.failed, job.is_pending) == (2, 0, False)
    assert sorted(job.parts_finished) == ["award:en", "award:zh-hans"]


def test_a_second_request_while_generating_queues_nothing_more(
    django_capture_on_commit_callbacks,
) -> None:
    built = small_awarded_round(code="R-JOB-2")
    url = reverse("reports:publish", args=[built.round.pk])
    with django_capture_on_commit_callbacks(execute=False) as first:
        client_for(built.office).post(url)
    with django_capture_on_commit_callbacks(execute=False) as second:
        client_for(built.office).post(url)
    assert len(first) == 1 and second == []
    assert GenerationJob.objects.filter(round=built.round).count() == 1


def test_a_language_that_fails_is_reported_and_the_page_stops_waiting(
    django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = small_awarded_round(code="R-JOB-3")
    real = services.award_result_render

    def render(*, round_, run, language, **kwargs):
        if language == "en":
            raise MissingGlyphsError("no glyph in Noto Sans CJK SC for: '🧪' U+1F9EA")
        return real(round_=round_, run=run, language=language, **kwargs)

    monkeypatch.setattr(services, "award_result_render", render)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client_for(built.office).post(reverse("reports:publish", args=[built.round.pk]))
    with pytest.raises(MissingGlyphsError):  # eager tasks propagate; a worker would log it
        for callback in callbacks:
            callback()
    job = GenerationJob.objects.get(round=built.round)
    assert (job.done, job.failed, job.is_pending) == (1, 1, False)
    assert job.failures == [
        {
            "organization": "",
            "language": "en",
            "error": "MissingGlyphsError: no glyph in Noto Sans CJK SC for: '🧪' U+1F9EA",
        }
    ]
    page = client_for(built.office).get(reverse("reports:office-analysis", args=[built.round.pk]))
    html = page.content.decode()
    assert "1 of 2 documents could not be generated" in html
    assert "English: MissingGlyphsError" in html
    assert "award-job-progress" not in html  # nothing to poll
    assert ReportDocument.objects.get(round=built.round).language == "zh-hans"


def test_finalizing_the_award_generates_the_award_result_pdf(
    django_capture_on_commit_callbacks,
) -> None:
    built = small_awarded_round(code="R-JOB-4", status=Round.Status.OBJECTION)
    assert not Objection.objects.filter(round=built.round).exists()
    with django_capture_on_commit_callbacks(execute=True):
        award_services.award_finalize(round_=built.round, by=built.office)
    job = GenerationJob.objects.get(round=built.round)
    assert (job.kind, job.requested_by, job.done, job.is_pending) == (
        "award_result",
        None,  # the platform, not a person
        2,
        False,
    )
    documents = ReportDocument.objects.filter(round=built.round, kind="award_result")
    assert sorted(documents.values_list("language", flat=True)) == ["en", "zh-hans"]
    public = client_for().get(reverse("reports:public-round", args=[built.round.pk]))
    for document in documents:
        assert document.sha256 in public.content.decode()


def test_a_finalize_that_is_refused_queues_no_pdf(django_capture_on_commit_callbacks) -> None:
    built = small_awarded_round(code="R-JOB-5", status=Round.Status.EVALUATED)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        translation.override("en"),
        pytest.raises(ValidationError, match="objection period"),
    ):
        award_services.award_finalize(round_=built.round, by=built.office)
    assert callbacks == []
    assert not GenerationJob.objects.exists()


def test_a_stalled_job_says_so_and_may_be_started_again(
    django_capture_on_commit_callbacks,
) -> None:
    built = small_awarded_round(code="R-JOB-6")
    url = reverse("reports:publish", args=[built.round.pk])
    with django_capture_on_commit_callbacks(execute=False):
        client_for(built.office).post(url)
    stale = timezone.now() - datetime.timedelta(hours=1)
    GenerationJob.objects.update(updated_at=stale)
    html = (
        client_for(built.office)
        .get(reverse("reports:office-analysis", args=[built.round.pk]))
        .content.decode()
    )
    assert "made no progress for a long time" in html
    assert "award-job-progress" not in html
    with django_capture_on_commit_callbacks(execute=True):
        client_for(built.office).post(url)
    latest = GenerationJob.objects.order_by("-pk").first()
    assert GenerationJob.objects.count() == 2 and latest.done == 2


def test_report_batches_show_n_of_n_and_the_failures(
    django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = small_awarded_round(code="R-JOB-7")
    monkeypatch.setattr(services, "PARTY_BATCH_SIZE", 2)
    pfizer = built.makers["辉瑞制药有限公司"].organization
    _quick_party_pdfs(monkeypatch, failing={pfizer.pk})
    office = client_for(built.office)
    poll = reverse("reports:party-job-progress", args=[built.round.pk])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        page = office.post(
            reverse("reports:publish-party-reports", args=[built.round.pk]), follow=True
        ).content.decode()
    # 2 hospitals with allocations and 6 bidders, in Chinese and English
    assert "0 of 16 reports done, 0 failed." in page
    assert f'hx-get="{poll}"' in page
    for callback in callbacks:
        callback()
    partial = office.get(poll, HTTP_HX_REQUEST="true").content.decode()
    assert "14 of 16 reports done, 2 failed" in partial
    assert "Finished with failures" in partial
    assert "hx-get" not in partial
    assert partial.count(pfizer.name) == 2  # once per language
    assert "MissingGlyphsError" in partial
    assert "14 reports stored." in partial
    job = GenerationJob.objects.get(round=built.round, kind="party_reports")
    # hospitals: 1 batch of 2; manufacturers: 3 batches of 2; each in two languages
    assert len(job.parts_finished) == (1 + 3) * 2


def test_a_redelivered_batch_is_counted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built = small_awarded_round(code="R-JOB-8")
    _quick_party_pdfs(monkeypatch)
    hospitals = [built.hospitals[c].organization.pk for c in ("11", "31")]
    now = timezone.now()
    job = GenerationJob.objects.create(
        round=built.round,
        kind="party_reports",
        total=4,
        requested_at=now,
        updated_at=now,
    )
    for _ in range(2):  # acks_late: a worker killed after the work redelivers the task
        services.party_reports_generate(
            round_id=built.round.pk,
            kind="hospital",
            organization_ids=hospitals,
            language="en",
            job_id=job.pk,
            part="hospital:0:en",
        )
    job.refresh_from_db()
    assert (job.done, job.failed, job.is_pending) == (2, 0, True)
    services.job_part_failed(
        job_id=job.pk,
        part="hospital:0:zh-hans",
        language="zh-hans",
        organization_ids=hospitals,
        error="TimeLimitExceeded: 1800",
    )
    job.refresh_from_db()
    assert (job.done, job.failed, job.is_pending) == (2, 2, False)
    assert {f["organization"] for f in job.failures} == {
        built.hospitals["11"].organization.name,
        built.hospitals["31"].organization.name,
    }


def test_the_hospital_table_is_paginated_on_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    built = small_awarded_round(code="R-JOB-9")
    monkeypatch.setattr(views, "paginate", functools.partial(paginate, per_page=1))
    url = reverse("reports:office-analysis", args=[built.round.pk])
    first = client_for(built.office).get(url).content.decode()
    second = client_for(built.office).get(url + "?page=2").content.decode()
    hospitals = first.split("<h2>By hospital</h2>")[1]
    assert "Rows 1–1 of 2" in hospitals and 'rel="next"' in hospitals
    assert "Rows 2–2 of 2" in second.split("<h2>By hospital</h2>")[1]
    beijing = "First People&#x27;s Hospital of Beijing"
    assert (beijing in hospitals) != (beijing in second.split("<h2>By hospital</h2>")[1])


def test_report_tables_have_column_headers_for_screen_readers(
    django_capture_on_commit_callbacks,
) -> None:
    built = small_awarded_round(code="R-JOB-10")
    with django_capture_on_commit_callbacks(execute=True):
        client_for(built.office).post(reverse("reports:publish", args=[built.round.pk]))
    pages = [
        client_for(built.office).get(reverse("reports:office-analysis", args=[built.round.pk])),
        client_for().get(reverse("reports:public-round", args=[built.round.pk])),
        client_for().get(reverse("reports:public-index")),
    ]
    for response in pages:
        html = response.content.decode()
        heads = re.findall(r"<thead>.*?</thead>", html, flags=re.S)
        assert heads
        for head in heads:
            cells = re.findall(r"<th\b[^>]*>", head)
            assert cells and all('scope="col"' in cell for cell in cells), cells
    assert "Rows 1–1 of 1" in pages[2].content.decode()


def test_a_redelivered_language_is_not_rendered_again(monkeypatch: pytest.MonkeyPatch) -> None:
    built = small_awarded_round(code="R-JOB-11")
    now = timezone.now()
    job = GenerationJob.objects.create(
        round=built.round, kind="award_result", total=2, requested_at=now, updated_at=now
    )
    first = services.award_result_generate(round_id=built.round.pk, language="en", job_id=job.pk)

    def render(**_kwargs):
        raise AssertionError("rendered twice")

    monkeypatch.setattr(services, "award_result_render", render)
    again = services.award_result_generate(round_id=built.round.pk, language="en", job_id=job.pk)
    assert first is not None and again is not None and again.pk == first.pk
    job.refresh_from_db()
    assert (job.done, job.parts_finished) == (1, ["award:en"])


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_page_says_the_pdf_is_published_at_once() -> None:
    """Real commits: the eager tasks run when the service's transaction commits, before
    the view answers, so the office reads the outcome rather than "being generated"."""
    built = small_awarded_round(code="R-JOB-12")
    page = client_for(built.office).post(
        reverse("reports:publish", args=[built.round.pk]), follow=True
    )
    html = page.content.decode()
    assert "The award-result PDF is published in Chinese and English." in html
    assert "being generated" not in html
    assert html.count('class="sha256"') == 2


def test_a_task_for_a_round_no_longer_awarded_counts_as_failed() -> None:
    built = small_awarded_round(code="R-JOB-13")
    now = timezone.now()
    job = GenerationJob.objects.create(
        round=built.round, kind="party_reports", total=3, requested_at=now, updated_at=now
    )
    Round.objects.filter(pk=built.round.pk).update(status=Round.Status.OBJECTION)
    hospitals = [built.hospitals[c].organization.pk for c in ("11", "31", "44")]
    stored = services.party_reports_generate(  # in the default language, zh-hans
        round_id=built.round.pk,
        kind="hospital",
        organization_ids=hospitals,
        language="en",
        job_id=job.pk,
        part="hospital:0:en",
    )
    job.refresh_from_db()
    assert stored == 0
    assert (job.done, job.failed, job.is_pending) == (0, 3, False)
    assert job.failures == [
        {"organization": "", "language": "en", "error": "The round is not awarded."}
    ]
    assert not ReportDocument.objects.filter(round=built.round).exists()
    # Stored untranslated, shown in the reader's language.
    poll = reverse("reports:party-job-progress", args=[built.round.pk])
    assert "The round is not awarded." in client_for(built.office).get(poll).content.decode()
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.login(username=built.office.username, password=TEST_PASSWORD)
    assert "该批次尚未确定中选结果。" in zh.get(poll).content.decode()

"""The award-result PDF follows the final allocation: generated on finalizing (marked
provisional while it is), and again when a re-run of the award becomes official (the
province selection's run of a drug round, the hospitals' choice run of a consumables
round), through ``awards.signals.final_allocation_changed``. A rendering of an
allocation that stopped being the result meanwhile is never stored over the new one."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

from awards import services as award_services
from awards.models import EvaluationRun
from reports import services
from reports.models import GenerationJob, ReportDocument
from tests.awards.factories import opened_round
from tests.awards.test_reassignment import choose, published

pytestmark = pytest.mark.django_db

SUPERSEDED = "The allocation changed before this document was stored: a newer job generates it."
PROVISIONAL_EN = "Provisional The provinces and agreed volumes in this announcement:"


def _text(document: ReportDocument, tmp_path: Path) -> str:
    path = tmp_path / f"{document.language}-{document.sha256[:8]}.pdf"
    content = ReportDocument.objects.get(pk=document.pk).content
    path.write_bytes(bytes(content))
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def _award_documents(round_) -> dict[str, ReportDocument]:
    return {
        d.language: d
        for d in ReportDocument.objects.filter(round=round_, kind=ReportDocument.Kind.AWARD_RESULT)
    }


def _jobs(round_) -> list[GenerationJob]:
    return list(
        GenerationJob.objects.filter(round=round_, kind=GenerationJob.Kind.AWARD_RESULT).order_by(
            "pk"
        )
    )


def test_a_drug_round_pdf_is_provisional_until_province_selection_then_generated_again(
    django_capture_on_commit_callbacks, tmp_path
) -> None:
    built = opened_round(code="T-2026-PDF-D")
    with django_capture_on_commit_callbacks(execute=True):
        award_services.evaluation_request(round_=built.round, by=built.office)
    award_services.objection_period_open(round_=built.round, by=built.office)
    with django_capture_on_commit_callbacks(execute=True):
        award_services.award_finalize(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    finalized = _award_documents(built.round)
    proposed = EvaluationRun.objects.get(round=built.round, is_official=True)
    assert set(finalized) == {"zh-hans", "en"}
    assert {d.run_id_reported for d in finalized.values()} == {proposed.pk}
    before = _text(finalized["en"], tmp_path)
    assert PROVISIONAL_EN in before
    assert "Provisional until province selection has finished" in before
    chinese = _text(finalized["zh-hans"], tmp_path).replace(" ", "")
    assert "暂定本公告中的供应省份和约定采购量：省份选择完成前为暂定" in chinese

    selection = award_services.selection_open(
        round_=built.round, by=built.office, closes_at=timezone.now() + datetime.timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        award_services.selection_close(selection=selection, by=built.office)
    selection.refresh_from_db()
    assert selection.result_run.status == EvaluationRun.Status.DONE
    # Nobody chose: the selection's run has the proposed run's input, so that run's rows
    # are the result again; the figures are final now all the same.
    official = EvaluationRun.objects.get(round=built.round, is_official=True)
    _on_finalize, second = _jobs(built.round)
    assert (second.requested_by, second.done, second.failed) == (None, 2, 0)
    regenerated = _award_documents(built.round)
    assert {d.pk for d in regenerated.values()} == {d.pk for d in finalized.values()}
    assert {d.run_id_reported for d in regenerated.values()} == {official.pk}
    assert regenerated["en"].sha256 != finalized["en"].sha256
    assert "Provisional" not in _text(regenerated["en"], tmp_path)
    assert "暂定" not in _text(regenerated["zh-hans"], tmp_path)


def test_a_consumables_round_pdf_follows_the_hospitals_choice_run(
    django_capture_on_commit_callbacks, tmp_path
) -> None:
    """A worker renders the English PDF before the choice run is done (the default
    allocation, marked provisional); once the choice run is official, a new job renders
    both languages from it."""
    built = published(django_capture_on_commit_callbacks, code="T-2026-PDF-C")
    choose(built, "H1", "B4", "B2")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        award_services.award_finalize(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    proposed = EvaluationRun.objects.get(round=built.round, is_official=True)
    (on_finalize,) = _jobs(built.round)
    early = services.award_result_generate(
        round_id=built.round.pk, language="en", job_id=on_finalize.pk
    )
    assert early is not None and early.run_id_reported == proposed.pk
    assert "Provisional until the hospitals' choices" in _text(early, tmp_path)

    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:  # the choice run, the rest of the finalizing job
            callback()
    choice = EvaluationRun.objects.get(round=built.round, is_hospital_choice=True)
    assert choice.is_official and choice.status == EvaluationRun.Status.DONE
    jobs = _jobs(built.round)
    assert len(jobs) == 2 and (jobs[-1].done, jobs[-1].failed) == (2, 0)
    documents = _award_documents(built.round)
    assert {d.run_id_reported for d in documents.values()} == {choice.source_run.pk}
    text = _text(documents["en"], tmp_path)
    assert "Provisional" not in text
    assert documents["en"].sha256 != early.sha256


def test_a_rendering_overtaken_by_a_new_result_is_not_stored(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    """The choice run becomes official while a worker renders the PDF of the proposed
    run: that rendering is dropped (its job says why) and the new job's is stored."""
    built = published(django_capture_on_commit_callbacks, code="T-2026-PDF-R")
    choose(built, "H1", "B4")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        award_services.award_finalize(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    (on_finalize,) = _jobs(built.round)
    proposed = EvaluationRun.objects.get(round=built.round, is_official=True)
    real = services.award_result_render
    overtaken: list[int] = []

    def render(*, round_, run, language, **kwargs):
        pdf = real(round_=round_, run=run, language=language, **kwargs)
        if not overtaken:  # meanwhile, another worker finishes the choice run
            overtaken.append(run.pk)
            choice = EvaluationRun.objects.get(round=round_, is_hospital_choice=True)
            with django_capture_on_commit_callbacks(execute=False) as later:
                award_services.evaluation_execute(run_id=choice.pk)
            queued.extend(later)  # the new job's tasks, after this one
        return pdf

    monkeypatch.setattr(services, "award_result_render", render)
    dropped = services.award_result_generate(
        round_id=built.round.pk, language="en", job_id=on_finalize.pk
    )
    assert dropped is None and not _award_documents(built.round)
    on_finalize.refresh_from_db()
    # Ended by the new job: the part that was rendering and the one not started.
    assert sorted(on_finalize.failures, key=lambda f: f["language"]) == [
        {"organization": "", "language": language, "error": SUPERSEDED}
        for language in ("en", "zh-hans")
    ]
    assert (on_finalize.done, on_finalize.failed, on_finalize.is_pending) == (0, 2, False)
    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()
    choice = EvaluationRun.objects.get(round=built.round, is_hospital_choice=True)
    documents = _award_documents(built.round)
    assert set(documents) == {"zh-hans", "en"}
    assert {d.run_id_reported for d in documents.values()} == {choice.source_run.pk}
    assert overtaken == [proposed.pk] and choice.source_run.pk != proposed.pk
    assert _jobs(built.round)[-1].done == 2

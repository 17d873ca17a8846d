"""State changes of reports: generating and storing documents, enqueueing their tasks."""

from __future__ import annotations

import datetime
import io
import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Organization, User
from awards.models import EvaluationRun
from awards.selectors import FINAL, official_run, provisional_rounds
from common.pdf import (
    FONT_FAMILY,
    MissingGlyphsError,
    html_text,
    missing_glyphs,
    render_template_pdf,
    sha256,
)
from procurement.models import Round
from reports import selectors
from reports.announcement import announcement_build
from reports.models import (
    GenerationJob,
    ReportDocument,
    delete_file_on_commit,
    report_file_name,
)

logger = logging.getLogger(__name__)

LANGUAGES = (ReportDocument.Language.ZH_HANS, ReportDocument.Language.EN)
# A pending job with no finished part for longer than the task time limit plus this
# margin is taken as stalled (its worker died): the office may start it again.
STALL_MARGIN = datetime.timedelta(minutes=5)
# Stored untranslated on the job and translated where shown (the task has no reader).
NOT_AWARDED = gettext_noop("The round is not awarded.")
SUPERSEDED = gettext_noop(
    "The allocation changed before this document was stored: a newer job generates it."
)


def _page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def _final_run(round_: Round) -> EvaluationRun:
    if round_.status not in FINAL:
        raise ValidationError(
            _("Round %(code)s is not awarded yet: its results cannot be published.")
            % {"code": round_.code}
        )
    run = official_run(round_=round_)
    if run is None:
        raise ValidationError(
            _("Round %(code)s has no official evaluation.") % {"code": round_.code}
        )
    return run.source_run


def document_store(
    *,
    round_: Round,
    kind: str,
    language: str,
    organization: Organization | None,
    run: EvaluationRun,
    pdf: bytes,
) -> ReportDocument:
    """Store ``pdf`` as the round's document of this kind, language and organization.

    The bytes go to a file in storage (``ReportDocument.pdf``), the row keeps its name,
    SHA-256, size and pages. Idempotent: the same bytes leave the stored row and file
    untouched (same hash, same time); new bytes are written to a new file, the row points
    at it, and the old file is deleted once that commits (a rollback deletes the new one).
    Safe when two workers race: the unique constraints let one insert win and the other
    updates that row.
    """
    digest = sha256(pdf)
    key = {"round": round_, "kind": kind, "language": language, "organization": organization}
    values: dict[str, object] = {
        "sha256": digest,
        "size": len(pdf),
        "pages": _page_count(pdf),
        "run_id_reported": run.pk,
        "generated_at": timezone.now(),
    }
    for _attempt in range(2):
        written = ""  # the file this attempt wrote: deleted again if it is not kept
        try:
            with transaction.atomic():
                # The stored file is not read: the hash says whether it holds these bytes.
                existing = ReportDocument.objects.select_for_update().filter(**key).first()
                if existing is not None:
                    if existing.sha256 == digest and existing.run_id_reported == run.pk:
                        return existing
                    if existing.sha256 != digest:
                        old_name = existing.pdf.name
                        written = _save_file(key, digest, pdf)
                        existing.pdf.name = written
                        delete_file_on_commit(old_name)
                    for name, value in values.items():
                        setattr(existing, name, value)
                    existing.save()
                    return existing
                written = _save_file(key, digest, pdf)
                with transaction.atomic():
                    return ReportDocument.objects.create(**key, **values, pdf=written)
        except IntegrityError:
            _storage().delete(written)  # another worker inserted it first: update that row
            continue
        except BaseException:
            if written:
                _storage().delete(written)
            raise
    raise RuntimeError("report document could not be stored")  # pragma: no cover


def _storage() -> Storage:
    return ReportDocument._meta.get_field("pdf").storage


def _save_file(key: dict[str, Any], digest: str, pdf: bytes) -> str:
    """Write the PDF to storage under a name made of its key and its hash; the name given
    back is the one stored (the storage adds a suffix if that name is taken)."""
    organization = key["organization"]
    name = report_file_name(
        round_code=key["round"].code,
        kind=key["kind"],
        organization_id=None if organization is None else organization.pk,
        language=key["language"],
        digest=digest,
    )
    return _storage().save(name, ContentFile(pdf))


def _provisional(round_: Round, language: str) -> str:
    """Why the round's figures may still change, in ``language``; empty once final."""
    with translation.override(language):
        return str(provisional_rounds(round_ids=[round_.pk]).get(round_.pk, ""))


def award_result_render(
    *, round_: Round, run: EvaluationRun, language: str, provisional: str | None = None
) -> bytes:
    """The award-result announcement of ``round_`` as PDF bytes, in ``language``.

    ``provisional`` is why the figures may still change (``provisional_rounds``, worked
    out here when not given): the cover says so, as the pages and the exports do."""
    from reports import charts

    if provisional is None:
        provisional = _provisional(round_, language)
    with translation.override(language):
        data = selectors.award_result_data(round_=round_, run=run)
        data["provisional"] = provisional
        data["announcement"] = announcement_build(round_=round_, finalized_at=data["finalized_at"])
        data["opened_at"] = data["opening"].opened_at if data["opening"] else round_.opening_at
        data["chart_svg"] = charts.price_before_after_svg(
            [
                (f"{s.code} {s.name}", s.figures.get("price_before"), s.figures.get("price_after"))
                for s in data["sections"]
            ]
        )
        figures = selectors.analysis_get(round_=round_, run=run, with_hospitals=False)
        data["province_chart_svg"] = charts.savings_by_province_svg(
            [(r["region"], r["savings"]) for r in figures.provinces.to_dict(orient="records")]
        )
        data["winner_chart_svg"] = charts.winner_count_svg(
            [(int(r["winners"]), int(r["items"])) for r in figures.winner_counts.to_dict("records")]
        )
    _check_glyphs(data["chart_svg"], data["province_chart_svg"], data["winner_chart_svg"])
    return render_template_pdf("reports/pdf/award_result.html", data, language=language)


def _check_glyphs(*svgs: str) -> None:
    """Charts go into the PDF as images, out of reach of the document's glyph check:
    check their text here (a missing glyph is a failed build, as for the HTML)."""
    missing = sorted({ch for svg in svgs for ch in missing_glyphs(html_text(svg))})
    if missing:
        shown = ", ".join(f"{ch!r} U+{ord(ch):04X}" for ch in missing[:20])
        raise MissingGlyphsError(f"no glyph in {FONT_FAMILY} for: {shown}")


def _awarded_round(
    *, round_id: int, job_id: int | None, part: str, language: str, documents: int = 1
) -> Round | None:
    """The round when its award is final. Otherwise None (a stale or redelivered task
    does nothing) and the job's part counts its ``documents`` as failed."""
    round_ = Round.objects.filter(pk=round_id).select_related("office").first()
    if round_ is not None and round_.status in FINAL:
        return round_
    if job_id is not None:
        job_part_finish(
            job_id=job_id,
            part=part,
            done=0,
            failures=[_failure(language, NOT_AWARDED)],
            failed=documents,
        )
    return None


def award_part(language: str) -> str:
    """The key under which one language of an award-result job is counted done or failed."""
    return f"award:{language}"


def award_result_generate(
    *, round_id: int, language: str, job_id: int | None = None
) -> ReportDocument | None:
    """Render and store the award-result PDF of a finalized round in one language.

    Returns None (and does nothing) when the round is gone or not finalized, so a
    redelivered or stale task is harmless. With ``job_id``, the language is counted once
    on that job (done, or failed when the round is no longer final).
    """
    part = award_part(language)
    if job_id is not None and _part_finished(job_id, part):
        return ReportDocument.objects.filter(
            round_id=round_id, kind=ReportDocument.Kind.AWARD_RESULT, language=language
        ).first()
    round_ = _awarded_round(round_id=round_id, job_id=job_id, part=part, language=language)
    if round_ is None:
        return None
    run = _final_run(round_)
    provisional = _provisional(round_, language)
    pdf = award_result_render(round_=round_, run=run, language=language, provisional=provisional)
    with transaction.atomic():
        # A re-run becoming official (province selection, the hospitals' choices) locks
        # the round row too (awards.services): either this rendering is stored first
        # and the job that change starts replaces it, or the change came first and this
        # rendering of what is no longer the result is dropped, not stored over the new one.
        locked = Round.objects.select_for_update().get(pk=round_.pk)
        superseded = _final_run(locked).pk != run.pk or bool(
            _provisional(locked, language)
        ) != bool(provisional)
        document = None
        if not superseded:
            document = document_store(
                round_=round_,
                kind=ReportDocument.Kind.AWARD_RESULT,
                language=language,
                organization=None,
                run=run,
                pdf=pdf,
            )
    if job_id is not None:
        if superseded:
            job_part_finish(
                job_id=job_id, part=part, done=0, failures=[_failure(language, SUPERSEDED)]
            )
        else:
            job_part_finish(job_id=job_id, part=part, done=1, failures=[])
    return document


# --- generation jobs: what is pending, done and failed, for the pages that poll them ------


def _failure(language: str, error: str, organization: str = "") -> dict[str, str]:
    return {"organization": organization, "language": str(language), "error": error[:300]}


def job_part_finish(
    *, job_id: int, part: str, done: int, failures: list[dict[str, str]], failed: int = 0
) -> GenerationJob | None:
    """Count one finished part (task) of a job: ``done`` documents stored, ``failures``
    (or ``failed`` when only a count is known beyond the listed ones) not rendered.

    Idempotent per part: a redelivered task's second report is ignored. The job row is
    locked so parts finishing at once on several workers add up.
    """
    failed = max(failed, len(failures))
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or part in job.parts_finished:
            return job
        now = timezone.now()
        room = max(GenerationJob.MAX_FAILURES - len(job.failures), 0)
        job.parts_finished = [*job.parts_finished, part]
        job.failures = [*job.failures, *failures[:room]]
        job.failed = min(job.failed + failed, job.total)
        job.done = min(job.done + done, job.total - job.failed)
        job.updated_at = now
        if job.done + job.failed >= job.total:
            job.finished_at = now
        job.save()
    return job


def _part_finished(job_id: int, part: str) -> bool:
    parts = GenerationJob.objects.filter(pk=job_id).values_list("parts_finished", flat=True)
    return any(part in finished for finished in parts)


def job_part_failed(
    *, job_id: int, part: str, language: str, organization_ids: list[int], error: str
) -> GenerationJob | None:
    """A part whose task failed for good (retries spent, or an error no retry mends):
    every document it was to produce counts as failed, so the page stops waiting."""
    names = dict(Organization.objects.filter(pk__in=organization_ids).values_list("pk", "name"))
    failures = [_failure(language, error, names.get(pk, str(pk))) for pk in organization_ids]
    return job_part_finish(
        job_id=job_id,
        part=part,
        done=0,
        failures=failures or [_failure(language, error)],
    )


def job_latest(*, round_: Round, kind: str) -> GenerationJob | None:
    return (
        GenerationJob.objects.filter(round=round_, kind=kind)
        .order_by("-requested_at", "-pk")
        .first()
    )


def job_is_stalled(job: GenerationJob, *, now: datetime.datetime | None = None) -> bool:
    """Pending, but no part has finished for longer than a task may run plus a margin:
    its worker has most likely gone (the office may start the job again)."""
    if not job.is_pending:
        return False
    limit = datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + STALL_MARGIN
    return (now or timezone.now()) - job.updated_at > limit


def _job_start(
    *, round_: Round, kind: str, total: int, by: User | None, supersede: bool = False
) -> tuple[GenerationJob, bool]:
    """The round's running job of ``kind`` if there is one (False), or a new one (True);
    with ``supersede`` always a new one (the data changed since the running one began).

    The round row is locked so two clicks at once start one job.
    """
    Round.objects.select_for_update().filter(pk=round_.pk).first()
    latest = job_latest(round_=round_, kind=kind)
    if latest is not None and latest.is_pending and not job_is_stalled(latest):
        if not supersede:
            return latest, False
        _job_supersede(latest)
    now = timezone.now()
    job = GenerationJob.objects.create(
        round=round_,
        kind=kind,
        total=total,
        requested_by=by,
        requested_at=now,
        updated_at=now,
        finished_at=now if total == 0 else None,
    )
    return job, True


def _job_supersede(job: GenerationJob) -> None:
    """End a running award-result job whose data changed: its parts not yet finished count
    as failed (``SUPERSEDED``), so their queued tasks find them finished and render nothing;
    a task already rendering finds its run no longer the result and stores nothing."""
    pending = [
        (award_part(language), str(language))
        for language in LANGUAGES
        if award_part(language) not in job.parts_finished
    ]
    for part, language in pending:
        job_part_finish(job_id=job.pk, part=part, done=0, failures=[_failure(language, SUPERSEDED)])


def _check_office(round_: Round, by: User | None) -> None:
    if by is not None and by.organization_id != round_.office_id:
        raise ValidationError(_("Only the round's procurement office publishes its results."))


def award_result_publish(
    *, round_: Round, by: User | None, supersede: bool = False
) -> GenerationJob:
    """Queue the award-result PDF of a finalized round in Chinese and English.

    Returns the job the page polls; while one is running a second request returns it
    instead of queueing the same work again, unless ``supersede`` (the allocation changed
    since it began: its renderings may be of the old one). ``by`` is None when the
    platform publishes on its own (when the award is finalized, or its allocation changes).
    """
    from reports.tasks import award_result_task

    _final_run(round_)
    _check_office(round_, by)
    with transaction.atomic():
        job, new = _job_start(
            round_=round_,
            kind=GenerationJob.Kind.AWARD_RESULT,
            total=len(LANGUAGES),
            by=by,
            supersede=supersede,
        )
        if new:
            round_id, job_id = round_.pk, job.pk

            def enqueue() -> None:
                for language in LANGUAGES:
                    award_result_task.delay(
                        round_id=round_id,
                        language=str(language),
                        job_id=job_id,
                    )

            # robust: without a broker the tasks run right here, after the commit; a
            # failed rendering is then recorded on the job instead of failing the request.
            transaction.on_commit(enqueue, robust=True)
    return job


def award_result_on_finalize(*, round_: Round, **_kwargs: object) -> None:
    """Receiver of ``awards.signals.round_finalized``: the award-result PDF is
    generated as soon as the award is final (inside the finalizing transaction, so the
    tasks are queued only if it commits)."""
    award_result_publish(round_=round_, by=None)


def award_result_on_allocation_change(*, round_: Round, **_kwargs: object) -> None:
    """Receiver of ``awards.signals.final_allocation_changed``: the province selection's
    run (drug rounds) or the hospitals' choice run (consumable rounds) is now the official
    result. The award-result PDF shows each winner's provinces and agreed volume (and,
    until then, that they are provisional): it is generated again, in a new job even if
    the one started on finalizing is still running. Unchanged figures give the same bytes,
    and the stored document is then left as it was."""
    award_result_publish(round_=round_, by=None, supersede=True)


# --- per-hospital and per-manufacturer reports, in batches ---------------------------------

# Organizations per batch task: bounds one task's run time (a hospital PDF renders in a
# fraction of a second) and its memory (one PDF at a time), while keeping the per-task
# overhead small next to the rendering.
PARTY_BATCH_SIZE = 25

PARTY_TEMPLATES: dict[str, str] = {
    ReportDocument.Kind.HOSPITAL: "reports/pdf/hospital.html",
    ReportDocument.Kind.MANUFACTURER: "reports/pdf/manufacturer.html",
}


def party_report_render(
    *, round_: Round, run: EvaluationRun, kind: str, organization: Organization, language: str
) -> bytes:
    with translation.override(language):
        if kind == ReportDocument.Kind.HOSPITAL:
            data = selectors.hospital_report_data(round_=round_, run=run, hospital=organization)
        else:
            data = selectors.manufacturer_report_data(
                round_=round_, run=run, manufacturer=organization
            )
    return render_template_pdf(PARTY_TEMPLATES[kind], data, language=language)


def party_reports_generate(
    *,
    round_id: int,
    kind: str,
    organization_ids: list[int],
    language: str,
    job_id: int | None = None,
    part: str = "",
) -> int:
    """Render and store one batch of hospital or manufacturer reports; returns how many
    documents were stored or confirmed. Organizations that take no part are skipped.

    One organization whose report cannot be rendered (a missing glyph, bad data) does
    not stop the other reports of the batch: it is logged and listed as failed on the job.
    Database errors and the soft time limit end the batch so the task can retry it.
    """
    if job_id is not None and _part_finished(job_id, part):
        return 0  # a redelivered batch the job has counted: its documents are stored
    round_ = _awarded_round(
        round_id=round_id,
        job_id=job_id,
        part=part,
        language=language,
        documents=len(organization_ids),
    )
    if round_ is None:
        return 0
    run = _final_run(round_)
    allowed = set(
        selectors.hospital_ids_of(run=run)
        if kind == ReportDocument.Kind.HOSPITAL
        else selectors.manufacturer_ids_of(run=run)
    )
    done = 0
    failures: list[dict[str, str]] = []
    for organization in Organization.objects.filter(pk__in=organization_ids).order_by("pk"):
        if organization.pk not in allowed:
            continue
        try:
            pdf = party_report_render(
                round_=round_, run=run, kind=kind, organization=organization, language=language
            )
            document_store(
                round_=round_,
                kind=kind,
                language=language,
                organization=organization,
                run=run,
                pdf=pdf,
            )
        except (DatabaseError, SoftTimeLimitExceeded):
            raise
        except Exception as exc:  # one bad report must not sink the other 24
            logger.exception(
                "report %s %s of organization %s failed", kind, language, organization.pk
            )
            failures.append(_failure(language, f"{type(exc).__name__}: {exc}", organization.name))
            continue
        done += 1
    if job_id is not None:
        job_part_finish(
            job_id=job_id,
            part=part,
            done=len(organization_ids) - len(failures),
            failures=failures,
        )
    return done


def party_report_batches(*, round_: Round, kind: str) -> list[list[int]]:
    """The organization ids of a finalized round's reports of ``kind``, in bounded chunks."""
    run = _final_run(round_)
    ids = (
        selectors.hospital_ids_of(run=run)
        if kind == ReportDocument.Kind.HOSPITAL
        else selectors.manufacturer_ids_of(run=run)
    )
    return [ids[i : i + PARTY_BATCH_SIZE] for i in range(0, len(ids), PARTY_BATCH_SIZE)]


def party_reports_publish(*, round_: Round, by: User) -> GenerationJob:
    """Queue every hospital's and manufacturer's report of a finalized round (both
    languages), fanned out over workers in batches (one Celery group).

    The batches are planned here, so the job knows how many documents to expect and the
    page can say "n of N" from the first poll; while a job runs, it is returned instead.
    """
    from celery import group

    from reports.tasks import party_reports_batch_task

    _final_run(round_)
    _check_office(round_, by)
    plan = [
        (str(kind), index, chunk, str(language))
        for kind in (ReportDocument.Kind.HOSPITAL, ReportDocument.Kind.MANUFACTURER)
        for index, chunk in enumerate(party_report_batches(round_=round_, kind=kind))
        for language in LANGUAGES
    ]
    with transaction.atomic():
        job, new = _job_start(
            round_=round_,
            kind=GenerationJob.Kind.PARTY_REPORTS,
            total=sum(len(chunk) for _kind, _index, chunk, _language in plan),
            by=by,
        )
        if new and plan:
            signatures = [
                party_reports_batch_task.si(
                    round_id=round_.pk,
                    kind=kind,
                    organization_ids=chunk,
                    language=language,
                    job_id=job.pk,
                    part=f"{kind}:{index}:{language}",
                )
                for kind, index, chunk, language in plan
            ]
            transaction.on_commit(lambda: group(signatures).apply_async(), robust=True)
    return job

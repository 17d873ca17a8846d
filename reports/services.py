"""State changes of reports: generating and storing documents, enqueueing their tasks."""

from __future__ import annotations

import io

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from contracts.models import EvaluationRun
from contracts.pdf import (
    FONT_FAMILY,
    MissingGlyphsError,
    html_text,
    missing_glyphs,
    render_template_pdf,
    sha256,
)
from contracts.selectors import FINAL, official_run
from procurement.models import Round
from reports import selectors
from reports.models import ReportDocument

LANGUAGES = (ReportDocument.Language.ZH_HANS, ReportDocument.Language.EN)


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

    Idempotent: the same bytes leave the stored row untouched (same hash, same time);
    new bytes replace content and hash. Safe when two workers race: the unique constraints
    let one insert win and the other updates that row.
    """
    digest = sha256(pdf)
    key = {"round": round_, "kind": kind, "language": language, "organization": organization}
    values = {
        "content": pdf,
        "sha256": digest,
        "size": len(pdf),
        "pages": _page_count(pdf),
        "run_id_reported": run.pk,
        "generated_at": timezone.now(),
    }
    for _attempt in range(2):
        with transaction.atomic():
            existing = ReportDocument.objects.select_for_update().filter(**key).first()
            if existing is not None:
                if existing.sha256 == digest and existing.run_id_reported == run.pk:
                    return existing
                for name, value in values.items():
                    setattr(existing, name, value)
                existing.save()
                return existing
            try:
                with transaction.atomic():
                    return ReportDocument.objects.create(**key, **values)
            except IntegrityError:
                continue  # another worker inserted it first: update that row
    raise RuntimeError("report document could not be stored")  # pragma: no cover


def award_result_render(*, round_: Round, run: EvaluationRun, language: str) -> bytes:
    """The award-result announcement of ``round_`` as PDF bytes, in ``language``."""
    from reports import charts

    with translation.override(language):
        data = selectors.award_result_data(round_=round_, run=run)
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


def award_result_generate(*, round_id: int, language: str) -> ReportDocument | None:
    """Render and store the award-result PDF of a finalized round in one language.

    Returns None (and does nothing) when the round is gone or not finalized, so a
    redelivered or stale task is harmless.
    """
    round_ = Round.objects.filter(pk=round_id).select_related("office").first()
    if round_ is None or round_.status not in FINAL:
        return None
    run = _final_run(round_)
    pdf = award_result_render(round_=round_, run=run, language=language)
    return document_store(
        round_=round_,
        kind=ReportDocument.Kind.AWARD_RESULT,
        language=language,
        organization=None,
        run=run,
        pdf=pdf,
    )


def award_result_publish(*, round_: Round, by: User) -> None:
    """Queue the award-result PDF of a finalized round in Chinese and English."""
    from reports.tasks import award_result_task

    _final_run(round_)
    if by.organization_id != round_.office_id:
        raise ValidationError(_("Only the round's procurement office publishes its results."))
    round_id = round_.pk

    def enqueue() -> None:
        for language in LANGUAGES:
            award_result_task.delay(round_id, str(language))

    transaction.on_commit(enqueue)


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
    *, round_id: int, kind: str, organization_ids: list[int], language: str
) -> int:
    """Render and store one batch of hospital or manufacturer reports; returns how many
    documents were stored or confirmed. Organizations that take no part are skipped."""
    round_ = Round.objects.filter(pk=round_id).select_related("office").first()
    if round_ is None or round_.status not in FINAL:
        return 0
    run = _final_run(round_)
    allowed = set(
        selectors.hospital_ids_of(run=run)
        if kind == ReportDocument.Kind.HOSPITAL
        else selectors.manufacturer_ids_of(run=run)
    )
    done = 0
    for organization in Organization.objects.filter(pk__in=organization_ids).order_by("pk"):
        if organization.pk not in allowed:
            continue
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
        done += 1
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


def party_reports_publish(*, round_: Round, by: User) -> None:
    """Queue every hospital's and manufacturer's report of a finalized round (both
    languages), fanned out over workers in batches (one Celery group)."""
    from reports.tasks import party_reports_fan_out_task

    _final_run(round_)
    if by.organization_id != round_.office_id:
        raise ValidationError(_("Only the round's procurement office publishes its results."))
    round_id = round_.pk
    transaction.on_commit(lambda: party_reports_fan_out_task.delay(round_id))

"""State changes of the award: evaluation runs, scenarios, objections, finalization.

Concurrency: every service that changes a round's award locks the round row first
(``select_for_update``) and then the run row, always in that order, so evaluation
storing, objection answers and finalization serialize per round and cannot deadlock.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

import pandas as pd
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Organization, Region, User
from catalog.imports import (
    PREVIEW_ROWS,
    Action,
    ImportOutcome,
    PreviewRow,
    RowsRefused,
    run_reader,
)
from catalog.spreadsheets import ROW, Column, ColumnKind, RowError, convert_frame, sort_errors
from contracts.evaluation import (
    BuiltProblem,
    bid_reason_parts,
    key_id,
    not_evaluated_reason,
    problem_build,
)
from contracts.models import (
    AuditEntry,
    BidExclusion,
    BidResult,
    Contract,
    ContractAmendment,
    ContractLine,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    Notification,
    Objection,
    ProvinceAllocation,
    ProvinceChoice,
    ProvinceSelection,
    Purchase,
    SupplyFailure,
)
from contracts.notifications import notify
from contracts.progress import month_start, parse_month
from contracts.reassignment import (
    choice_run_blocker,
    lost_volume_choices_apply,
    lost_volume_preferences,
)
from contracts.signals import final_allocation_changed, round_finalized
from procurement.models import Round, RuleSet
from procurement.optimiser import result_to_dict, solve
from procurement.optimiser.allocation import draft_order
from procurement.optimiser.model import Problem, Result
from procurement.optimiser.reasons import message_record
from procurement.optimiser.scenarios import ScenarioRow, compare_scenarios, comparison_to_dict, hhi
from procurement.services import RULE_KINDS_BY_ROUND_KIND, round_advance

logger = logging.getLogger(__name__)
S = Round.Status
R = EvaluationRun.Status

# Rounds in these states can be (re-)evaluated; an official run moves the round to EVALUATED.
EVALUABLE = {S.BIDS_OPENED, S.EVALUATED, S.OBJECTION}
# Rows per INSERT: ~5,000 narrow rows keep one statement well under PostgreSQL's
# 65,535-parameter limit (8 columns) and the worker's memory bounded.
BATCH_SIZE = 5_000

# Progress stages (message ids; translated where shown).
STAGE_QUEUED = gettext_noop("Waiting for a worker")
STAGE_LOADING = gettext_noop("Loading bids and demand")
STAGE_SOLVING = gettext_noop("Applying the rules and allocating provinces")
STAGE_STORING = gettext_noop("Storing awards and allocations")
STAGE_DONE = gettext_noop("Done")
STAGE_FAILED = gettext_noop("Failed")

M = TypeVar("M", bound=models.Model)


# Solver outcomes with no award: proven infeasible, or the time limit passed before any
# solution was found ("unknown" is not proof of infeasibility, but it has nothing to award).
NO_AWARD_STATUSES = frozenset({"infeasible", "unknown"})


def _lock_round(round_id: int) -> Round:
    return Round.objects.select_for_update().get(pk=round_id)


def _exclusions(round_: Round) -> list[int]:
    return sorted(BidExclusion.objects.filter(round=round_).values_list("opened_bid_id", flat=True))


def _bulk(model: type[M], rows: Iterable[M]) -> int:
    """Insert rows in bounded batches (never the whole list in one statement)."""
    count = 0
    batch: list[M] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            model.objects.bulk_create(batch)  # type: ignore[attr-defined]
            count += len(batch)
            batch = []
    if batch:
        model.objects.bulk_create(batch)  # type: ignore[attr-defined]
        count += len(batch)
    return count


# --- evaluation ---------------------------------------------------------------------------


def evaluation_request(
    *, round_: Round, by: User | None, rule_set: RuleSet | None = None
) -> EvaluationRun:
    """Queue an evaluation of ``round_``: the official one, or a scenario under ``rule_set``.

    Idempotent: while a run of the same round, rule set and exclusions is queued or
    running, that run is returned instead of a second one (a database constraint holds
    this even for two simultaneous requests). The task is sent after commit.
    """
    from contracts.tasks import evaluation_run_task  # tasks import services

    is_scenario = rule_set is not None and rule_set.pk != round_.rule_set_id
    rule_set = rule_set or round_.rule_set
    with transaction.atomic():
        locked = _lock_round(round_.pk)
        if locked.status not in EVALUABLE:
            raise ValidationError(
                _("Round %(code)s is %(status)s: it cannot be evaluated now.")
                % {"code": locked.code, "status": locked.get_status_display()}
            )
        if rule_set.kind not in RULE_KINDS_BY_ROUND_KIND[Round.Kind(locked.kind)]:
            raise ValidationError(
                _("Rule set %(rule_set)s (%(kind)s) does not apply to a %(round_kind)s round.")
                % {
                    "rule_set": str(rule_set),
                    "kind": rule_set.kind,
                    "round_kind": Round.Kind(locked.kind).label,
                }
            )
        exclusions = _exclusions(locked)
        key = ",".join(str(e) for e in exclusions)
        pending = EvaluationRun.objects.filter(
            round=locked, rule_set=rule_set, exclusions_key=key, status__in=[R.QUEUED, R.RUNNING]
        ).first()
        if pending is not None:
            return pending
        try:
            with transaction.atomic():
                run = EvaluationRun.objects.create(
                    round=locked,
                    rule_set=rule_set,
                    rule_set_version=rule_set.version,
                    is_scenario=is_scenario,
                    exclusions=exclusions,
                    exclusions_key=key,
                    requested_by=by,
                    stage=STAGE_QUEUED,
                )
        except IntegrityError:  # a simultaneous request created it first
            return EvaluationRun.objects.get(
                round=locked,
                rule_set=rule_set,
                exclusions_key=key,
                status__in=[R.QUEUED, R.RUNNING],
            )
        transaction.on_commit(lambda: evaluation_run_task.delay(run.pk))
    return run


def evaluation_retry(*, run: EvaluationRun, by: User | None) -> EvaluationRun:
    """Queue a failed run again (same round, rule set and exclusions)."""
    from contracts.tasks import evaluation_run_task

    with transaction.atomic():
        _lock_round(run.round_id)
        updated = EvaluationRun.objects.filter(pk=run.pk, status=R.FAILED).update(
            status=R.QUEUED, progress=0, stage=STAGE_QUEUED, error=""
        )
        if updated != 1:
            raise ValidationError(_("Only a failed run can be retried."))
        transaction.on_commit(lambda: evaluation_run_task.delay(run.pk))
    run.refresh_from_db()
    return run


def _progress(run_id: int, percent: int, stage: str) -> None:
    # Its own short transaction, so the page polling the run sees it at once.
    EvaluationRun.objects.filter(pk=run_id, status=R.RUNNING).update(progress=percent, stage=stage)


def evaluation_execute(*, run_id: int) -> EvaluationRun | None:
    """Solve a queued run and store everything it decides, in one transaction at the end.

    Guarded on status: a run that is already done or failed is left alone (a redelivered
    task does nothing). A run found ``running`` is a retry after a worker died: nothing
    of it was stored (rows are written only in the final transaction), so it starts again.
    Problems in the data (no representative specification, an invalid rule set) fail the
    run with a readable message; database errors propagate so the task can retry.
    """
    started = EvaluationRun.objects.filter(pk=run_id, status__in=[R.QUEUED, R.RUNNING]).update(
        status=R.RUNNING,
        started_at=timezone.now(),
        attempts=models.F("attempts") + 1,
        progress=5,
        stage=STAGE_LOADING,
    )
    if started != 1:
        return None
    run = EvaluationRun.objects.select_related("round", "rule_set").get(pk=run_id)
    try:
        built = problem_build(
            round_=run.round,
            rule_set=run.rule_set,
            excluded=run.exclusions,
            **(selection_preferences(round_=run.round) if run.is_selection else {}),
            reassign_to=(
                lost_volume_preferences(round_=run.round) if run.is_hospital_choice else None
            ),
        )
        _progress(run_id, 30, STAGE_SOLVING)
        result = solve(built.problem)
        comparison = _comparison_row(built.problem, result)
    except ValidationError as exc:
        return _fail(run_id, "; ".join(exc.messages))
    except DatabaseError:
        raise  # the task retries; nothing of this run was stored
    except Exception as exc:  # any other failure is shown on the run's page, with its cause
        logger.exception("evaluation run %s failed", run_id)
        return _fail(run_id, f"{type(exc).__name__}: {exc}")
    _progress(run_id, 60, STAGE_STORING)
    return _store(run_id=run_id, built=built, result=result, comparison=comparison)


def evaluation_fail(*, run_id: int, message: str) -> EvaluationRun:
    """Mark a running run failed (the task gave up), so the page offers to run it again."""
    return _fail(run_id, message)


def _fail(run_id: int, message: str) -> EvaluationRun:
    EvaluationRun.objects.filter(pk=run_id, status=R.RUNNING).update(
        status=R.FAILED, stage=STAGE_FAILED, error=message[:4000], finished_at=timezone.now()
    )
    return EvaluationRun.objects.get(pk=run_id)


def _comparison_row(problem: Problem, result: Result) -> dict[str, Any]:
    """This run's row of the optimiser's scenario comparison table."""
    if problem.rule_set.kind == "optimised_award":
        # The constraint costs need the scenario solved again with each constraint relaxed.
        row = compare_scenarios(problem, [problem.rule_set])[0]
    else:
        volumes: dict[str, int] = {}
        for a in result.allocations:
            volumes[a.supplier] = volumes.get(a.supplier, 0) + a.quantity
        infeasible = result.run.status in NO_AWARD_STATUSES
        row = ScenarioRow(
            name=problem.rule_set.name or problem.rule_set.kind,
            kind=problem.rule_set.kind,
            status=result.run.status,
            total_cost=None if infeasible else result.totals.cost,
            winners=sum(len(i.winners) for i in result.items),
            savings_vs_reference=None if infeasible else result.totals.savings_vs_reference,
            savings_vs_ceiling=None if infeasible else result.totals.savings_vs_ceiling,
            hhi=hhi(volumes),
            volume_by_supplier=tuple(sorted(volumes.items())),
        )
    return comparison_to_dict([row])[0]


def _store(
    *, run_id: int, built: BuiltProblem, result: Result, comparison: dict[str, Any]
) -> EvaluationRun | None:
    input_hash = built.problem.input_hash
    with transaction.atomic():
        round_id = EvaluationRun.objects.values_list("round_id", flat=True).get(pk=run_id)
        round_ = _lock_round(round_id)
        run = EvaluationRun.objects.select_for_update().get(pk=run_id)
        if run.status != R.RUNNING:
            return None  # another delivery of the task finished it meanwhile
        # Selection and choice runs re-run the final award: they keep its winners.
        reruns_award = run.is_selection or run.is_hospital_choice
        allowed = {S.AWARDED} if reruns_award else EVALUABLE
        if not run.is_scenario and round_.status not in allowed:
            return _fail(
                run_id,
                _("Round %(code)s moved to %(status)s while the evaluation ran.")
                % {"code": round_.code, "status": round_.get_status_display()},
            )
        if reruns_award:
            # The choices move provinces (or a hospital's lost volume) only; the winners
            # and their prices must not change.
            final = _official_run(round_).source_run
            before = set(
                BidResult.objects.filter(run=final, outcome="won").values_list(
                    "opened_bid_id", "award_price"
                )
            )
            after = {(key_id(b.bid), b.award_price) for b in result.bids if b.status == "won"}
            if before != after:
                return _fail(
                    run_id,
                    _("The province selection would change the winners.")
                    if run.is_selection
                    else _("The hospitals' choices would change the winners."),
                )
        run.input_hash = input_hash
        run.status = R.DONE
        run.progress = 100
        run.stage = STAGE_DONE
        same = (
            EvaluationRun.objects.filter(
                round=round_,
                rule_set_id=run.rule_set_id,
                input_hash=input_hash,
                exclusions_key=run.exclusions_key,
                status=R.DONE,
                same_as__isnull=True,
            )
            .exclude(pk=run.pk)
            .first()
        )
        if same is not None:
            # Same input as a stored run: nothing new to store, the result is that run's.
            run.same_as = same
            official = same
        else:
            _fill_figures(run, result, comparison)
            _store_rows(run, built, result)
            official = run
        run.finished_at = timezone.now()  # all rows stored (the commit follows)
        run.save()
        # A run made before another bid was excluded (two objections upheld in a row) is
        # kept but never becomes official: only a run on the current exclusions does.
        current = ",".join(str(e) for e in _exclusions(round_))
        if not run.is_scenario and run.exclusions_key == current:
            EvaluationRun.objects.filter(round=round_, is_official=True).exclude(
                pk=official.pk
            ).update(is_official=False)
            EvaluationRun.objects.filter(pk=official.pk).update(is_official=True)
            if reruns_award:
                final_allocation_changed.send(sender=Round, round_=round_, run=official)
            else:
                round_advance(
                    round_=round_,
                    to=S.EVALUATED,
                    by=run.requested_by,
                    note=f"evaluation run {official.pk}",
                )
    run.refresh_from_db()
    return run


def _fill_figures(run: EvaluationRun, result: Result, comparison: dict[str, Any]) -> None:
    run.solver_status = result.run.status
    run.solver = result.run.solver
    run.objective = result.run.objective
    run.gap = result.run.gap
    infeasible = result.run.status in NO_AWARD_STATUSES
    run.total_cost = None if infeasible else result.totals.cost
    run.reference_cost = result.totals.reference_cost
    run.ceiling_cost = result.totals.ceiling_cost
    run.savings_vs_reference = None if infeasible else result.totals.savings_vs_reference
    run.savings_vs_ceiling = None if infeasible else result.totals.savings_vs_ceiling
    # Codes with params and the English text: the run page renders them in the reader's language.
    run.warnings = [message_record(m) for m in result.run.warning_parts]
    run.explanation = [message_record(m) for m in result.run.explanation_parts]
    run.solve_seconds = result.solve_seconds
    run.result = result_to_dict(result, include_timing=False)
    run.comparison = comparison


def _store_rows(run: EvaluationRun, built: BuiltProblem, result: Result) -> None:
    items = built.round_items
    regions = dict(Region.objects.values_list("code", "pk"))
    _bulk(
        ItemAward,
        (
            ItemAward(
                run=run,
                round_item_id=items[i.item],
                bidders=i.bidders,
                valid_bids=i.valid_bids,
                winner_cap=i.winner_cap,
                winners=len(i.winners),
                agreed_volume_share=i.agreed_volume_share,
                pooled_demand=i.pooled_demand,
                agreed_volume=i.agreed_volume,
                term_years=i.term_years,
                cost=i.cost,
                savings_vs_reference=i.savings_vs_reference,
                savings_vs_ceiling=i.savings_vs_ceiling,
                notes=list(i.notes),
            )
            for i in result.items
        ),
    )
    rows = [
        BidResult(
            run=run,
            round_item_id=items[b.item],
            opened_bid_id=key_id(b.bid),
            manufacturer_id=key_id(b.supplier),
            outcome=b.status,
            reason=b.reason,
            reason_parts=bid_reason_parts(built, b),
            rank=b.rank,
            unit_price=built.bid_unit_price.get(key_id(b.bid)),
            unit_comparable_price=b.unit_comparable_price,
            award_price=b.award_price,
            group=b.group or "",
        )
        for b in result.bids
    ]
    for o in built.not_evaluated:
        reason, reason_parts = not_evaluated_reason(o)
        rows.append(
            BidResult(
                run=run,
                round_item_id=o.round_item_id,
                opened_bid_id=o.pk,
                manufacturer_id=o.manufacturer_id,
                outcome=BidResult.Outcome.INVALID,
                reason=reason,
                reason_parts=reason_parts,
            )
        )
    _bulk(BidResult, rows)
    _bulk(
        ProvinceAllocation,
        (
            ProvinceAllocation(
                run=run,
                round_item_id=items[a.item],
                opened_bid_id=key_id(a.bid),
                manufacturer_id=key_id(a.supplier),
                region_id=regions[a.region],
                quantity=a.quantity,
                unit_price=a.unit_price,
                delivery_cost=a.delivery_cost,
                cost=a.cost,
                backup_bid_id=key_id(a.backup_bid) if a.backup_bid else None,
                source=a.source,
            )
            for a in result.allocations
        ),
    )
    price = {(a.item, a.bid, a.region): a.unit_price for a in result.allocations}
    supplier = {b.id: key_id(b.supplier) for b in built.problem.bids}
    hospital_rows = (
        (
            run.pk,
            items[h.item],
            key_id(h.bid),
            supplier[h.bid],
            regions[h.region],
            key_id(h.hospital),
            h.quantity,
            price[(h.item, h.bid, h.region)],
        )
        for h in result.hospital_allocations
    )
    _store_hospital_rows(hospital_rows)


HOSPITAL_COLUMNS = (
    "run_id",
    "round_item_id",
    "opened_bid_id",
    "manufacturer_id",
    "region_id",
    "hospital_id",
    "quantity",
    "unit_price",
)


def _store_hospital_rows(rows: Iterable[tuple[Any, ...]]) -> int:
    """Write hospital allocation rows inside the current transaction.

    PostgreSQL: one ``COPY ... FROM STDIN`` streamed row by row (a national round writes
    ~1,000,000 rows; COPY is several times faster than INSERTs and holds no batch in
    memory). Other databases: ``bulk_create`` in batches.
    """
    if connection.vendor == "postgresql":
        table = HospitalAllocation._meta.db_table
        sql = f"COPY {table} ({', '.join(HOSPITAL_COLUMNS)}) FROM STDIN"
        count = 0
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    return _bulk(
        HospitalAllocation,
        (HospitalAllocation(**dict(zip(HOSPITAL_COLUMNS, row, strict=True))) for row in rows),
    )


def evaluation_comparison(*, round_: Round) -> list[tuple[EvaluationRun, dict[str, Any]]]:
    """The comparison table: the official run and the latest done run of every scenario."""
    rows: list[tuple[EvaluationRun, dict[str, Any]]] = []
    seen: set[tuple[int, str]] = set()
    runs = (
        EvaluationRun.objects.filter(round=round_, status=R.DONE)
        .select_related("rule_set", "same_as")
        .defer("result", "same_as__result")
        .order_by("-is_official", "-finished_at", "-pk")
    )
    for run in runs:
        source = run.source_run
        key = (run.rule_set_id, run.exclusions_key)
        if key in seen or source.comparison is None:
            continue
        if not run.is_official and not run.is_scenario and not source.is_official:
            continue  # a superseded official run
        seen.add(key)
        rows.append((run, source.comparison))
    return rows


# --- objections and finalization -------------------------------------------------------


def _official_run(round_: Round) -> EvaluationRun:
    run = EvaluationRun.objects.filter(round=round_, is_official=True).first()
    if run is None:
        raise ValidationError(
            _("Round %(code)s has no official evaluation yet.") % {"code": round_.code}
        )
    return run


def objection_period_open(*, round_: Round, by: User) -> Round:
    """Publish the proposed winners of the official run for objections."""
    with transaction.atomic():
        locked = _lock_round(round_.pk)
        run = _official_run(locked)
        if EvaluationRun.objects.filter(
            round=locked, is_scenario=False, status__in=[R.QUEUED, R.RUNNING]
        ).exists():
            raise ValidationError(_("Wait for the running evaluation to finish."))
        if timezone.now() >= locked.objection_ends_at:
            raise ValidationError(
                _("The objection period ended at %(when)s; change the timetable first.")
                % {"when": _when(locked.objection_ends_at)}
            )
        if run.source_run.solver_status in NO_AWARD_STATUSES:
            raise ValidationError(
                _(
                    "The official run found no award (solver status: %(status)s); "
                    "there is nothing to publish."
                )
                % {"status": run.source_run.solver_status}
            )
        round_advance(round_=locked, to=S.OBJECTION, by=by, note=f"run {run.pk} published")
        AuditEntry.objects.create(
            round=locked, action="objection_period_opened", by=by, detail={"run": run.pk}
        )
    return locked


def _when(moment: Any) -> str:
    from django.utils.formats import date_format

    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def _takes_part(round_: Round, organization: Organization) -> bool:
    """A manufacturer with a bid opened in the round, or a hospital of one of its provinces."""
    from bidding.models import OpenedBid

    if organization.kind == Organization.Kind.MANUFACTURER:
        return OpenedBid.objects.filter(opening__round=round_, manufacturer=organization).exists()
    return round_.regions.filter(pk=organization.region_id).exists()


def objection_file(
    *,
    round_: Round,
    round_item_id: int,
    by: User,
    text: str,
    attachment: UploadedFile | None = None,
) -> Objection:
    """File an objection against an item's proposed result, during the objection period."""
    organization: Organization | None = by.organization
    if organization is None or organization.kind not in {
        Organization.Kind.HOSPITAL,
        Organization.Kind.MANUFACTURER,
    }:
        raise ValidationError(_("Only hospitals and manufacturers can file objections."))
    if not text.strip():
        raise ValidationError(_("Say what the objection is about."))
    with transaction.atomic():
        locked = _lock_round(round_.pk)
        if locked.status != S.OBJECTION or timezone.now() >= locked.objection_ends_at:
            raise ValidationError(
                _("Objections to round %(code)s are not accepted now.") % {"code": locked.code}
            )
        if not _takes_part(locked, organization):
            raise ValidationError(
                _(
                    "Only the manufacturers that bid in round %(code)s and the hospitals of its "
                    "provinces can object to its results."
                )
                % {"code": locked.code}
            )
        run = _official_run(locked)
        if not ItemAward.objects.filter(run=run.source_run, round_item_id=round_item_id).exists():
            raise ValidationError(_("Choose an item of this round."))
        objection = Objection(
            round=locked,
            run=run,
            round_item_id=round_item_id,
            organization=organization,
            filed_by=by,
            text=text.strip(),
        )
        if attachment is not None:
            objection.attachment.save(attachment.name or "attachment", attachment, save=False)
        objection.save()
    return objection


def objection_dismiss(*, objection: Objection, by: User, answer: str) -> Objection:
    if not answer.strip():
        raise ValidationError(_("Give the answer to the objection."))
    with transaction.atomic():
        _lock_round(objection.round_id)
        updated = Objection.objects.filter(pk=objection.pk, status=Objection.Status.OPEN).update(
            status=Objection.Status.DISMISSED,
            answer=answer.strip(),
            answered_by=by,
            answered_at=timezone.now(),
        )
        if updated != 1:
            raise ValidationError(_("This objection has already been answered."))
        AuditEntry.objects.create(
            round_id=objection.round_id,
            action="objection_dismissed",
            by=by,
            detail={"objection": objection.pk},
        )
    objection.refresh_from_db()
    return objection


def objection_uphold(
    *, objection: Objection, by: User, answer: str, excluded_bid_id: int
) -> EvaluationRun:
    """Uphold an objection: exclude the bid it names and re-run the official evaluation.

    The round goes back from the objection period to "evaluated"; the office publishes the
    new result for objections again.
    """
    if not answer.strip():
        raise ValidationError(_("Give the answer to the objection."))
    with transaction.atomic():
        locked = _lock_round(objection.round_id)
        from bidding.models import OpenedBid

        bid = OpenedBid.objects.filter(pk=excluded_bid_id, round_item__round=locked).first()
        if bid is None:
            raise ValidationError(_("Choose a bid of this round to exclude."))
        updated = Objection.objects.filter(pk=objection.pk, status=Objection.Status.OPEN).update(
            status=Objection.Status.UPHELD,
            answer=answer.strip(),
            answered_by=by,
            answered_at=timezone.now(),
            excluded_bid=bid,
        )
        if updated != 1:
            raise ValidationError(_("This objection has already been answered."))
        BidExclusion.objects.get_or_create(
            round=locked,
            opened_bid=bid,
            defaults={"objection_id": objection.pk, "reason": answer.strip(), "by": by},
        )
        AuditEntry.objects.create(
            round=locked,
            action="objection_upheld",
            by=by,
            detail={"objection": objection.pk, "excluded_bid": bid.pk},
        )
        if locked.status == S.OBJECTION:
            round_advance(
                round_=locked, to=S.EVALUATED, by=by, note=f"objection {objection.pk} upheld"
            )
        run = evaluation_request(round_=locked, by=by)
    return run


def award_finalize(*, round_: Round, by: User, now: Any = None) -> Round:
    """Finalize the award: irreversible. Refused while an objection is open.

    Audited (who, when, which run) and publishes the results page.
    """
    from contracts.notifications import notify_results_published

    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_round(round_.pk)
        if locked.status != S.OBJECTION:
            raise ValidationError(
                _(
                    "Round %(code)s is %(status)s: only a round in its objection period "
                    "can be finalized."
                )
                % {"code": locked.code, "status": locked.get_status_display()}
            )
        open_count = Objection.objects.filter(round=locked, status=Objection.Status.OPEN).count()
        if open_count:
            raise ValidationError(
                _(
                    "%(count)s objection(s) are still open: "
                    "answer every objection before finalizing."
                )
                % {"count": open_count}
            )
        run = _official_run(locked)
        if EvaluationRun.objects.filter(
            round=locked, is_scenario=False, status__in=[R.QUEUED, R.RUNNING]
        ).exists():
            raise ValidationError(_("Wait for the running evaluation to finish."))
        round_advance(round_=locked, to=S.AWARDED, by=by, note=f"award finalized: run {run.pk}")
        AuditEntry.objects.create(
            round=locked,
            action="award_finalized",
            by=by,
            detail={"run": run.source_run.pk, "input_hash": run.source_run.input_hash},
        )
        # Consumables: the hospitals' choices for lost volume are applied by a re-run of
        # the final award (contracts.reassignment), which then becomes the official run.
        lost_volume_choices_apply(round_=locked, by=by)
        notify_results_published(round_=locked, run=run.source_run)
        round_finalized.send(sender=Round, round_=locked, by=by)
    return locked


def winners_of(run: EvaluationRun) -> Sequence[BidResult]:
    return list(
        BidResult.objects.filter(run=run.source_run, outcome=BidResult.Outcome.WON)
        .select_related("manufacturer", "round_item__item")
        .order_by("round_item__item__code", "rank")
    )


def money_total(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0)).quantize(Decimal("0.01"))


# --- province selection (drug rounds) -----------------------------------------------------


@dataclass(frozen=True)
class DraftPick:
    number: int  # 0-based place in the draft order
    bid_id: int
    manufacturer_id: int
    region_id: int | None = None
    made: bool = False  # chosen, or left to the platform


@dataclass
class DraftBoard:
    """One item's draft: the pick order, what is taken, whose turn it is, what is free."""

    round_item_id: int
    winners: list[BidResult]
    picks: list[DraftPick]
    regions: list[Region]
    backups: dict[int, list[int]]  # bid id -> region ids in order

    @property
    def current(self) -> DraftPick | None:
        return next((p for p in self.picks if not p.made), None)

    @property
    def taken(self) -> set[int]:
        return {p.region_id for p in self.picks if p.region_id is not None}

    @property
    def free(self) -> list[Region]:
        taken = self.taken
        return [r for r in self.regions if r.pk not in taken]

    def done_for(self, bid_id: int) -> bool:
        return all(p.made for p in self.picks if p.bid_id == bid_id)


def draft_board(*, selection: ProvinceSelection, round_item_id: int) -> DraftBoard:
    """The draft of one item: winners in rank order, picks by ``draft_order``.

    The provinces are those the final run allocated for the item (those with demand),
    the same list the optimiser drafts over, so the walk below and the optimiser's agree.
    """
    run = selection.run.source_run
    winners = list(
        BidResult.objects.filter(
            run=run, round_item_id=round_item_id, outcome=BidResult.Outcome.WON
        )
        .select_related("manufacturer")
        .order_by("rank", "opened_bid_id")
    )
    regions = list(
        Region.objects.filter(
            pk__in=ProvinceAllocation.objects.filter(run=run, round_item_id=round_item_id).values(
                "region_id"
            )
        ).order_by("code")
    )
    made = {
        c.pick: c
        for c in ProvinceChoice.objects.filter(
            selection=selection, round_item_id=round_item_id, kind=ProvinceChoice.Kind.PRIMARY
        )
    }
    picks = []
    for number, index in enumerate(draft_order(len(winners), len(regions))):
        w = winners[index]
        choice = made.get(number)
        picks.append(
            DraftPick(
                number=number,
                bid_id=w.opened_bid_id,
                manufacturer_id=w.manufacturer_id,
                region_id=choice.region_id if choice else None,
                made=choice is not None,
            )
        )
    backups: dict[int, list[int]] = {}
    for c in ProvinceChoice.objects.filter(
        selection=selection, round_item_id=round_item_id, kind=ProvinceChoice.Kind.BACKUP
    ).order_by("opened_bid_id", "pick"):
        if c.region_id is not None:
            backups.setdefault(c.opened_bid_id, []).append(c.region_id)
    return DraftBoard(round_item_id, winners, picks, regions, backups)


def _selection_for_update(selection_id: int, now: datetime.datetime) -> ProvinceSelection:
    selection = ProvinceSelection.objects.select_for_update().get(pk=selection_id)
    if selection.status != ProvinceSelection.Status.OPEN or now >= selection.closes_at:
        raise ValidationError(_("Province selection is closed."))
    return selection


def _winner_bid(board: DraftBoard, by: User) -> BidResult:
    org_id = by.organization_id
    bid = next((w for w in board.winners if w.manufacturer_id == org_id), None)
    if bid is None:
        raise ValidationError(_("Your organization is not a winner of this item."))
    return bid


def selection_open(
    *, round_: Round, by: User, closes_at: datetime.datetime, now: datetime.datetime | None = None
) -> ProvinceSelection:
    """Open the window in which the winners of a final drug round choose provinces."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_round(round_.pk)
        if locked.kind != Round.Kind.DRUGS:
            raise ValidationError(_("Province selection applies to drug rounds only."))
        if locked.status != S.AWARDED:
            raise ValidationError(
                _(
                    "Province selection opens after the award is final; "
                    "round %(code)s is %(status)s."
                )
                % {"code": locked.code, "status": locked.get_status_display()}
            )
        if ProvinceSelection.objects.filter(round=locked).exists():
            raise ValidationError(_("Province selection of this round was already opened."))
        if closes_at <= now:
            raise ValidationError(_("The selection must close in the future."))
        selection = ProvinceSelection.objects.create(
            round=locked, run=_official_run(locked), closes_at=closes_at, opened_by=by
        )
        AuditEntry.objects.create(
            round=locked,
            action="selection_opened",
            by=by,
            detail={"closes_at": closes_at.isoformat()},
        )
    return selection


def selection_pick(
    *,
    selection: ProvinceSelection,
    round_item_id: int,
    by: User,
    region: Region | None,
    now: datetime.datetime | None = None,
) -> ProvinceChoice | None:
    """Take the current pick of the draft: a free province, or (``region=None``) leave this
    and all of the winner's remaining picks to the platform's assignment.

    Safe under concurrency: the selection row is locked, so picks are made one at a time
    and "whose turn" and "what is free" are read under the lock.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _selection_for_update(selection.pk, now)
        board = draft_board(selection=locked, round_item_id=round_item_id)
        bid = _winner_bid(board, by)
        current = board.current
        if current is None:
            raise ValidationError(_("Every province of this item has been chosen."))
        if current.bid_id != bid.opened_bid_id:
            raise ValidationError(_("It is not your turn yet."))
        if region is None:
            ProvinceChoice.objects.bulk_create(
                [
                    ProvinceChoice(
                        selection=locked,
                        round_item_id=round_item_id,
                        opened_bid_id=bid.opened_bid_id,
                        kind=ProvinceChoice.Kind.PRIMARY,
                        pick=p.number,
                        region=None,
                        by=by,
                    )
                    for p in board.picks
                    if p.bid_id == bid.opened_bid_id and not p.made
                ]
            )
            return None
        if region.pk not in {r.pk for r in board.free}:
            raise ValidationError(
                _("%(province)s is not free any more.") % {"province": region.name}
            )
        return ProvinceChoice.objects.create(
            selection=locked,
            round_item_id=round_item_id,
            opened_bid_id=bid.opened_bid_id,
            kind=ProvinceChoice.Kind.PRIMARY,
            pick=current.number,
            region=region,
            by=by,
        )


def selection_backups_set(
    *,
    selection: ProvinceSelection,
    round_item_id: int,
    by: User,
    regions: Sequence[Region],
    now: datetime.datetime | None = None,
) -> list[ProvinceChoice]:
    """Set a winner's backup provinces (in order), once its own picks are made."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _selection_for_update(selection.pk, now)
        board = draft_board(selection=locked, round_item_id=round_item_id)
        bid = _winner_bid(board, by)
        if not board.done_for(bid.opened_bid_id):
            raise ValidationError(_("Choose your own provinces first; backups come afterwards."))
        own = {p.region_id for p in board.picks if p.bid_id == bid.opened_bid_id}
        allowed = {r.pk for r in board.regions}
        for region in regions:
            if region.pk in own:
                raise ValidationError(
                    _("%(province)s is your own province; a backup must be another winner's.")
                    % {"province": region.name}
                )
            if region.pk not in allowed:
                raise ValidationError(_("Choose provinces of this item."))
        ProvinceChoice.objects.filter(
            selection=locked,
            round_item_id=round_item_id,
            opened_bid_id=bid.opened_bid_id,
            kind=ProvinceChoice.Kind.BACKUP,
        ).delete()
        return ProvinceChoice.objects.bulk_create(
            [
                ProvinceChoice(
                    selection=locked,
                    round_item_id=round_item_id,
                    opened_bid_id=bid.opened_bid_id,
                    kind=ProvinceChoice.Kind.BACKUP,
                    pick=n,
                    region=region,
                    by=by,
                )
                for n, region in enumerate(dict.fromkeys(regions))
            ]
        )


def selection_close(
    *, selection: ProvinceSelection, by: User | None, now: datetime.datetime | None = None
) -> EvaluationRun:
    """Close the window and allocate: the choices are honoured in draft order and the
    optimiser assigns every pick left open (minimum cost within capacities).

    Closes once (conditional UPDATE on the status); the allocation is a run of the final
    award with the choices as preferences, which becomes the official result.
    """
    from contracts.tasks import evaluation_run_task

    now = now or timezone.now()
    with transaction.atomic():
        locked_round = _lock_round(selection.round_id)
        updated = ProvinceSelection.objects.filter(
            pk=selection.pk, status=ProvinceSelection.Status.OPEN
        ).update(status=ProvinceSelection.Status.CLOSED, closed_at=now)
        if updated != 1:
            raise ValidationError(_("Province selection is already closed."))
        final = EvaluationRun.objects.get(pk=selection.run_id)
        run = EvaluationRun.objects.create(
            round=locked_round,
            rule_set=final.rule_set,
            rule_set_version=final.rule_set_version,
            is_selection=True,
            exclusions=final.exclusions,
            exclusions_key=final.exclusions_key,
            requested_by=by,
            stage=STAGE_QUEUED,
        )
        ProvinceSelection.objects.filter(pk=selection.pk).update(result_run=run)
        AuditEntry.objects.create(
            round=locked_round, action="selection_closed", by=by, detail={"run": run.pk}
        )
        transaction.on_commit(lambda: evaluation_run_task.delay(run.pk))
    return run


def selection_deadline_check(*, now: datetime.datetime) -> int:
    """Close selection windows whose time is up (Celery beat; idempotent)."""
    closed = 0
    for selection in ProvinceSelection.objects.filter(
        status=ProvinceSelection.Status.OPEN, closes_at__lte=now
    ):
        try:
            selection_close(selection=selection, by=None, now=now)
            closed += 1
        except ValidationError:
            pass  # closed by the office meanwhile
    return closed


def selection_preferences(*, round_: Round) -> dict[str, dict[int, tuple[str, ...]]]:
    """Region and backup preferences (opened bid id -> province codes in order)."""
    selection = ProvinceSelection.objects.filter(round=round_).first()
    if selection is None:
        return {"region_preferences": {}, "backup_preferences": {}}
    primary: dict[int, list[str]] = {}
    backup: dict[int, list[str]] = {}
    for c in (
        ProvinceChoice.objects.filter(selection=selection, region__isnull=False)
        .select_related("region")
        .order_by("opened_bid_id", "kind", "pick")
    ):
        target = primary if c.kind == ProvinceChoice.Kind.PRIMARY else backup
        if c.region is not None:
            target.setdefault(c.opened_bid_id, []).append(c.region.code)
    return {
        "region_preferences": {k: tuple(v) for k, v in primary.items()},
        "backup_preferences": {k: tuple(v) for k, v in backup.items()},
    }


# --- contracts ----------------------------------------------------------------------------


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def term_end(starts_on: datetime.date, years: int) -> datetime.date:
    """Last day of a term of ``years`` starting on ``starts_on``."""
    return _add_years(starts_on, years) - datetime.timedelta(days=1)


def contracts_generate_blocker(*, round_: Round, now: datetime.datetime | None = None) -> str:
    """Why the round's contracts cannot be drawn up yet ("" when they can): what has to
    happen first, and when. The award page shows it instead of the button; the service
    refuses with it.

    Drug rounds wait for province selection: the contracts follow the provinces the winners
    chose, so they are drawn up from the allocation that selection produces, not before.
    """
    now = now or timezone.now()
    if round_.status != S.AWARDED:
        return _(
            "Contracts are drawn up once the award is final; round %(code)s is %(status)s."
        ) % {"code": round_.code, "status": round_.get_status_display()}
    if round_.kind != Round.Kind.DRUGS:
        return choice_run_blocker(round_=round_)
    selection = ProvinceSelection.objects.filter(round=round_).select_related("result_run").first()
    if selection is None:
        return _(
            "Open the province selection first: contracts are drawn up after the winners "
            "have chosen their provinces and the platform has allocated the rest."
        )
    if selection.status == ProvinceSelection.Status.OPEN:
        if now < selection.closes_at:
            return _(
                "Province selection is open until %(when)s (China Standard Time). Contracts "
                "can be drawn up once it has closed and the provinces are allocated."
            ) % {"when": _when(selection.closes_at)}
        return _(
            "The province selection window ended at %(when)s (China Standard Time); it is "
            "being closed (within a minute) and the provinces are then allocated. Contracts "
            "can be drawn up after that."
        ) % {"when": _when(selection.closes_at)}
    result = selection.result_run
    if result is None or result.status in (R.QUEUED, R.RUNNING):
        return _(
            "The province allocation after selection is running; contracts can be drawn up "
            "when it has finished."
        )
    if result.status != R.DONE:
        return _(
            "The province allocation after selection failed; run it again from its run "
            "page, then draw up the contracts."
        )
    return ""


def _contract_source_run(round_: Round) -> EvaluationRun:
    blocker = contracts_generate_blocker(round_=round_)
    if blocker:
        raise ValidationError(blocker)
    return _official_run(round_).source_run


CONTRACTS_REQUESTED = "contracts_requested"
# A request whose task has not drawn up the contracts within this time may be repeated
# (the task is idempotent: the round row is locked and a round with contracts gets none).
CONTRACTS_REQUEST_PATIENCE = datetime.timedelta(minutes=30)


def contracts_generate_unfinished(*, round_: Round) -> AuditEntry | None:
    """The office's latest request to draw up the round's contracts, while no contract
    exists (its task has not finished, or never will)."""
    if Contract.objects.filter(round=round_).exists():
        return None
    return (
        AuditEntry.objects.filter(round=round_, action=CONTRACTS_REQUESTED)
        .select_related("by")
        .order_by("-at", "-id")
        .first()
    )


def contracts_generate_pending(
    *, round_: Round, now: datetime.datetime | None = None
) -> AuditEntry | None:
    """The unfinished request, if it is recent enough to wait for."""
    now = now or timezone.now()
    request = contracts_generate_unfinished(round_=round_)
    if request is None:
        return None
    return request if now - request.at < CONTRACTS_REQUEST_PATIENCE else None


def contracts_generate_request(*, round_: Round, by: User | None) -> None:
    """Check that the round's contracts can be drawn up, and queue the work (after commit).

    A national round has hundreds of thousands of contracts: they are written by a task.
    The request is recorded, so the award page shows it as pending until the task is done.
    """
    from contracts.tasks import contracts_generate_task

    with transaction.atomic():
        locked = _lock_round(round_.pk)
        if Contract.objects.filter(round=locked).exists():
            raise ValidationError(_("The contracts of this round are already drawn up."))
        _contract_source_run(locked)
        if contracts_generate_pending(round_=locked) is not None:
            raise ValidationError(
                _("The contracts of this round are already being drawn up; wait a moment.")
            )
        AuditEntry.objects.create(round=locked, action=CONTRACTS_REQUESTED, by=by)
        user_id = by.pk if by is not None else None
        transaction.on_commit(lambda: contracts_generate_task.delay(locked.pk, user_id))


def contracts_generate(*, round_: Round, by: User | None) -> int:
    """Draw up one contract per hospital x winner, a line per item, from the official run.

    Idempotent: a round that has contracts gets no more (the round row is locked, so two
    requests cannot both generate). Hospitals are notified that a contract awaits them.
    """
    with transaction.atomic():
        locked = _lock_round(round_.pk)
        if Contract.objects.filter(round=locked).exists():
            return 0
        run = _contract_source_run(locked)
        terms = dict(ItemAward.objects.filter(run=run).values_list("round_item_id", "term_years"))
        grouped: dict[tuple[int, int], dict[int, list[Any]]] = {}
        for h in (
            HospitalAllocation.objects.filter(run=run)
            .order_by("hospital_id", "manufacturer_id", "round_item_id")
            .values_list(
                "hospital_id",
                "manufacturer_id",
                "round_item_id",
                "opened_bid_id",
                "region_id",
                "quantity",
                "unit_price",
            )
            .iterator(chunk_size=20_000)
        ):
            hospital_id, manufacturer_id, item_id, bid_id, region_id, quantity, price = h
            lines = grouped.setdefault((hospital_id, manufacturer_id), {})
            if item_id in lines:
                lines[item_id][2] += quantity
            else:
                lines[item_id] = [bid_id, region_id, quantity, price]
        starts = locked.contract_starts_on
        contracts = []
        for n, ((hospital_id, manufacturer_id), lines) in enumerate(sorted(grouped.items()), 1):
            contracts.append(
                Contract(
                    round=locked,
                    run=run,
                    number=f"{locked.code}-HT{n:06d}",
                    hospital_id=hospital_id,
                    manufacturer_id=manufacturer_id,
                    starts_on=starts,
                    total=sum((_amount(q, p) for _, _, q, p in lines.values()), Decimal("0.00")),
                )
            )
        for start in range(0, len(contracts), BATCH_SIZE):
            Contract.objects.bulk_create(contracts[start : start + BATCH_SIZE])
        if contracts and contracts[0].pk is None:  # a backend that returns no ids
            by_pair = {
                (c.hospital_id, c.manufacturer_id): c for c in Contract.objects.filter(round=locked)
            }
            contracts = [by_pair[(c.hospital_id, c.manufacturer_id)] for c in contracts]
        _bulk(
            ContractLine,
            (
                ContractLine(
                    contract=contract,
                    version=0,
                    round_item_id=item_id,
                    opened_bid_id=bid_id,
                    region_id=region_id,
                    quantity=quantity,
                    unit_price=price,
                    amount=_amount(quantity, price),
                    term_years=terms.get(item_id) or 1,
                    starts_on=starts,
                    ends_on=term_end(starts, terms.get(item_id) or 1),
                )
                for contract, lines in zip(
                    contracts, (grouped[k] for k in sorted(grouped)), strict=True
                )
                for item_id, (bid_id, region_id, quantity, price) in sorted(lines.items())
            ),
        )
        AuditEntry.objects.create(
            round=locked, action="contracts_generated", by=by, detail={"contracts": len(contracts)}
        )
        notify(
            organizations={c.hospital_id for c in contracts},
            kind=Notification.Kind.CONTRACT_TO_CONFIRM,
            subject=gettext_noop("Contracts of round %(code)s to confirm"),
            body=gettext_noop(
                "Your purchase contracts of round %(code)s are ready. Check and confirm them."
            ),
            params={"code": locked.code},
            url=reverse("contracts:contracts"),
            dedupe_key=f"contracts-ready:{locked.pk}",
        )
    return len(contracts)


def _amount(quantity: int, price: Decimal) -> Decimal:
    return (Decimal(quantity) * price).quantize(Decimal("0.01"), ROUND_HALF_UP)


def contract_confirm(
    *, contract: Contract, by: User, now: datetime.datetime | None = None
) -> Contract:
    """The hospital confirms first, then the manufacturer; each records who and when.

    A conditional UPDATE on the expected status (under the round lock) makes a double
    click or a race confirm once; when the last contract of a round is confirmed by both
    parties, the round moves to "contracts signed".
    """
    now = now or timezone.now()
    org = by.organization
    with transaction.atomic():
        locked_round = _lock_round(contract.round_id)
        C = Contract.Status
        if org is not None and org.pk == contract.hospital_id:
            updated = Contract.objects.filter(pk=contract.pk, status=C.AWAITING_HOSPITAL).update(
                status=C.AWAITING_MANUFACTURER,
                hospital_confirmed_by=by,
                hospital_confirmed_at=now,
                revision=models.F("revision") + 1,
            )
            if updated != 1:
                raise ValidationError(_("Your organization has already confirmed this contract."))
            notify(
                organizations=[contract.manufacturer_id],
                kind=Notification.Kind.CONTRACT_TO_CONFIRM,
                subject=gettext_noop("Contract %(number)s to confirm"),
                body=gettext_noop(
                    "The hospital confirmed contract %(number)s. Check and confirm it."
                ),
                params={"number": contract.number},
                url=reverse("contracts:contract", args=[contract.pk]),
                dedupe_key=f"contract-to-confirm:{contract.pk}",
            )
        elif org is not None and org.pk == contract.manufacturer_id:
            current = Contract.objects.get(pk=contract.pk).status
            if current == C.AWAITING_HOSPITAL:
                raise ValidationError(_("The hospital confirms first."))
            updated = Contract.objects.filter(
                pk=contract.pk, status=C.AWAITING_MANUFACTURER
            ).update(
                status=C.CONFIRMED,
                manufacturer_confirmed_by=by,
                manufacturer_confirmed_at=now,
                revision=models.F("revision") + 1,
            )
            if updated != 1:
                raise ValidationError(_("Your organization has already confirmed this contract."))
            if (
                locked_round.status == S.AWARDED
                and not Contract.objects.filter(round=locked_round)
                .exclude(status=C.CONFIRMED)
                .exists()
            ):
                round_advance(
                    round_=locked_round, to=S.CONTRACTED, by=by, note="all contracts confirmed"
                )
        else:
            raise ValidationError(_("Only the parties to a contract can confirm it."))
    contract.refresh_from_db()
    return contract


def contract_lines(contract: Contract, version: int | None = None) -> list[ContractLine]:
    v = contract.current_version if version is None else version
    return list(
        ContractLine.objects.filter(contract=contract, version=v)
        .select_related(
            "round_item__item", "region", "opened_bid__product", "opened_bid__specification"
        )
        .order_by("round_item__item__code")
    )


def contract_amend(
    *,
    contract: Contract,
    by: User | None,
    reason: str,
    effective_from: datetime.date,
    quantities: dict[int, int],
    added: Sequence[ContractLine] = (),
) -> ContractAmendment:
    """Amend a confirmed contract: new quantities per item (round item id -> agreed
    volume) and, for a supplier switch, new lines (``added``, unsaved, any version).

    The current lines are copied to a new version with the changes; every earlier version
    stays as it was. Locks the contract row.
    """
    if not reason.strip():
        raise ValidationError(_("Give the reason for the amendment."))
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        if locked.status != Contract.Status.CONFIRMED:
            raise ValidationError(
                _("Only a contract confirmed by both parties is amended; change it otherwise.")
            )
        lines = contract_lines(locked)
        known = {line.round_item_id for line in lines}
        unknown = set(quantities) - known
        if unknown or known & {line.round_item_id for line in added}:
            raise ValidationError(_("The amendment names an item the contract does not have."))
        version = locked.current_version + 1
        new_lines = []
        for line in [*lines, *added]:
            quantity = quantities.get(line.round_item_id, line.quantity)
            new_lines.append(
                ContractLine(
                    contract=locked,
                    version=version,
                    round_item_id=line.round_item_id,
                    opened_bid_id=line.opened_bid_id,
                    region_id=line.region_id,
                    quantity=quantity,
                    unit_price=line.unit_price,
                    amount=_amount(quantity, line.unit_price),
                    term_years=line.term_years,
                    starts_on=line.starts_on,
                    ends_on=line.ends_on,
                )
            )
        ContractLine.objects.bulk_create(new_lines)
        locked.current_version = version
        locked.total = sum((line.amount for line in new_lines), Decimal("0.00"))
        locked.revision += 1
        locked.save(update_fields=["current_version", "total", "revision"])
        amendment = ContractAmendment.objects.create(
            contract=locked,
            version=version,
            reason=reason.strip(),
            effective_from=effective_from,
            by=by,
        )
    return amendment


def contract_pdf_render(*, contract_id: int) -> bool:
    """Render the contract's PDF in Chinese and English if the stored one is out of date.

    Idempotent: returns False when the PDFs are already of the current revision. The files
    are written first and the row is updated only if the revision did not move meanwhile
    (a conditional UPDATE), so a stale render never overwrites a newer one.
    """
    from django.core.files.base import ContentFile

    from contracts.pdf import render_template_pdf, sha256

    contract = Contract.objects.select_related(
        "round", "hospital", "manufacturer", "hospital_confirmed_by", "manufacturer_confirmed_by"
    ).get(pk=contract_id)
    if contract.pdf_ready:
        return False
    revision = contract.revision
    context = {
        "contract": contract,
        "lines": contract_lines(contract),
        "amendments": list(contract.amendments.all()),
    }
    zh = render_template_pdf("contracts/pdf/contract.html", context, language="zh-hans")
    en = render_template_pdf("contracts/pdf/contract.html", context, language="en")
    storage = Contract._meta.get_field("pdf_zh").storage
    name = f"contracts/{contract.round.code}/{contract.number}-r{revision}"
    zh_name = storage.save(f"{name}-zh.pdf", ContentFile(zh))
    en_name = storage.save(f"{name}-en.pdf", ContentFile(en))
    updated = Contract.objects.filter(pk=contract.pk, revision=revision).update(
        pdf_zh=zh_name,
        pdf_en=en_name,
        pdf_zh_sha256=sha256(zh),
        pdf_en_sha256=sha256(en),
        pdf_revision=revision,
    )
    return updated == 1


def contract_pdf_request(*, contract: Contract) -> None:
    """Queue the PDF (after commit) unless it is up to date."""
    from contracts.tasks import contract_pdf_task

    if not contract.pdf_ready:
        transaction.on_commit(lambda: contract_pdf_task.delay(contract.pk))


def execution_start(*, round_: Round, by: User | None) -> Round:
    with transaction.atomic():
        locked = _lock_round(round_.pk)
        return round_advance(round_=locked, to=S.IN_EXECUTION, by=by, note="execution starts")


def execution_start_check(*, now: datetime.datetime) -> int:
    """Rounds whose contracts are all signed start execution on the contract start date."""
    today = timezone.localdate(now)
    started = 0
    for round_ in Round.objects.filter(status=S.CONTRACTED, contract_starts_on__lte=today):
        try:
            execution_start(round_=round_, by=None)
            started += 1
        except ValidationError:
            pass
    return started


# --- execution: purchases -----------------------------------------------------------------

PURCHASE_COLUMNS = [
    Column("contract_number", ("合同编号", "contract number"), kind=ColumnKind.CODE),
    Column("item_code", ("品种编码", "item code"), kind=ColumnKind.CODE),
    Column("month", ("月份", "month")),
    Column("quantity", ("采购数量", "quantity"), kind=ColumnKind.POSITIVE_INT),
]
PURCHASE_UPLOAD = "purchases"


@dataclass(frozen=True)
class PurchaseLine:
    """One purchase figure as a web form or an API client sends it."""

    contract_number: str
    item_code: str
    month: str
    quantity: object


def purchase_lines_frame(lines: Sequence[PurchaseLine]) -> pd.DataFrame:
    """The text-cell frame ``purchases_apply`` reads (line numbers start at 1)."""
    return pd.DataFrame(
        {
            ROW: list(range(1, len(lines) + 1)),
            "contract_number": [str(line.contract_number or "") for line in lines],
            "item_code": [str(line.item_code or "") for line in lines],
            "month": [str(line.month or "") for line in lines],
            "quantity": ["" if line.quantity is None else str(line.quantity) for line in lines],
        }
    )


def purchases_apply(
    *,
    hospital: Organization,
    by: User,
    raw: pd.DataFrame,
    channel: str,
    commit: bool,
    today: datetime.date | None = None,
) -> ImportOutcome:
    """Check purchase rows of one hospital and, with ``commit`` and no error, write them all.

    All or nothing: one invalid row and nothing is written. Recording a month again
    replaces its figure. The hospital's own confirmed contracts of rounds in execution
    only. Safe under concurrency: the writes run in one transaction and the unique
    (contract, item, month) constraint refuses a second insert of the same month.
    """
    today = today or timezone.localdate()
    frame, errors = convert_frame(raw, PURCHASE_COLUMNS)
    labels = {c.key: c.display_header for c in PURCHASE_COLUMNS}
    contracts = {
        c.number.upper(): c
        for c in Contract.objects.filter(hospital=hospital).select_related("round")
    }
    lines: dict[tuple[int, str], ContractLine] = {}
    for cl in ContractLine.objects.filter(contract__hospital=hospital).select_related(
        "round_item__item", "contract"
    ):
        if cl.version == cl.contract.current_version:
            lines[(cl.contract_id, cl.round_item.item.code.upper())] = cl
    existing = {
        (p.contract_id, p.round_item_id, p.month): p
        for p in Purchase.objects.filter(contract__hospital=hospital)
    }
    bought: dict[tuple[int, int], int] = {}
    for (contract_id, item_id, _month), p in existing.items():
        bought[(contract_id, item_id)] = bought.get((contract_id, item_id), 0) + p.quantity
    bad_rows = {e.row for e in errors}
    seen: dict[tuple[int, int, datetime.date], int] = {}
    to_create: list[Purchase] = []
    to_update: list[Purchase] = []
    preview = []
    outcome = ImportOutcome()
    for record in frame.to_dict("records"):
        row = int(record[ROW])
        outcome.total += 1
        if row in bad_rows:
            continue

        def refuse(column: str, message: str, row: int = row) -> None:
            errors.append(RowError(row=row, column=labels.get(column, ""), message=message))

        number = str(record["contract_number"])
        contract = contracts.get(number)
        if contract is None:
            refuse(
                "contract_number",
                _("contract %(number)s is not one of your organization's contracts.")
                % {"number": number},
            )
            continue
        if contract.status != Contract.Status.CONFIRMED:
            refuse(
                "contract_number",
                _("contract %(number)s is not confirmed by both parties yet.")
                % {"number": contract.number},
            )
            continue
        if contract.round.status != S.IN_EXECUTION:
            refuse(
                "contract_number",
                _("round %(code)s is not in execution.") % {"code": contract.round.code},
            )
            continue
        found = lines.get((contract.pk, str(record["item_code"])))
        if found is None:
            refuse(
                "item_code",
                _("item %(code)s is not on contract %(number)s.")
                % {"code": record["item_code"], "number": contract.number},
            )
            continue
        line = found
        month = parse_month(str(record["month"]))
        if month is None:
            refuse(
                "month",
                _("“%(value)s” is not a month such as 2027-03.") % {"value": record["month"]},
            )
            continue
        if month < month_start(line.starts_on) or month > line.ends_on:
            refuse(
                "month",
                _("%(month)s is outside the contract term %(start)s to %(end)s.")
                % {
                    "month": f"{month:%Y-%m}",
                    "start": f"{line.starts_on:%Y-%m-%d}",
                    "end": f"{line.ends_on:%Y-%m-%d}",
                },
            )
            continue
        if month > month_start(today):
            refuse("month", _("%(month)s has not begun yet.") % {"month": f"{month:%Y-%m}"})
            continue
        key = (contract.pk, line.round_item_id, month)
        if key in seen:
            refuse(
                "",
                _("duplicate of row %(first)s (same contract, item and month).")
                % {"first": seen[key]},
            )
            continue
        seen[key] = row
        quantity = int(record["quantity"])
        old = existing.get(key)
        pair = (contract.pk, line.round_item_id)
        bought[pair] = bought.get(pair, 0) - (old.quantity if old else 0) + quantity
        if old is None:
            action = Action.CREATE
            to_create.append(
                Purchase(
                    contract=contract,
                    round_item_id=line.round_item_id,
                    month=month,
                    quantity=quantity,
                    channel=channel,
                    recorded_by=by,
                )
            )
            outcome.created += 1
        elif old.quantity != quantity:
            action = Action.CHANGE
            old.quantity, old.channel, old.recorded_by = quantity, channel, by
            to_update.append(old)
            outcome.changed += 1
        else:
            action = Action.UNCHANGED
            outcome.unchanged += 1
        description = f"{contract.number} {line.round_item.item.code} {month:%Y-%m}: {quantity:,}"
        beyond = bought[pair] - line.quantity
        if beyond > 0:
            description += " · " + _("%(units)s beyond the agreed volume") % {
                "units": f"{beyond:,}"
            }
        preview.append(PreviewRow(row=row, action=action, description=description))
    outcome.errors = sort_errors(errors)
    outcome.rows = preview[:PREVIEW_ROWS]
    if outcome.errors:
        outcome.created = outcome.changed = outcome.unchanged = 0
        return outcome
    if commit:
        with transaction.atomic():
            Purchase.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
            now = timezone.now()
            for p in to_update:
                p.recorded_at = now
            Purchase.objects.bulk_update(
                to_update, ["quantity", "channel", "recorded_by", "recorded_at"], batch_size=1000
            )
        outcome.committed = True
    return outcome


def purchases_record(
    *,
    hospital: Organization,
    by: User,
    lines: Sequence[PurchaseLine],
    channel: str,
    today: datetime.date | None = None,
) -> ImportOutcome:
    """Record purchases from a web form or the API: all lines or none (``RowsRefused``)."""
    outcome = purchases_apply(
        hospital=hospital,
        by=by,
        raw=purchase_lines_frame(lines),
        channel=channel,
        commit=True,
        today=today,
    )
    if outcome.errors:
        raise RowsRefused(outcome.errors, lines=True)
    return outcome


def purchases_import(
    *,
    hospital: Organization,
    by: User,
    data: bytes,
    filename: str,
    max_bytes: int,
    commit: bool,
    today: datetime.date | None = None,
) -> ImportOutcome:
    """A purchase spreadsheet (.xlsx or .csv, UTF-8 or GB18030): preview or commit."""
    sheet = run_reader(
        data=data,
        filename=filename,
        columns=PURCHASE_COLUMNS,
        max_bytes=max_bytes,
        unique_by=(),
    )
    if isinstance(sheet, str):
        return ImportOutcome.refused(sheet)
    raw = sheet.frame.copy()
    raw["quantity"] = raw["quantity"].map(lambda v: "" if v is None or pd.isna(v) else str(v))
    outcome = purchases_apply(
        hospital=hospital,
        by=by,
        raw=raw,
        channel=Purchase.Channel.UPLOAD,
        commit=commit,
        today=today,
    )
    outcome.errors = sort_errors([*sheet.errors, *outcome.errors])
    if outcome.errors:
        outcome.committed = False
        outcome.created = outcome.changed = outcome.unchanged = 0
    return outcome


# --- execution: supply failure and the switch to a backup ---------------------------------


def _current_supplier(run: EvaluationRun, round_item_id: int, region: Region) -> int | None:
    """The manufacturer supplying a province now: the last switch's backup, else the award."""
    switched = (
        SupplyFailure.objects.filter(
            round=run.round,
            round_item_id=round_item_id,
            region=region,
            status=SupplyFailure.Status.SWITCHED,
        )
        .select_related("backup_bid")
        .order_by("-switched_at", "-pk")
        .first()
    )
    if switched is not None and switched.backup_bid is not None:
        return switched.backup_bid.manufacturer_id
    allocation = ProvinceAllocation.objects.filter(
        run=run, round_item_id=round_item_id, region=region
    ).first()
    return allocation.manufacturer_id if allocation else None


def supply_failure_report(
    *, round_: Round, round_item_id: int, region: Region, by: User, description: str
) -> SupplyFailure:
    """Report that a province's supplier of an item is failing to supply.

    The office, a hospital of that province, or the supplier itself may report it.
    """
    if not description.strip():
        raise ValidationError(_("Say what happened."))
    if round_.status not in {S.CONTRACTED, S.IN_EXECUTION}:
        raise ValidationError(_("Supply failures are reported while contracts are in force."))
    run = _official_run(round_).source_run
    supplier = _current_supplier(run, round_item_id, region)
    if supplier is None:
        raise ValidationError(_("Nobody supplies this item in that province."))
    org = by.organization
    allowed = org is not None and (
        (org.kind == Organization.Kind.OFFICE and round_.office_id == org.pk)
        or (org.kind == Organization.Kind.HOSPITAL and org.region_id == region.pk)
        or org.pk == supplier
    )
    if not allowed:
        raise ValidationError(
            _("Only the office, a hospital of the province or the supplier can report this.")
        )
    return SupplyFailure.objects.create(
        round=round_,
        round_item_id=round_item_id,
        region=region,
        manufacturer_id=supplier,
        description=description.strip(),
        reported_by=by,
    )


def supplier_switch(
    *,
    failure: SupplyFailure,
    by: User,
    switch_from: datetime.date,
    backup_bid_id: int | None = None,
) -> list[Contract]:
    """Switch a failing province to a backup winner from the first day of a month.

    Every confirmed contract of the failing supplier with a hospital of the province is
    amended: its line for the item keeps what was bought before the switch. The rest of
    each hospital's agreed volume goes to the backup at the backup's award price: by an
    amendment of their confirmed contract, a change of a contract not yet confirmed, or a
    new contract for both to confirm. Locks the round row, then each contract row.
    """
    if switch_from.day != 1:
        raise ValidationError(_("A switch takes effect on the first day of a month."))
    with transaction.atomic():
        locked_round = _lock_round(failure.round_id)
        if locked_round.status not in {S.CONTRACTED, S.IN_EXECUTION}:
            raise ValidationError(_("Supply failures are reported while contracts are in force."))
        run = _official_run(locked_round).source_run
        allocation = (
            ProvinceAllocation.objects.filter(
                run=run, round_item_id=failure.round_item_id, region=failure.region
            )
            .select_related("backup_bid")
            .first()
        )
        if backup_bid_id is None:
            backup_bid_id = allocation.backup_bid_id if allocation else None
        backup = BidResult.objects.filter(
            run=run,
            round_item_id=failure.round_item_id,
            opened_bid_id=backup_bid_id,
            outcome=BidResult.Outcome.WON,
        ).first()
        if backup is None or backup.manufacturer_id == failure.manufacturer_id:
            raise ValidationError(_("Choose another winner of the item as the backup supplier."))
        updated = SupplyFailure.objects.filter(
            pk=failure.pk, status=SupplyFailure.Status.REPORTED
        ).update(
            status=SupplyFailure.Status.SWITCHED,
            backup_bid_id=backup.opened_bid_id,
            switch_from=switch_from,
            switched_by=by,
            switched_at=timezone.now(),
        )
        if updated != 1:
            raise ValidationError(_("This supply failure has already been handled."))
        price = backup.award_price or backup.unit_price or Decimal(0)
        reason = _(
            "Supply failure %(id)s: %(item)s in %(province)s is supplied by the backup "
            "supplier from %(date)s."
        ) % {
            "id": failure.pk,
            "item": failure.round_item.item.code,
            "province": failure.region.name,
            "date": f"{switch_from:%Y-%m-%d}",
        }
        affected = list(
            Contract.objects.select_for_update()
            .filter(
                round=locked_round,
                manufacturer_id=failure.manufacturer_id,
                hospital__region=failure.region,
            )
            .order_by("pk")
        )
        changed: list[Contract] = []
        for contract in affected:
            line = next(
                (
                    cl
                    for cl in contract_lines(contract)
                    if cl.round_item_id == failure.round_item_id
                ),
                None,
            )
            if line is None:
                continue
            if contract.status != Contract.Status.CONFIRMED:
                raise ValidationError(
                    _("Contract %(number)s is not confirmed yet; it cannot be switched.")
                    % {"number": contract.number}
                )
            bought_before = (
                Purchase.objects.filter(
                    contract=contract, round_item_id=line.round_item_id, month__lt=switch_from
                ).aggregate(total=models.Sum("quantity"))["total"]
                or 0
            )
            keep = min(line.quantity, bought_before)
            remaining = line.quantity - keep
            contract_amend(
                contract=contract,
                by=by,
                reason=reason,
                effective_from=switch_from,
                quantities={line.round_item_id: keep},
            )
            changed.append(contract)
            if remaining > 0:
                changed.append(
                    _backup_contract(
                        round_=locked_round,
                        run=run,
                        hospital_id=contract.hospital_id,
                        backup=backup,
                        like=line,
                        quantity=remaining,
                        price=price,
                        switch_from=switch_from,
                        reason=reason,
                        by=by,
                    )
                )
        AuditEntry.objects.create(
            round=locked_round,
            action="supplier_switched",
            by=by,
            detail={
                "failure": failure.pk,
                "backup_bid": backup.opened_bid_id,
                "from": f"{switch_from:%Y-%m-%d}",
                "contracts": [c.pk for c in changed],
            },
        )
        hospitals = {c.hospital_id for c in changed}
        notify(
            organizations=hospitals | {failure.manufacturer_id, backup.manufacturer_id},
            kind=Notification.Kind.SUPPLIER_SWITCHED,
            subject=gettext_noop("Supplier switched for %(item)s in %(province)s"),
            body=gettext_noop(
                "From %(date)s, %(item)s in %(province)s is supplied by %(backup)s. "
                "The affected contracts are amended."
            ),
            params={
                "item": failure.round_item.item.code,
                "province": failure.region.name_zh,
                "date": f"{switch_from:%Y-%m-%d}",
                "backup": backup.manufacturer.name,
            },
            url=reverse("contracts:contracts"),
            dedupe_key=f"switch:{failure.pk}",
        )
    return changed


def _backup_contract(
    *,
    round_: Round,
    run: EvaluationRun,
    hospital_id: int,
    backup: BidResult,
    like: ContractLine,
    quantity: int,
    price: Decimal,
    switch_from: datetime.date,
    reason: str,
    by: User,
) -> Contract:
    """Give ``quantity`` of an item to the backup in the hospital's contract with it."""
    line = ContractLine(
        round_item_id=like.round_item_id,
        opened_bid_id=backup.opened_bid_id,
        region_id=like.region_id,
        quantity=quantity,
        unit_price=price,
        amount=_amount(quantity, price),
        term_years=like.term_years,
        starts_on=switch_from,
        ends_on=like.ends_on,
    )
    contract = (
        Contract.objects.select_for_update()
        .filter(round=round_, hospital_id=hospital_id, manufacturer_id=backup.manufacturer_id)
        .first()
    )
    if contract is not None and contract.status == Contract.Status.CONFIRMED:
        current = {cl.round_item_id: cl for cl in contract_lines(contract)}
        if like.round_item_id in current:
            existing = current[like.round_item_id]
            contract_amend(
                contract=contract,
                by=by,
                reason=reason,
                effective_from=switch_from,
                quantities={like.round_item_id: existing.quantity + quantity},
            )
        else:
            contract_amend(
                contract=contract,
                by=by,
                reason=reason,
                effective_from=switch_from,
                quantities={},
                added=[line],
            )
        return contract
    if contract is None:
        last = (
            Contract.objects.filter(round=round_)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        serial = int(last.rsplit("HT", 1)[1]) + 1 if last else 1
        contract = Contract.objects.create(
            round=round_,
            run=run,
            number=f"{round_.code}-HT{serial:06d}",
            hospital_id=hospital_id,
            manufacturer_id=backup.manufacturer_id,
            starts_on=switch_from,
            total=Decimal("0.00"),
        )
    # Not confirmed yet: the draft itself changes (there is no signed original to keep).
    existing_line = ContractLine.objects.filter(
        contract=contract, version=contract.current_version, round_item_id=like.round_item_id
    ).first()
    if existing_line is not None:
        existing_line.quantity += quantity
        existing_line.amount = _amount(existing_line.quantity, existing_line.unit_price)
        existing_line.save(update_fields=["quantity", "amount"])
    else:
        line.contract = contract
        line.version = contract.current_version
        line.save()
    contract.total = sum((cl.amount for cl in contract_lines(contract)), Decimal("0.00"))
    contract.revision += 1
    contract.save(update_fields=["total", "revision"])
    notify(
        organizations=[hospital_id],
        kind=Notification.Kind.CONTRACT_TO_CONFIRM,
        subject=gettext_noop("Contract %(number)s to confirm"),
        body=gettext_noop("A backup supplier's contract %(number)s awaits your confirmation."),
        params={"number": contract.number},
        url=reverse("contracts:contract", args=[contract.pk]),
        dedupe_key=f"contract-to-confirm-backup:{contract.pk}:{contract.revision}",
    )
    return contract


def behind_schedule_check(*, now: datetime.datetime) -> int:
    """Tell hospitals behind the pro-rata schedule, once a month per round (Celery beat).

    Computed at most once a day per round (an audit entry marks the day), so the
    every-minute sweep stays cheap; the notification itself is keyed by round and month.
    """
    from contracts.selectors import current_lines, progress_behind, progress_schedule

    today = timezone.localdate(now)
    notified = 0
    for round_ in Round.objects.filter(status=S.IN_EXECUTION):
        marker = f"{today:%Y-%m-%d}"
        if AuditEntry.objects.filter(
            round=round_, action="behind_schedule_checked", detail__day=marker
        ).exists():
            continue
        with transaction.atomic():
            AuditEntry.objects.create(
                round=round_, action="behind_schedule_checked", detail={"day": marker}
            )
            # Aggregated per hospital in the database: a national round has a million lines.
            lines = current_lines(
                contracts=Contract.objects.filter(round=round_, status=Contract.Status.CONFIRMED)
            )
            schedule = progress_schedule(lines=lines, today=today)
            for hospital, progress in progress_behind(lines=lines, schedule=schedule):
                notified += notify(
                    organizations=[hospital.pk],
                    kind=Notification.Kind.BEHIND_SCHEDULE,
                    subject=gettext_noop("Purchases of round %(code)s behind schedule"),
                    body=gettext_noop(
                        "You have bought %(bought)s units of the %(expected)s the schedule "
                        "expects by now (agreed volume %(agreed)s). Record your purchases or "
                        "catch up."
                    ),
                    params={
                        "code": round_.code,
                        "bought": f"{progress.bought:,}",
                        "expected": f"{progress.expected:,}",
                        "agreed": f"{progress.agreed:,}",
                    },
                    url=reverse("contracts:progress"),
                    dedupe_key=f"behind:{round_.pk}:{today:%Y-%m}",
                )
    return notified


def notifications_mark_read(*, organization: Organization, ids: Sequence[int] | None = None) -> int:
    """Mark the organization's unread notifications read (a conditional UPDATE): all of
    them, or only those of ``ids`` (the page the reader was shown)."""
    unread = Notification.objects.filter(organization=organization, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())

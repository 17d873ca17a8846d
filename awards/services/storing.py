"""Executing a queued evaluation run: build the problem, solve it, store what it decides.

Called by the evaluation task (``awards.tasks``). Runs are queued elsewhere: evaluations
and scenarios by ``evaluation``, the re-runs of the final award by ``selection`` and
``reassignment``; none of those is imported here, so the task never imports back a module
that imports it. A run's rows are written together in one transaction at the end, so a
run is complete or has none. Locks the round row, then the run row (``base``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, Region
from awards.documents import document_pack
from awards.models import (
    BidResult,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    ProvinceAllocation,
)
from awards.problem import (
    BuiltProblem,
    bid_reason_parts,
    key_id,
    not_evaluated_reason,
)
from awards.services import fanout
from awards.services.base import (
    BATCH_SIZE,
    EVALUABLE,
    NO_AWARD_STATUSES,
    STAGE_DONE,
    STAGE_FAILED,
    STAGE_LOADING,
    STAGE_SOLVING,
    STAGE_STORING,
    R,
    S,
    exclusions_of,
    insert_batched,
    lock_round,
    official_run_get,
)
from awards.services.comparison import pending_row, relaxations_send, run_problem
from awards.signals import final_allocation_changed
from awards.unit_rules import solve_by_unit, unit_rule_sets
from bidding.models import OpenedBid
from common.bulk_copy import ColumnValues, Decimals, copy_columns
from common.memory import collection_paused
from procurement.models import Round, RoundItem
from procurement.optimiser import result_to_dict, solve
from procurement.optimiser.kinds import Family, family_of
from procurement.optimiser.model import Problem, Result
from procurement.optimiser.reasons import message_record
from procurement.optimiser.scenarios import ScenarioRow, comparison_to_dict, hhi
from procurement.services import round_advance

logger = logging.getLogger(__name__)


def _progress(run_id: int, percent: int, stage: str) -> None:
    # Its own short transaction, so the page polling the run sees it at once.
    EvaluationRun.objects.filter(pk=run_id, status=R.RUNNING).update(progress=percent, stage=stage)


@collection_paused()
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
        parts=0,
        parts_done=0,
    )
    if started != 1:
        return None
    run = EvaluationRun.objects.select_related("round", "rule_set").get(pk=run_id)
    try:
        built = run_problem(run)
        # Consumables: each bidding unit under its own rule set (awards.unit_rules); a run
        # whose units carry rule sets of their own is solved in this task, not fanned out.
        own_rules = unit_rule_sets(run)
        chunks = 0 if own_rules else fanout.chunk_count(built.problem)
        if chunks:  # per-item rules, many items: solved in parts across the workers
            return fanout.fan_out(run_id, built, chunks)
        _progress(run_id, 30, STAGE_SOLVING)
        result = solve_by_unit(built.problem, own_rules, solver=solve)
        comparison = comparison_row(built.problem, result)
    except ValidationError as exc:
        return _fail(run_id, "; ".join(exc.messages))
    except DatabaseError:
        raise  # the task retries; nothing of this run was stored
    except Exception as exc:  # any other failure is shown on the run's page, with its cause
        logger.exception("evaluation run %s failed", run_id)
        return _fail(run_id, f"{type(exc).__name__}: {exc}")
    _progress(run_id, 60, STAGE_STORING)
    return evaluation_store(run_id=run_id, built=built, result=result, comparison=comparison)


def evaluation_store(
    *, run_id: int, built: BuiltProblem, result: Result, comparison: dict[str, Any]
) -> EvaluationRun | None:
    """Store a solved run (by its task, or by the merge of a fanned-out run), then send
    its relaxations (an optimised award's scenario comparison)."""
    stored = _store(run_id=run_id, built=built, result=result, comparison=comparison)
    if stored is not None and stored.status == R.DONE and stored.same_as_id is None:
        relaxations_send(run_id, len(comparison.get("constraint_costs", ())))
    return stored


def evaluation_fail(*, run_id: int, message: str) -> EvaluationRun:
    """Mark a running run failed (the task gave up), so the page offers to run it again."""
    return _fail(run_id, message)


def _fail(run_id: int, message: str) -> EvaluationRun:
    EvaluationRun.objects.filter(pk=run_id, status=R.RUNNING).update(
        status=R.FAILED, stage=STAGE_FAILED, error=message[:4000], finished_at=timezone.now()
    )
    return EvaluationRun.objects.get(pk=run_id)


def comparison_row(problem: Problem, result: Result) -> dict[str, Any]:
    """This run's row of the optimiser's scenario comparison table."""
    if family_of(problem.rule_set.kind) == Family.OPTIMISED:
        # The result at hand is the row's; the constraint costs (each relaxation solved
        # once, in parallel) follow from the relaxation tasks (``comparison``).
        return pending_row(problem, result)
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
    try:
        return _store_run(run_id=run_id, built=built, result=result, comparison=comparison)
    except MissingReference as exc:  # rolled back: nothing of the run was stored
        return _fail(run_id, "; ".join(exc.messages))


def _store_run(
    *, run_id: int, built: BuiltProblem, result: Result, comparison: dict[str, Any]
) -> EvaluationRun | None:
    input_hash = built.problem.input_hash
    with transaction.atomic():
        round_id = EvaluationRun.objects.values_list("round_id", flat=True).get(pk=run_id)
        round_ = lock_round(round_id)
        run = EvaluationRun.objects.select_for_update().get(pk=run_id)
        if run.status != R.RUNNING:
            return None  # another delivery of the task finished it meanwhile
        refusal = _refusal(run, round_, result)
        if refusal:
            return _fail(run_id, refusal)
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
        _make_official(run, official, round_)
    run.refresh_from_db()
    return run


def _refusal(run: EvaluationRun, round_: Round, result: Result) -> str:
    """Why the solved run may not be stored ("" when it may): the round moved on while it
    ran, or a re-run of the final award would change the winners or their prices."""
    # Selection and choice runs re-run the final award: they keep its winners.
    reruns_award = run.is_selection or run.is_hospital_choice
    allowed = {S.AWARDED} if reruns_award else EVALUABLE
    if not run.is_scenario and round_.status not in allowed:
        return _("Round %(code)s moved to %(status)s while the evaluation ran.") % {
            "code": round_.code,
            "status": round_.get_status_display(),
        }
    if reruns_award:
        # The choices move provinces (or a hospital's lost volume) only; the winners
        # and their prices must not change.
        final = official_run_get(round_).source_run
        before = set(
            BidResult.objects.filter(run=final, outcome="won").values_list(
                "opened_bid_id", "award_price"
            )
        )
        after = {(key_id(b.bid), b.award_price) for b in result.bids if b.status == "won"}
        if before != after:
            return (
                _("The province selection would change the winners.")
                if run.is_selection
                else _("The hospitals' choices would change the winners.")
            )
    return ""


def _make_official(run: EvaluationRun, official: EvaluationRun, round_: Round) -> None:
    """A run on the round's current exclusions (not a scenario) becomes the official
    result (``official``: its own or, for the same input, the stored run's). A run made
    before another bid was excluded (two objections upheld in a row) is kept but never
    becomes official. An evaluation moves the round to "evaluated"; a re-run of the final
    award tells the apps above (``final_allocation_changed``)."""
    current = ",".join(str(e) for e in exclusions_of(round_))
    if run.is_scenario or run.exclusions_key != current:
        return
    EvaluationRun.objects.filter(round=round_, is_official=True).exclude(pk=official.pk).update(
        is_official=False
    )
    EvaluationRun.objects.filter(pk=official.pk).update(is_official=True)
    if run.is_selection or run.is_hospital_choice:
        final_allocation_changed.send(sender=Round, round_=round_, run=official)
    else:
        round_advance(
            round_=round_,
            to=S.EVALUATED,
            by=run.requested_by,
            note=f"evaluation run {official.pk}",
        )


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
    run.result = document_pack(result_to_dict(result, include_timing=False))
    run.comparison = comparison


def _store_rows(run: EvaluationRun, built: BuiltProblem, result: Result) -> None:
    """Every row the run decides: per item, per opened bid, per province, per hospital.
    The hospital rows' references are checked first (``MissingReference``)."""
    regions = dict(Region.objects.values_list("code", "pk"))
    hospitals = _hospital_frame(run, built, result, regions)
    _check_references(hospitals)
    _store_item_awards(run, built, result)
    _store_bid_results(run, built, result)
    _store_province_allocations(run, built, result, regions)
    _store_hospital_rows(run.pk, hospitals)


def _store_item_awards(run: EvaluationRun, built: BuiltProblem, result: Result) -> None:
    items = built.round_items
    ceilings = {i.id: i.max_valid_bid_price for i in built.problem.items}
    insert_batched(
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
                max_valid_bid_price=ceilings[i.item],
                term_years=i.term_years,
                cost=i.cost,
                savings_vs_reference=i.savings_vs_reference,
                savings_vs_ceiling=i.savings_vs_ceiling,
                notes=list(i.notes),
            )
            for i in result.items
        ),
    )


def _store_bid_results(run: EvaluationRun, built: BuiltProblem, result: Result) -> None:
    """A result per opened bid: the optimiser's, and "invalid" for a bid opened without
    a price (never evaluated)."""
    items = built.round_items
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
    insert_batched(BidResult, rows)


def _store_province_allocations(
    run: EvaluationRun, built: BuiltProblem, result: Result, regions: dict[str, int]
) -> None:
    items = built.round_items
    insert_batched(
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


def _hospital_frame(
    run: EvaluationRun, built: BuiltProblem, result: Result, regions: dict[str, int]
) -> pd.DataFrame:
    """The hospitals' rows (up to ~10^6) as whole-number columns, at their province
    allocation's unit price (in millionths, the column's scale).

    Every key is looked up once per distinct value (``pd.factorize``), never per row: a
    national run has ~920,000 rows but 60 items, ~800 bids, 31 regions, 46,000 hospitals.
    """
    allocations = result.hospital_allocations
    item_codes, items = pd.factorize(pd.Series([h.item for h in allocations], dtype=object))
    bid_codes, bids = pd.factorize(pd.Series([h.bid for h in allocations], dtype=object))
    region_codes, region_keys = pd.factorize(
        pd.Series([h.region for h in allocations], dtype=object)
    )
    hospital_codes, hospitals = pd.factorize(
        pd.Series([h.hospital for h in allocations], dtype=object)
    )
    supplier = {b.id: key_id(b.supplier) for b in built.problem.bids}
    price = {(a.item, a.bid, a.region): a.unit_price for a in result.allocations}
    # The unit price depends on (item, bid, region): one lookup per distinct triple.
    triple = (item_codes.astype(np.int64) * len(bids) + bid_codes) * len(region_keys)
    triple_codes, triples = pd.factorize(triple + region_codes)
    triple_units = np.array(
        [
            _micro_units(
                price[
                    (
                        items[t // (len(bids) * len(region_keys))],
                        bids[t // len(region_keys) % len(bids)],
                        region_keys[t % len(region_keys)],
                    )
                ]
            )
            for t in triples
        ],
        dtype=np.int64,
    )

    def ids(codes: np.ndarray[Any, Any], values: Iterable[int]) -> pd.Series[Any]:
        return pd.Series(np.fromiter(values, dtype=np.int64)[codes] if len(codes) else [])

    return pd.DataFrame(
        {
            "round_item_id": ids(item_codes, (built.round_items[i] for i in items)),
            "opened_bid_id": ids(bid_codes, (key_id(b) for b in bids)),
            "manufacturer_id": ids(bid_codes, (supplier[b] for b in bids)),
            "region_id": ids(region_codes, (regions[r] for r in region_keys)),
            "hospital_id": ids(hospital_codes, (key_id(h) for h in hospitals)),
            "quantity": pd.Series([h.quantity for h in allocations], dtype=np.int64),
            "unit_price": pd.Series(triple_units[triple_codes] if len(triple_codes) else []),
        },
        dtype=np.int64,
    )


PRICE_SCALE = 6  # HospitalAllocation.unit_price's decimal places
_PRICE_QUANTUM = Decimal(1).scaleb(-PRICE_SCALE)


def _micro_units(price: Decimal) -> int:
    """A unit price in millionths, rounded as PostgreSQL rounds a value into numeric(24, 6)
    (half away from zero), which is what storing it as a decimal did."""
    return int(price.quantize(_PRICE_QUANTUM, rounding=ROUND_HALF_UP).scaleb(PRICE_SCALE))


class MissingReference(ValidationError):
    """A hospital allocation row refers to a row that does not exist: the run is refused."""


def _references() -> tuple[tuple[str, type[models.Model], dict[str, Any], str], ...]:
    # (column, table, filter, what a missing one is called: translated where raised)
    hospital = {"kind": Organization.Kind.HOSPITAL}
    manufacturer = {"kind": Organization.Kind.MANUFACTURER}
    return (
        ("round_item_id", RoundItem, {}, _("round item")),
        ("opened_bid_id", OpenedBid, {}, _("opened bid")),
        ("manufacturer_id", Organization, manufacturer, _("manufacturer")),
        ("region_id", Region, {}, _("region")),
        ("hospital_id", Organization, hospital, _("hospital")),
    )


REFERENCE_BATCH = 5_000  # ids per existence query (well under any parameter limit)


def _check_references(frame: pd.DataFrame) -> None:
    """Refuse the rows (``MissingReference``, nothing written) if any id of any key is not
    in its table: each distinct id checked once, in batches, inside the storing transaction
    (the database does not check these keys: see ``HospitalAllocation``)."""
    for column, model, condition, name in _references():
        wanted = np.unique(frame[column].to_numpy())
        found: list[int] = []
        for start in range(0, len(wanted), REFERENCE_BATCH):
            batch = wanted[start : start + REFERENCE_BATCH].tolist()
            found += model._default_manager.filter(pk__in=batch, **condition).values_list(
                "pk", flat=True
            )
        missing = np.setdiff1d(wanted, np.array(found, dtype=np.int64))
        if missing.size:
            bad = frame[column].isin(missing).to_numpy()
            row = int(np.flatnonzero(bad)[0])
            raise MissingReference(
                _(
                    "Hospital allocation row %(row)s: %(name)s %(id)s does not exist "
                    "(rows with a missing id: %(rows)s; missing ids: %(missing)s). Nothing "
                    "was stored; run the evaluation again once the round's data are complete."
                )
                % {
                    "row": row + 1,
                    "name": name,
                    "id": int(frame[column].iat[row]),
                    "rows": int(bad.sum()),
                    "missing": int(missing.size),
                }
            )


HOSPITAL_COLUMNS = (
    "round_item_id",
    "opened_bid_id",
    "manufacturer_id",
    "region_id",
    "hospital_id",
    "quantity",
)


def _store_hospital_rows(run_id: int, frame: pd.DataFrame) -> int:
    """Write hospital allocation rows inside the current transaction, through the one bulk
    writer: ``copy_columns``, on PostgreSQL one binary ``COPY`` built with numpy (a
    national round writes ~1,000,000 rows), ``bulk_create`` in batches elsewhere."""
    columns: dict[str, ColumnValues] = {"run_id": run_id}
    columns.update({name: frame[name] for name in HOSPITAL_COLUMNS})
    columns["unit_price"] = Decimals(frame["unit_price"], PRICE_SCALE)
    return copy_columns(HospitalAllocation, columns, len(frame), batch_size=BATCH_SIZE)

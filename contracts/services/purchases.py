"""Execution: the purchases hospitals record against their contracts (web form, API or
spreadsheet), and the monthly notice to hospitals behind the pro-rata schedule.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Notification, Organization, User
from accounts.notifications import notify
from awards.models import AuditEntry
from awards.services import BATCH_SIZE
from common.spreadsheets import ROW, Column, ColumnKind, RowError, convert_frame, sort_errors
from common.uploads import (
    PREVIEW_ROWS,
    Action,
    ImportOutcome,
    PreviewRow,
    RowsRefused,
    run_reader,
)
from contracts import summaries
from contracts.models import Contract, ContractLine, Purchase
from contracts.progress import month_start, parse_month
from contracts.selectors import current_lines, progress_behind, progress_schedule
from procurement.models import Round

S = Round.Status


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
    book = _book(hospital)
    batch = _Batch(channel=channel, by=by)
    bad_rows = {e.row for e in errors}
    for record in frame.to_dict("records"):
        row = int(record[ROW])
        batch.outcome.total += 1
        if row in bad_rows:
            continue
        try:
            contract, line, month = _checked(record, book, today)
            key = (contract.pk, line.round_item_id, month)
            if key in batch.seen:
                raise _Refused(
                    "",
                    _("duplicate of row %(first)s (same contract, item and month).")
                    % {"first": batch.seen[key]},
                )
        except _Refused as refused:
            errors.append(
                RowError(row=row, column=labels.get(refused.column, ""), message=refused.message)
            )
            continue
        batch.seen[key] = row
        batch.add(row, book, contract, line, month, int(record["quantity"]))
    outcome = batch.outcome
    outcome.errors = sort_errors(errors)
    outcome.rows = batch.preview[:PREVIEW_ROWS]
    if outcome.errors:
        outcome.created = outcome.changed = outcome.unchanged = 0
        return outcome
    if commit:
        batch.write()
        outcome.committed = True
    return outcome


@dataclass
class _Book:
    """What the checks of one hospital's rows read once: its contracts by number, their
    current lines by (contract id, item code), the purchases recorded so far by (contract
    id, round item id, month), and what was bought per (contract id, round item id)."""

    contracts: dict[str, Contract]
    lines: dict[tuple[int, str], ContractLine]
    existing: dict[tuple[int, int, datetime.date], Purchase]
    bought: dict[tuple[int, int], int]


def _book(hospital: Organization) -> _Book:
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
    return _Book(contracts, lines, existing, bought)


class _Refused(Exception):
    """A row refused: the column concerned (a key of ``PURCHASE_COLUMNS``, or "") and why."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _checked(
    record: dict[str, object], book: _Book, today: datetime.date
) -> tuple[Contract, ContractLine, datetime.date]:
    """The contract, its current line and the month a row records; ``_Refused`` when the
    contract is not the hospital's or not in execution, the item is not on it, or the
    month is not one of the term that has begun."""
    number = str(record["contract_number"])
    contract = book.contracts.get(number)
    if contract is None:
        raise _Refused(
            "contract_number",
            _("contract %(number)s is not one of your organization's contracts.")
            % {"number": number},
        )
    if contract.status != Contract.Status.CONFIRMED:
        raise _Refused(
            "contract_number",
            _("contract %(number)s is not confirmed by both parties yet.")
            % {"number": contract.number},
        )
    if contract.round.status != S.IN_EXECUTION:
        raise _Refused(
            "contract_number",
            _("round %(code)s is not in execution.") % {"code": contract.round.code},
        )
    line = book.lines.get((contract.pk, str(record["item_code"])))
    if line is None:
        raise _Refused(
            "item_code",
            _("item %(code)s is not on contract %(number)s.")
            % {"code": record["item_code"], "number": contract.number},
        )
    month = parse_month(str(record["month"]))
    if month is None:
        raise _Refused(
            "month",
            _("“%(value)s” is not a month such as 2027-03.") % {"value": record["month"]},
        )
    if month < month_start(line.starts_on) or month > line.ends_on:
        raise _Refused(
            "month",
            _("%(month)s is outside the contract term %(start)s to %(end)s.")
            % {
                "month": f"{month:%Y-%m}",
                "start": f"{line.starts_on:%Y-%m-%d}",
                "end": f"{line.ends_on:%Y-%m-%d}",
            },
        )
    if month > month_start(today):
        raise _Refused("month", _("%(month)s has not begun yet.") % {"month": f"{month:%Y-%m}"})
    return contract, line, month


@dataclass
class _Batch:
    """The rows checked so far: what to create and to change, the preview, the counts."""

    channel: str
    by: User
    outcome: ImportOutcome = field(default_factory=ImportOutcome)
    seen: dict[tuple[int, int, datetime.date], int] = field(default_factory=dict)
    to_create: list[Purchase] = field(default_factory=list)
    to_update: list[Purchase] = field(default_factory=list)
    preview: list[PreviewRow] = field(default_factory=list)
    round_ids: set[int] = field(default_factory=set)  # of the rows created or changed

    def add(
        self,
        row: int,
        book: _Book,
        contract: Contract,
        line: ContractLine,
        month: datetime.date,
        quantity: int,
    ) -> None:
        """A valid row: a new month, a changed figure, or the same figure again."""
        old = book.existing.get((contract.pk, line.round_item_id, month))
        pair = (contract.pk, line.round_item_id)
        book.bought[pair] = book.bought.get(pair, 0) - (old.quantity if old else 0) + quantity
        if old is None or old.quantity != quantity:
            self.round_ids.add(contract.round_id)
        if old is None:
            action = Action.CREATE
            self.to_create.append(
                Purchase(
                    contract=contract,
                    round_item_id=line.round_item_id,
                    month=month,
                    quantity=quantity,
                    channel=self.channel,
                    recorded_by=self.by,
                )
            )
            self.outcome.created += 1
        elif old.quantity != quantity:
            action = Action.CHANGE
            old.quantity, old.channel, old.recorded_by = quantity, self.channel, self.by
            self.to_update.append(old)
            self.outcome.changed += 1
        else:
            action = Action.UNCHANGED
            self.outcome.unchanged += 1
        description = f"{contract.number} {line.round_item.item.code} {month:%Y-%m}: {quantity:,}"
        beyond = book.bought[pair] - line.quantity
        if beyond > 0:
            description += " · " + _("%(units)s beyond the agreed volume") % {
                "units": f"{beyond:,}"
            }
        self.preview.append(PreviewRow(row=row, action=action, description=description))

    def write(self) -> None:
        with transaction.atomic():
            Purchase.objects.bulk_create(self.to_create, batch_size=BATCH_SIZE)
            now = timezone.now()
            for p in self.to_update:
                p.recorded_at = now
            Purchase.objects.bulk_update(
                self.to_update,
                ["quantity", "channel", "recorded_by", "recorded_at"],
                batch_size=1000,
            )
            summaries.mark_changed(self.round_ids)


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


def behind_schedule_check(*, now: datetime.datetime) -> int:
    """Tell hospitals behind the pro-rata schedule, once a month per round (Celery beat).

    Computed at most once a day per round (an audit entry marks the day), so the
    every-minute sweep stays cheap; the notification itself is keyed by round and month.
    """
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

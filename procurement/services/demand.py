"""Demand declaration: one validation for the three ways in (web table, spreadsheet
upload, API).

Each way in builds a frame of text cells and calls ``demand_apply``. Quantities are
converted by ``common.spreadsheets.convert_frame`` (the same code that reads uploaded
sheets), codes are resolved with vectorised merges (``demand_lines``: no query per line),
and the rows are written with bulk operations (``demand_write``: COPY on PostgreSQL)
inside one transaction, or not at all.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from common.spreadsheets import (
    ROW,
    Column,
    ColumnKind,
    RowError,
    SpreadsheetRefused,
    convert_frame,
    map_unique,
    read_spreadsheet,
    sort_errors,
)
from common.uploads import PREVIEW_ROWS, Action, ImportOutcome, PreviewRow, RowsRefused
from procurement import summaries
from procurement.models import DemandChange, DemandDeclaration, Round
from procurement.notices import demand_notices_done
from procurement.services.demand_lines import demand_key, demand_resolve
from procurement.services.demand_write import demand_existing, demand_write
from procurement.services.lifecycle import when_shown

S = Round.Status

DEMAND_HOSPITAL = Column(
    "hospital_code",
    ("医疗机构代码", "统一社会信用代码", "hospital credit code", "hospital code"),
    kind=ColumnKind.CODE,
    required=False,
    allow_blank=True,
)
DEMAND_ITEM = Column("item_code", ("品种编码", "item code"), kind=ColumnKind.CODE)
DEMAND_SPECIFICATION = Column(
    "specification_code", ("规格编码", "specification code"), kind=ColumnKind.CODE
)
DEMAND_REGISTRATION = Column("registration_number", ("注册证编号", "registration number"))
DEMAND_MODEL = Column("model_number", ("型号", "model"), required=False, allow_blank=True)
DEMAND_QUANTITY = Column(
    "quantity",
    ("年度需求量", "数量", "需求量", "annual quantity", "quantity"),
    kind=ColumnKind.POSITIVE_INT,
    allow_blank=True,
)


def demand_columns(round_kind: str) -> list[Column]:
    """The columns of a demand sheet: per specification (drugs) or per product (consumables)."""
    if round_kind == Round.Kind.DRUGS:
        return [DEMAND_HOSPITAL, DEMAND_ITEM, DEMAND_SPECIFICATION, DEMAND_QUANTITY]
    return [DEMAND_HOSPITAL, DEMAND_ITEM, DEMAND_REGISTRATION, DEMAND_MODEL, DEMAND_QUANTITY]


@dataclass(frozen=True)
class DemandLine:
    """One line as a client sends it (web form or API): codes and a raw quantity."""

    item_code: str
    quantity: object
    specification_code: str = ""
    registration_number: str = ""
    model_number: str = ""
    hospital_code: str = ""


def _require_demand_open(round_: Round, now: datetime.datetime) -> None:
    if round_.status == S.DEMAND_OPEN and now < round_.demand_closes_at:
        return
    if round_.status == S.DEMAND_OPEN or now >= round_.demand_closes_at:
        raise ValidationError(
            _(
                "Demand declaration for round %(code)s closed at %(when)s; changes are no "
                "longer accepted."
            )
            % {"code": round_.code, "when": when_shown(round_.demand_closes_at)}
        )
    raise ValidationError(
        _("Demand declaration for round %(code)s is not open: the round is “%(status)s”.")
        % {"code": round_.code, "status": round_.get_status_display()}
    )


def _lock_round_for_demand(round_: Round, *, exclusive: bool) -> Round:
    """Lock the round row so demand cannot be written while the window is being closed.

    Hospitals take a shared lock (many declare at once; PostgreSQL ``FOR SHARE``); closing
    the window is an ``UPDATE`` of the same row, so it waits for declarations in flight and
    every declaration that commits saw the window open. An office bulk import takes the
    row exclusively. Returns the round as it is now.
    """
    if connection.vendor == "postgresql" and not exclusive:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {Round._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
                [round_.pk],
            )
        return Round.objects.get(pk=round_.pk)
    return Round.objects.select_for_update().get(pk=round_.pk)


def demand_apply(
    *,
    round_: Round,
    raw: pd.DataFrame,
    hospital: Organization | None,
    channel: str,
    by: User,
    commit: bool,
    labels: dict[str, str] | None = None,
    now: datetime.datetime | None = None,
    row_errors: Sequence[RowError] = (),
    codes_converted: bool = False,
) -> ImportOutcome:
    """Validate demand lines (text cells, columns of ``demand_columns``) and write them.

    ``hospital`` is the declaring hospital (web, upload, API): every line is its own, and a
    hospital code naming another hospital is refused with the row number. ``hospital=None``
    is the procurement office importing collated demand for hospitals in the round's region
    scope (the provincial platforms' spreadsheets). Lines absent from the submission are
    left as they are; use ``demand_remove`` to remove one.

    With ``commit`` and no errors, the lines are written in one transaction together with
    their history (``DemandChange``: who, when, old and new value, channel). Otherwise
    nothing is written. Concurrency: see ``_lock_round_for_demand``; a hospital's own
    submissions are serialised by locking its organization row.
    """
    now = now or timezone.now()
    columns = demand_columns(round_.kind)
    # Errors name the column as the client knows it: the header found in the file, or the
    # field name of the form / API.
    labels = labels or {c.key: c.key for c in columns}
    if hospital is not None:
        _require_hospital_in_scope(hospital, round_)
    _require_demand_open(round_, now)
    converted, errors = _demand_convert(
        raw, columns=columns, labels=labels, codes_converted=codes_converted
    )
    errors = list(row_errors) + errors
    lines, resolve_errors, skipped = demand_resolve(
        round_=round_, frame=converted, hospital=hospital, labels=labels
    )
    errors += resolve_errors
    outcome = ImportOutcome(total=len(raw), skipped=skipped, errors=sort_errors(errors))
    if errors:
        return outcome
    with transaction.atomic():
        if commit:
            current = _lock_round_for_demand(round_, exclusive=hospital is None)
            _require_demand_open(current, now)
            if hospital is not None:
                Organization.objects.select_for_update().filter(pk=hospital.pk).first()
        key = demand_key(round_.kind)
        merged = _demand_merge(lines, demand_existing(round_, hospital), key=key)
        counts = merged["action"].value_counts()
        outcome.created = int(counts.get(Action.CREATE, 0))
        outcome.changed = int(counts.get(Action.CHANGE, 0))
        outcome.unchanged = int(counts.get(Action.UNCHANGED, 0))
        outcome.rows = _demand_preview_rows(merged, round_)
        if commit:
            changed = merged[merged["action"] != Action.UNCHANGED]
            demand_write(lines=changed, target=key[-1], channel=channel, by=by, now=now)
            if not changed.empty:
                summaries.mark_changed(round_.pk)
            outcome.committed = True
            if hospital is not None:
                demand_notices_done(round_=round_, hospital_id=hospital.pk)
    return outcome


def _require_hospital_in_scope(hospital: Organization, round_: Round) -> None:
    if hospital.kind != Organization.Kind.HOSPITAL:
        raise ValidationError(_("Only a hospital declares demand."))
    if not round_.regions.filter(pk=hospital.region_id).exists():
        raise ValidationError(
            _(
                "Your hospital's province (%(region)s) is outside the region scope of "
                "round %(code)s."
            )
            % {"region": hospital.region.name, "code": round_.code}
        )


def _demand_convert(
    raw: pd.DataFrame, *, columns: list[Column], labels: dict[str, str], codes_converted: bool
) -> tuple[pd.DataFrame, list[RowError]]:
    """Convert the text cells (codes cleaned, quantities parsed) and keep each raw quantity
    (``quantity_raw``: a blank one means the line is skipped)."""
    if codes_converted:
        # The spreadsheet reader already cleaned the code columns; convert the quantities.
        quantity, errors = convert_frame(raw, [DEMAND_QUANTITY], labels=labels)
        converted = raw.copy()
        converted["quantity"] = quantity["quantity"]
    else:
        converted, errors = convert_frame(raw, columns, labels=labels)
    converted["quantity_raw"] = (
        map_unique(raw["quantity"].fillna("").astype(str), str.strip) if "quantity" in raw else ""
    )
    for column in columns:
        if column.key not in converted:
            converted[column.key] = ""
    return converted, errors


def _demand_merge(lines: pd.DataFrame, existing: pd.DataFrame, *, key: list[str]) -> pd.DataFrame:
    """The submitted lines beside the declarations they change, each with its action."""
    lines["quantity"] = lines["quantity"].astype("Int64")
    # Every key is resolved (errors stopped us otherwise): merge on plain int64.
    for key_column in key:
        lines[key_column] = lines[key_column].astype("int64")
        existing[key_column] = existing[key_column].astype("int64")
    merged = lines.merge(
        existing.drop(columns=[c for c in ("specification_id", "product_id") if c not in key]),
        how="left",
        on=key,
    )
    merged["action"] = Action.UNCHANGED
    merged.loc[merged["declaration_id"].isna(), "action"] = Action.CREATE
    merged.loc[
        merged["declaration_id"].notna() & (merged["old_quantity"] != merged["quantity"]),
        "action",
    ] = Action.CHANGE
    return merged


def _demand_preview_rows(merged: pd.DataFrame, round_: Round) -> list[PreviewRow]:
    head = merged.head(PREVIEW_ROWS)
    rows = []
    for record in head.to_dict("records"):
        what = record.get("specification_code") or " ".join(
            p for p in (record.get("registration_number"), record.get("model_number")) if p
        )
        old = record.get("old_quantity")
        quantity = f"{int(record['quantity']):,}"
        if record["action"] == Action.CHANGE and old is not None and not pd.isna(old):
            quantity = f"{int(old):,} → {quantity}"
        prefix = f"{record['hospital_code']} · " if record.get("hospital_code") else ""
        rows.append(
            PreviewRow(
                row=int(record[ROW]),
                action=str(record["action"]),
                description=f"{prefix}{record['item_code']} {what}: {quantity}",
            )
        )
    return rows


def demand_lines_frame(lines: Sequence[DemandLine]) -> pd.DataFrame:
    """The text-cell frame ``demand_apply`` reads, from lines sent by a form or the API.

    Line numbers start at 1 (the first line of the request)."""
    return pd.DataFrame(
        {
            ROW: list(range(1, len(lines) + 1)),
            "hospital_code": [str(line.hospital_code or "") for line in lines],
            "item_code": [str(line.item_code or "") for line in lines],
            "specification_code": [str(line.specification_code or "") for line in lines],
            "registration_number": [str(line.registration_number or "") for line in lines],
            "model_number": [str(line.model_number or "") for line in lines],
            "quantity": ["" if line.quantity is None else str(line.quantity) for line in lines],
        }
    )


def demand_declare(
    *,
    hospital: Organization,
    round_: Round,
    lines: Sequence[DemandLine],
    channel: str,
    by: User,
    now: datetime.datetime | None = None,
) -> ImportOutcome:
    """A hospital declares (or changes) annual quantities on some lines of a round.

    All lines or none: any invalid line raises ``RowsRefused`` listing every problem by
    line number (first line = 1), and nothing is written. See ``demand_apply``.
    """
    outcome = demand_apply(
        round_=round_,
        raw=demand_lines_frame(lines),
        hospital=hospital,
        channel=channel,
        by=by,
        commit=True,
        now=now,
    )
    if outcome.errors:
        raise RowsRefused(outcome.errors, lines=True)
    return outcome


def demand_import(
    *,
    round_: Round,
    data: bytes,
    filename: str,
    max_bytes: int,
    hospital: Organization | None,
    by: User,
    commit: bool,
    now: datetime.datetime | None = None,
    max_rows: int | None = None,
) -> ImportOutcome:
    """A demand spreadsheet: preview (``commit=False``) or write all rows or none.

    ``max_rows`` bounds a file checked inside a web request (a hospital's own demand); the
    office's collated file is checked and written by tasks, with no bound but the size.
    """
    # Read every cell as text; demand_apply converts and checks them, exactly as it does
    # for the web table and the API.
    as_text = [
        dataclasses.replace(c, kind=ColumnKind.TEXT, allow_blank=True) if c.key == "quantity" else c
        for c in demand_columns(round_.kind)
    ]
    try:
        sheet = read_spreadsheet(
            data, filename=filename, columns=as_text, max_bytes=max_bytes, max_rows=max_rows
        )
    except SpreadsheetRefused as exc:
        return ImportOutcome.refused(exc.message)
    outcome = demand_apply(
        round_=round_,
        raw=sheet.frame,
        hospital=hospital,
        channel=DemandChange.Channel.UPLOAD,
        by=by,
        commit=commit,
        labels=sheet.headers,
        now=now,
        row_errors=sheet.errors,
        codes_converted=True,
    )
    return outcome


@transaction.atomic
def demand_remove(
    *,
    hospital: Organization,
    round_: Round,
    declaration_id: int,
    channel: str,
    by: User,
    now: datetime.datetime | None = None,
) -> None:
    """Remove one of the hospital's lines while the window is open; history keeps it.

    Quantity 0 is refused everywhere (a declared line is a positive quantity); removing a
    line is this explicit action, recorded as a change to "none".
    """
    now = now or timezone.now()
    current = _lock_round_for_demand(round_, exclusive=False)
    _require_demand_open(current, now)
    declaration = (
        DemandDeclaration.objects.select_for_update()
        .filter(pk=declaration_id, hospital=hospital, round_item__round=round_)
        .first()
    )
    if declaration is None:
        raise ValidationError(_("This line is not among your hospital's declarations."))
    DemandChange.objects.create(
        round_item_id=declaration.round_item_id,
        hospital=hospital,
        specification_id=declaration.specification_id,
        product_id=declaration.product_id,
        old_quantity=declaration.quantity,
        new_quantity=None,
        channel=channel,
        by=by,
    )
    declaration.delete()
    summaries.mark_changed(round_.pk)

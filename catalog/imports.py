"""Spreadsheet imports: preview first, then an atomic commit (all rows or none).

Every import here (and the round imports in ``procurement.imports``) is one function
``<thing>_import(*, data, filename, max_bytes, commit, ...) -> ImportOutcome``:

* with ``commit=False`` it reads and validates the file and says, row by row, what would be
  created, changed or left unchanged, writing nothing (the preview);
* with ``commit=True`` it does the same validation again and, only if no row has an error,
  writes every row inside one transaction. Natural keys (credit code, approval number,
  registration number + model) make a second import of the same file change nothing.

The uploaded bytes are kept between the preview and the commit in ``StoredUpload``,
scoped to the user, its organization, the import's purpose and scope.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import USCC_MESSAGES, Organization, Region, User
from accounts.services import organization_upsert
from accounts.uscc import USCCError, validate_uscc
from catalog.models import (
    UPLOAD_CLAIMED,
    UPLOAD_UNFINISHED,
    UPLOAD_WORKING,
    ProcurementItem,
    Product,
    ProductKind,
    Specification,
    StoredUpload,
    upload_stalled_before,
)
from catalog.services import product_register
from catalog.spreadsheets import (
    ROW,
    Column,
    ColumnKind,
    RowError,
    Sheet,
    SpreadsheetRefused,
    read_spreadsheet,
    sort_errors,
)

PREVIEW_ROWS = 200  # rows listed on a preview page; the counts always cover the whole file
UPLOAD_KEPT_FOR = datetime.timedelta(hours=24)  # a preview older than this must be redone


class Action:
    CREATE = "create"
    CHANGE = "change"
    UNCHANGED = "unchanged"
    REMOVE = "remove"


ACTION_LABELS = {
    Action.CREATE: gettext_lazy("new"),
    Action.CHANGE: gettext_lazy("changed"),
    Action.UNCHANGED: gettext_lazy("unchanged"),
    Action.REMOVE: gettext_lazy("removed"),
}


@dataclass(frozen=True)
class PreviewRow:
    row: int
    action: str
    description: str

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS[self.action])


@dataclass
class ImportOutcome:
    """What an import did (commit) or would do (preview)."""

    total: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0  # rows left blank on purpose (e.g. no quantity filled in)
    errors: list[RowError] = field(default_factory=list)
    rows: list[PreviewRow] = field(default_factory=list)
    committed: bool = False
    file_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and not self.file_error

    @classmethod
    def refused(cls, message: str) -> ImportOutcome:
        return cls(file_error=message)


class RowsRefused(ValidationError):
    """Some rows are invalid; nothing was written. ``row_errors`` lists them all."""

    def __init__(self, row_errors: list[RowError], *, lines: bool = False) -> None:
        self.row_errors = sort_errors(row_errors)
        super().__init__([e.describe(lines=lines) for e in self.row_errors])


def preview_rows(frame: pd.DataFrame, describe: Any, limit: int = PREVIEW_ROWS) -> list[PreviewRow]:
    """The first ``limit`` rows of a resolved frame (columns ``row``, ``action``)."""
    head = frame.head(limit)
    return [
        PreviewRow(row=int(r[ROW]), action=str(r["action"]), description=describe(r))
        for r in head.to_dict("records")
    ]


# --- stored uploads (kept between preview and commit) ------------------------------------


def upload_store(
    *,
    user: User,
    purpose: str,
    scope: str,
    filename: str,
    data: bytes,
    status: str = StoredUpload.Status.PREVIEWED,
) -> StoredUpload:
    """Keep an uploaded file for its commit. One pending upload per user, purpose, scope.

    Previews that were never committed are deleted here once they expire, so abandoned
    uploads do not pile up (the created_at index keeps this cheap). An upload a task is
    checking or importing is never deleted under it (see ``upload_unfinished_for_user``:
    the background flow refuses a second file while one is unfinished).
    ``status=PREVIEW_QUEUED`` keeps a file whose preview a task will make.
    """
    with transaction.atomic():
        StoredUpload.objects.filter(created_at__lt=timezone.now() - UPLOAD_KEPT_FOR).delete()
        StoredUpload.objects.filter(user=user, purpose=purpose, scope=scope).exclude(
            _alive()
        ).delete()
        return StoredUpload.objects.create(
            user=user,
            organization=user.organization,
            purpose=purpose,
            scope=scope,
            filename=filename[:255],
            data=data,
            status=status,
        )


def _alive() -> Q:
    """Uploads a task works on or will work on (a stalled task's upload is not alive)."""
    return Q(status__in=UPLOAD_WORKING) & ~Q(
        status__in=UPLOAD_CLAIMED, started_at__lt=upload_stalled_before()
    )


def upload_unfinished_for_user(*, user: User, purpose: str, scope: str) -> StoredUpload | None:
    """The user's upload that is being checked, awaits confirmation or is being imported.

    The round page links to it, so a user who left the import page finds it again.
    """
    return (
        StoredUpload.objects.filter(
            created_at__gte=timezone.now() - UPLOAD_KEPT_FOR,
            user=user,
            organization=user.organization,
            purpose=purpose,
            scope=scope,
            status__in=UPLOAD_UNFINISHED,
        )
        .exclude(status__in=UPLOAD_CLAIMED, started_at__lt=upload_stalled_before())
        .defer("data")
        .order_by("-created_at")
        .first()
    )


def upload_get_for_user(*, user: User, token: str, purpose: str, scope: str) -> StoredUpload:
    """The stored upload, only for the user (and organization) that made it, same purpose."""
    try:
        key = uuid.UUID(str(token))
    except ValueError as exc:
        raise StoredUpload.DoesNotExist from exc
    return StoredUpload.objects.get(
        created_at__gte=timezone.now() - UPLOAD_KEPT_FOR,
        token=key,
        user=user,
        organization=user.organization,
        purpose=purpose,
        scope=scope,
    )


def upload_discard(*, upload: StoredUpload) -> bool:
    """Delete an upload no task is working on; False if one is (it is left alone).

    A file still waiting in the queue may be discarded: the task then finds nothing to
    claim. The condition is part of the one ``DELETE`` statement, so a task that claims
    the file at the same moment either wins (the file stays) or finds it gone.
    """
    deleted, _kinds = (
        StoredUpload.objects.filter(pk=upload.pk)
        .exclude(Q(status__in=UPLOAD_CLAIMED) & _alive())
        .delete()
    )
    return deleted > 0


# Imports checked and written inside a web request read at most this many data rows (the
# size limit alone would let a 20 MB file of short rows hold half a million of them). The
# office's collated demand file, which may be national, is checked by a task instead.
MAX_ROWS_IN_REQUEST = 50_000


def run_reader(
    *,
    data: bytes,
    filename: str,
    columns: list[Column],
    max_bytes: int,
    unique_by: tuple[str, ...],
    max_rows: int | None = None,
) -> Sheet | str:
    """The parsed sheet, or the message saying why the file as a whole was refused."""
    try:
        return read_spreadsheet(
            data,
            filename=filename,
            columns=columns,
            max_bytes=max_bytes,
            unique_by=unique_by,
            max_rows=max_rows,
        )
    except SpreadsheetRefused as exc:
        return exc.message


# --- organizations -----------------------------------------------------------------------

ORGANIZATION_COLUMNS = [
    Column("kind", ("类型", "kind")),
    Column("name", ("名称", "name")),
    Column("name_en", ("英文名称", "English name"), required=False, allow_blank=True),
    Column(
        "social_credit_code",
        ("统一社会信用代码", "unified social credit code", "social credit code"),
        kind=ColumnKind.CODE,
    ),
    Column("region", ("省份", "地区", "region", "province")),
    Column("hospital_grade", ("医院等级", "hospital grade"), required=False, allow_blank=True),
]

_KIND_WORDS = {
    "office": Organization.Kind.OFFICE,
    "采购办": Organization.Kind.OFFICE,
    "采购办公室": Organization.Kind.OFFICE,
    "procurement office": Organization.Kind.OFFICE,
    "hospital": Organization.Kind.HOSPITAL,
    "医院": Organization.Kind.HOSPITAL,
    "医疗机构": Organization.Kind.HOSPITAL,
    "manufacturer": Organization.Kind.MANUFACTURER,
    "生产企业": Organization.Kind.MANUFACTURER,
    "企业": Organization.Kind.MANUFACTURER,
}
_GRADE_WORDS = {"1": 1, "2": 2, "3": 3, "一级": 1, "二级": 2, "三级": 3}


def _region_lookup() -> dict[str, Region]:
    lookup: dict[str, Region] = {}
    for region in Region.objects.all():
        for key in (region.code, region.name_zh, region.name_en.lower()):
            lookup[key] = region
    return lookup


def organization_import(
    *, data: bytes, filename: str, max_bytes: int, commit: bool
) -> ImportOutcome:
    """Import organizations keyed by their unified social credit code.

    Concurrency: each row is written by ``organization_upsert`` (get_or_create on the
    unique credit code) inside one transaction, so a concurrent import of the same code
    fails on the unique constraint and rolls back whole rather than duplicating.
    """
    sheet = run_reader(
        data=data,
        filename=filename,
        columns=ORGANIZATION_COLUMNS,
        max_bytes=max_bytes,
        unique_by=("social_credit_code",),
        max_rows=MAX_ROWS_IN_REQUEST,
    )
    if isinstance(sheet, str):
        return ImportOutcome.refused(sheet)
    label = sheet.column_label
    errors = list(sheet.errors)
    regions = _region_lookup()
    existing = {
        o.social_credit_code: o
        for o in Organization.objects.filter(
            social_credit_code__in=list(sheet.frame["social_credit_code"])
        )
    }
    resolved: list[dict[str, Any]] = []
    for record in sheet.frame.to_dict("records"):
        row = int(record[ROW])
        row_errors: list[RowError] = []
        kind = _KIND_WORDS.get(str(record["kind"]).strip().lower())
        if kind is None:
            row_errors.append(
                RowError(
                    row,
                    label("kind"),
                    _("“%(value)s” is not a kind of organization (hospital, manufacturer, office).")
                    % {"value": record["kind"]},
                )
            )
        try:
            code = validate_uscc(record["social_credit_code"])
        except USCCError as exc:
            row_errors.append(
                RowError(
                    row,
                    label("social_credit_code"),
                    str(USCC_MESSAGES[exc.reason] % exc.params),
                )
            )
            code = record["social_credit_code"]
        region_text = str(record["region"]).strip()
        region = regions.get(region_text) or regions.get(region_text.lower())
        if region is None:
            row_errors.append(
                RowError(
                    row,
                    label("region"),
                    _("“%(value)s” is not a province code or name.") % {"value": region_text},
                )
            )
        grade_text = str(record.get("hospital_grade") or "").strip()
        grade = _GRADE_WORDS.get(grade_text) if grade_text else None
        if kind == Organization.Kind.HOSPITAL and grade is None:
            row_errors.append(
                RowError(row, label("hospital_grade"), _("a hospital needs a grade (1, 2 or 3)."))
            )
        if kind and kind != Organization.Kind.HOSPITAL and grade_text:
            row_errors.append(
                RowError(row, label("hospital_grade"), _("only hospitals have a grade."))
            )
        if row_errors:
            errors += row_errors
            continue
        values = {
            "kind": kind,
            "name": str(record["name"]).strip(),
            "name_en": str(record.get("name_en") or "").strip(),
            "region": region,
            "hospital_grade": grade,
        }
        current = existing.get(code)
        if current is None:
            action = Action.CREATE
        elif any(getattr(current, k) != v for k, v in values.items()):
            action = Action.CHANGE
        else:
            action = Action.UNCHANGED
        resolved.append({ROW: row, "action": action, "code": code, **values})
    outcome = _outcome(sheet, errors, resolved, lambda r: f"{r['code']} {r['name']}")
    if commit and outcome.ok:
        with transaction.atomic():
            for r in resolved:
                if r["action"] == Action.UNCHANGED:
                    continue
                organization_upsert(
                    kind=r["kind"],
                    name=r["name"],
                    name_en=r["name_en"],
                    social_credit_code=r["code"],
                    region=r["region"],
                    hospital_grade=r["hospital_grade"],
                )
        outcome.committed = True
    return outcome


def _outcome(
    sheet: Sheet, errors: list[RowError], resolved: list[dict[str, Any]], describe: Any
) -> ImportOutcome:
    actions = [r["action"] for r in resolved]
    return ImportOutcome(
        total=len(sheet.frame),
        created=actions.count(Action.CREATE),
        changed=actions.count(Action.CHANGE),
        unchanged=actions.count(Action.UNCHANGED),
        errors=sort_errors(errors),
        rows=[
            PreviewRow(row=r[ROW], action=r["action"], description=describe(r))
            for r in resolved[:PREVIEW_ROWS]
        ],
    )


# --- products ----------------------------------------------------------------------------

PRODUCT_COLUMNS = [
    Column(
        "manufacturer_code",
        ("生产企业统一社会信用代码", "manufacturer credit code", "manufacturer code"),
        kind=ColumnKind.CODE,
    ),
    Column("item_code", ("品种编码", "item code"), kind=ColumnKind.CODE),
    Column("specification_code", ("规格编码", "specification code"), kind=ColumnKind.CODE),
    Column("name", ("产品名称", "product name")),
    Column("name_en", ("英文名称", "English name"), required=False, allow_blank=True),
    Column("approval_number", ("批准文号", "approval number"), required=False, allow_blank=True),
    Column(
        "registration_number",
        ("注册证编号", "registration number"),
        required=False,
        allow_blank=True,
    ),
    Column("model_number", ("型号", "model"), required=False, allow_blank=True),
    Column("dosage_form", ("剂型", "dosage form"), required=False, allow_blank=True),
    Column("is_originator", ("原研药", "originator"), kind=ColumnKind.BOOL, required=False),
    Column(
        "is_consistency_evaluated",
        ("通过一致性评价", "consistency evaluated"),
        kind=ColumnKind.BOOL,
        required=False,
    ),
]

_PRODUCT_FIELDS = (
    "name",
    "name_en",
    "dosage_form",
    "is_originator",
    "is_consistency_evaluated",
    "model_number",
)


def product_import(*, data: bytes, filename: str, max_bytes: int, commit: bool) -> ImportOutcome:
    """Import products keyed by approval number (drugs) or registration number + model.

    Concurrency: each row goes through ``product_register``, which locks an existing
    product row (``select_for_update``) before changing it; the unique constraints on the
    natural keys stop two concurrent imports from creating the same product twice.
    """
    sheet = run_reader(
        data=data,
        filename=filename,
        columns=PRODUCT_COLUMNS,
        max_bytes=max_bytes,
        unique_by=(),
        max_rows=MAX_ROWS_IN_REQUEST,
    )
    if isinstance(sheet, str):
        return ImportOutcome.refused(sheet)
    label = sheet.column_label
    errors = list(sheet.errors)
    frame = sheet.frame
    manufacturers = {
        o.social_credit_code: o
        for o in Organization.objects.filter(
            social_credit_code__in=list(frame["manufacturer_code"].unique())
        )
    }
    items = {i.code: i for i in ProcurementItem.objects.filter(code__in=list(frame["item_code"]))}
    specifications = {
        (s.item.code, s.code): s
        for s in Specification.objects.filter(item__in=list(items.values())).select_related("item")
    }
    by_approval = {
        p.approval_number: p
        for p in Product.objects.filter(approval_number__in=list(frame["approval_number"]))
        .exclude(approval_number="")
        .select_related("specification")
    }
    by_registration = {
        (p.registration_number, p.model_number): p
        for p in Product.objects.filter(registration_number__in=list(frame["registration_number"]))
        .exclude(registration_number="")
        .select_related("specification")
    }
    seen: dict[str, int] = {}
    resolved: list[dict[str, Any]] = []
    for record in frame.to_dict("records"):
        row = int(record[ROW])
        row_errors: list[RowError] = []
        manufacturer = manufacturers.get(record["manufacturer_code"])
        if manufacturer is None or manufacturer.kind != Organization.Kind.MANUFACTURER:
            row_errors.append(
                RowError(
                    row,
                    label("manufacturer_code"),
                    _("“%(value)s” is not a manufacturer on the platform.")
                    % {"value": record["manufacturer_code"]},
                )
            )
        item = items.get(record["item_code"])
        specification = specifications.get((record["item_code"], record["specification_code"]))
        if item is None:
            row_errors.append(
                RowError(
                    row,
                    label("item_code"),
                    _("unknown item code “%(value)s”.") % {"value": record["item_code"]},
                )
            )
        elif specification is None:
            row_errors.append(
                RowError(
                    row,
                    label("specification_code"),
                    _("“%(spec)s” is not a specification of item %(item)s.")
                    % {"spec": record["specification_code"], "item": item.code},
                )
            )
        existing: Product | None = None
        key = ""
        if item is not None and item.kind == ProductKind.DRUG:
            key = str(record.get("approval_number") or "")
            if not key:
                row_errors.append(
                    RowError(row, label("approval_number"), _("a drug needs its approval number."))
                )
            existing = by_approval.get(key)
        elif item is not None:
            reg = str(record.get("registration_number") or "")
            model = str(record.get("model_number") or "")
            key = f"{reg}\x1f{model}"
            if not reg:
                row_errors.append(
                    RowError(
                        row,
                        label("registration_number"),
                        _("a consumable needs its registration certificate number."),
                    )
                )
            existing = by_registration.get((reg, model))
        if key and key in seen:
            row_errors.append(
                RowError(
                    row,
                    "",
                    _("duplicate of row %(first)s (same approval or registration number).")
                    % {"first": seen[key]},
                )
            )
        elif key:
            seen[key] = row
        if (
            existing is not None
            and manufacturer is not None
            and existing.manufacturer_id != manufacturer.pk
        ):
            row_errors.append(
                RowError(
                    row,
                    "",
                    _("this approval or registration number belongs to another manufacturer."),
                )
            )
        if row_errors:
            errors += row_errors
            continue
        assert item is not None and specification is not None and manufacturer is not None
        values = {
            "name": record["name"],
            "name_en": record.get("name_en") or "",
            "dosage_form": record.get("dosage_form") or "",
            "is_originator": bool(record.get("is_originator")),
            "is_consistency_evaluated": bool(record.get("is_consistency_evaluated")),
            "model_number": record.get("model_number") or "",
        }
        if existing is None:
            action = Action.CREATE
        elif existing.specification_id != specification.pk or any(
            getattr(existing, k) != values[k] for k in _PRODUCT_FIELDS
        ):
            action = Action.CHANGE
        else:
            action = Action.UNCHANGED
        resolved.append(
            {
                ROW: row,
                "action": action,
                "manufacturer": manufacturer,
                "specification": specification,
                "approval_number": record.get("approval_number") or "",
                "registration_number": record.get("registration_number") or "",
                **values,
            }
        )
    outcome = _outcome(
        sheet,
        errors,
        resolved,
        lambda r: (
            f"{r['specification'].item.code} {r['specification'].label} · {r['name']} · "
            f"{r['approval_number'] or r['registration_number']}"
        ),
    )
    if commit and outcome.ok:
        with transaction.atomic():
            for r in resolved:
                if r["action"] == Action.UNCHANGED:
                    continue
                product_register(
                    manufacturer=r["manufacturer"],
                    specification=r["specification"],
                    name=r["name"],
                    name_en=r["name_en"],
                    approval_number=r["approval_number"],
                    registration_number=r["registration_number"],
                    model_number=r["model_number"],
                    dosage_form=r["dosage_form"],
                    is_originator=r["is_originator"],
                    is_consistency_evaluated=r["is_consistency_evaluated"],
                )
        outcome.committed = True
    return outcome


def template_frame(columns: list[Column], rows: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """An empty (or pre-filled) sheet whose headers are the columns' Chinese / English names."""
    headers = {
        c.key: f"{c.headers[0]} ({c.headers[-1]})" if len(c.headers) > 1 else c.headers[0]
        for c in columns
    }
    frame = pd.DataFrame(rows or [], columns=[c.key for c in columns])
    return frame.rename(columns=headers)


# --- background previews and commits (national-scale files) -----------------------------

ERRORS_KEPT = 500  # row errors kept with a background import's result


def upload_queue(*, upload: StoredUpload) -> bool:
    """Mark a previewed upload for a background commit. False if it was already queued.

    Concurrency: a conditional ``UPDATE ... WHERE status = 'previewed'`` whose row count is
    checked, so a double click queues the import once.
    """
    updated = StoredUpload.objects.filter(
        pk=upload.pk, status=StoredUpload.Status.PREVIEWED
    ).update(status=StoredUpload.Status.QUEUED)
    return updated == 1


def outcome_as_json(outcome: ImportOutcome) -> dict[str, Any]:
    return {
        "total": outcome.total,
        "created": outcome.created,
        "changed": outcome.changed,
        "unchanged": outcome.unchanged,
        "skipped": outcome.skipped,
        "committed": outcome.committed,
        "file_error": outcome.file_error,
        "error_count": len(outcome.errors),
        "errors": [
            {"row": e.row, "column": e.column, "message": e.message}
            for e in outcome.errors[:ERRORS_KEPT]
        ],
        "rows": [
            {"row": r.row, "action": r.action, "description": r.description} for r in outcome.rows
        ],
    }


def _upload_claim(token: str, *, claimable: str, working: str) -> StoredUpload | None:
    """Move an upload from ``claimable`` to ``working``; None if another task has it.

    A conditional update whose row count is checked, so a redelivered task finds the
    upload already claimed (or finished) and does nothing.
    """
    claimed = StoredUpload.objects.filter(pk=token, status=claimable).update(
        status=working, started_at=timezone.now()
    )
    if claimed != 1:
        return None
    return StoredUpload.objects.select_related("user").get(pk=token)


def _run_in_users_language(
    upload: StoredUpload, run: Callable[[StoredUpload], ImportOutcome]
) -> dict[str, Any]:
    """The outcome as JSON, its messages in the language the user chose."""
    language = upload.user.language or settings.LANGUAGE_CODE
    with translation.override(language):
        try:
            outcome = run(upload)
        except ValidationError as exc:
            return {"file_error": " ".join(exc.messages), "committed": False, "error_count": 0}
        return outcome_as_json(outcome)


def upload_preview_run(*, token: str, run: Callable[[StoredUpload], ImportOutcome]) -> None:
    """Check a stored upload without writing (called by a task); idempotent.

    ``run`` validates the file (``commit=False``). A file without errors becomes
    ``previewed`` and waits for the user to confirm; a file with any error becomes
    ``failed`` with every problem kept on the upload (the first ``ERRORS_KEPT``) and its
    bytes are dropped. Claimed preview-queued -> previewing, like ``upload_run``.
    """
    upload = _upload_claim(
        token,
        claimable=StoredUpload.Status.PREVIEW_QUEUED,
        working=StoredUpload.Status.PREVIEWING,
    )
    if upload is None:
        return
    result = {**_run_in_users_language(upload, run), "phase": "check"}
    ok = not result.get("file_error") and not result.get("error_count")
    if ok:
        StoredUpload.objects.filter(pk=token, status=StoredUpload.Status.PREVIEWING).update(
            status=StoredUpload.Status.PREVIEWED, result=result
        )
    else:
        StoredUpload.objects.filter(pk=token, status=StoredUpload.Status.PREVIEWING).update(
            status=StoredUpload.Status.FAILED, result=result, finished_at=timezone.now(), data=b""
        )


def upload_run(*, token: str, run: Callable[[StoredUpload], ImportOutcome]) -> None:
    """Commit a queued upload (called by a task); idempotent.

    The upload is claimed with a conditional update (queued -> running), so a redelivered
    task finds it running or finished and does nothing. The import itself is one
    transaction (all rows or none); its outcome is kept on the upload and the file's bytes
    are dropped.
    """
    upload = _upload_claim(
        token, claimable=StoredUpload.Status.QUEUED, working=StoredUpload.Status.RUNNING
    )
    if upload is None:
        return
    result = {**_run_in_users_language(upload, run), "phase": "import"}
    status = StoredUpload.Status.DONE if result.get("committed") else StoredUpload.Status.FAILED
    StoredUpload.objects.filter(pk=token).update(
        status=status, result=result, finished_at=timezone.now(), data=b""
    )

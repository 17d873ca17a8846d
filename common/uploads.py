"""Spreadsheet imports: preview first, then an atomic commit (all rows or none).

Every import is one function ``<thing>_import(*, data, filename, max_bytes, commit, ...)
-> ImportOutcome`` (in the app that owns the thing):

* with ``commit=False`` it reads and validates the file and says, row by row, what would be
  created, changed or left unchanged, writing nothing (the preview);
* with ``commit=True`` it does the same validation again and, only if no row has an error,
  writes every row inside one transaction. Natural keys make a second import of the same
  file change nothing.

This module holds what every import shares: the outcome and its preview rows, the reader
that turns a refused file into a message, and the stored upload that keeps the bytes
between the preview and the commit, scoped to its owner, the import's purpose and scope
(the model is ``settings.JICAI_UPLOAD_MODEL``, a subclass of
``common.models.StoredUploadBase``). Large files are checked and committed by tasks
(``upload_preview_run``, ``upload_run``). The page flow is ``common.spreadsheet_views``.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from common.models import (
    UPLOAD_CLAIMED,
    UPLOAD_UNFINISHED,
    UPLOAD_WORKING,
    StoredUploadBase,
    upload_stalled_before,
)
from common.spreadsheets import (
    ROW,
    Column,
    RowError,
    Sheet,
    SpreadsheetRefused,
    read_spreadsheet,
    sort_errors,
)

PREVIEW_ROWS = 200  # rows listed on a preview page; the counts always cover the whole file
UPLOAD_KEPT_FOR = datetime.timedelta(hours=24)  # a preview older than this must be redone
ERRORS_KEPT = 500  # row errors kept with a background import's result
# Imports checked and written inside a web request read at most this many data rows (the
# size limit alone would let a 20 MB file of short rows hold half a million of them).
# Files that may be national are checked by a task instead.
MAX_ROWS_IN_REQUEST = 50_000

Status = StoredUploadBase.Status


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


RowResolver = Callable[[dict[str, Any]], tuple[dict[str, Any], list[RowError]]]


def outcome_of(
    sheet: Sheet,
    resolve: RowResolver,
    *,
    describe: Callable[[Any], str],
    valid_only: bool = False,
) -> tuple[ImportOutcome, list[dict[str, Any]]]:
    """Check every row of a read sheet and count what an import would do.

    ``resolve`` takes a row (a record of the sheet's frame) and returns its values, with
    its ``row`` number and ``action``, or its errors. With ``valid_only`` the rows the
    reader already refused are not resolved again. Returns the outcome (counts by
    action, every error sorted, the first preview rows described by ``describe``) and the
    resolved rows, for ``outcome_commit``.
    """
    errors = list(sheet.errors)
    resolved: list[dict[str, Any]] = []
    frame = sheet.valid_frame() if valid_only else sheet.frame
    for record in frame.to_dict("records"):
        values, row_errors = resolve(record)
        if row_errors:
            errors += row_errors
        else:
            resolved.append(values)
    actions = [r["action"] for r in resolved]
    outcome = ImportOutcome(
        total=len(sheet.frame),
        created=actions.count(Action.CREATE),
        changed=actions.count(Action.CHANGE),
        unchanged=actions.count(Action.UNCHANGED),
        errors=sort_errors(errors),
        rows=[
            PreviewRow(row=int(r[ROW]), action=str(r["action"]), description=describe(r))
            for r in resolved[:PREVIEW_ROWS]
        ],
    )
    return outcome, resolved


def action_for(existing: object | None, *, differs: bool) -> str:
    """What writing a row does: create what does not exist yet, change what ``differs``,
    leave the rest unchanged."""
    if existing is None:
        return Action.CREATE
    return Action.CHANGE if differs else Action.UNCHANGED


def row_arguments(row: Mapping[str, Any]) -> dict[str, Any]:
    """A resolved row's values without its row number and action: the keyword arguments
    of the service that writes it."""
    return {k: v for k, v in row.items() if k not in (ROW, "action")}


def outcome_commit(
    outcome: ImportOutcome,
    resolved: Iterable[Mapping[str, Any]],
    *,
    write: Callable[[Mapping[str, Any]], object],
) -> None:
    """Write every resolved row that changes something, in one transaction, if the
    outcome has no error (all rows or none); the outcome is then ``committed``."""
    if not outcome.ok:
        return
    with transaction.atomic():
        for row in resolved:
            if row["action"] != Action.UNCHANGED:
                write(row)
    outcome.committed = True


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


def preview_rows_from_json(result: Mapping[str, Any]) -> list[PreviewRow]:
    """The preview rows a background check kept with its result (``outcome_as_json``)."""
    return [
        PreviewRow(row=int(r["row"]), action=str(r["action"]), description=str(r["description"]))
        for r in result.get("rows", [])
    ]


# --- stored uploads (kept between preview and commit) ------------------------------------


def upload_model() -> type[StoredUploadBase]:
    """The concrete stored-upload model (``settings.JICAI_UPLOAD_MODEL``, "app.Model")."""
    return cast(type[StoredUploadBase], apps.get_model(settings.JICAI_UPLOAD_MODEL))


def upload_store(
    *,
    user: AbstractBaseUser,
    purpose: str,
    scope: str,
    filename: str,
    data: bytes,
    status: str = Status.PREVIEWED,
) -> StoredUploadBase:
    """Keep an uploaded file for its commit. One pending upload per user, purpose, scope.

    Previews that were never committed are deleted here once they expire, so abandoned
    uploads do not pile up (the created_at index keeps this cheap). An upload a task is
    checking or importing is never deleted under it (see ``upload_unfinished_for_user``:
    the background flow refuses a second file while one is unfinished).
    ``status=PREVIEW_QUEUED`` keeps a file whose preview a task will make.
    """
    model = upload_model()
    with transaction.atomic():
        model.objects.filter(created_at__lt=timezone.now() - UPLOAD_KEPT_FOR).delete()
        model.objects.filter(user_id=user.pk, purpose=purpose, scope=scope).exclude(
            _alive()
        ).delete()
        return model.objects.create(
            **model.owner(user),
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


def upload_unfinished_for_user(
    *, user: AbstractBaseUser, purpose: str, scope: str
) -> StoredUploadBase | None:
    """The user's upload that is being checked, awaits confirmation or is being imported.

    A page links to it, so a user who left the import page finds it again.
    """
    model = upload_model()
    return (
        model.objects.filter(
            created_at__gte=timezone.now() - UPLOAD_KEPT_FOR,
            **model.owner(user),
            purpose=purpose,
            scope=scope,
            status__in=UPLOAD_UNFINISHED,
        )
        .exclude(status__in=UPLOAD_CLAIMED, started_at__lt=upload_stalled_before())
        .defer("data")
        .order_by("-created_at")
        .first()
    )


def upload_get_for_user(
    *, user: AbstractBaseUser, token: str, purpose: str, scope: str
) -> StoredUploadBase:
    """The stored upload, only for its owner, same purpose and scope; ``DoesNotExist``
    (of the concrete model) otherwise."""
    model = upload_model()
    try:
        key = uuid.UUID(str(token))
    except ValueError as exc:
        raise model.DoesNotExist from exc
    return model.objects.get(
        created_at__gte=timezone.now() - UPLOAD_KEPT_FOR,
        token=key,
        **model.owner(user),
        purpose=purpose,
        scope=scope,
    )


def upload_discard(*, upload: StoredUploadBase) -> bool:
    """Delete an upload no task is working on; False if one is (it is left alone).

    A file still waiting in the queue may be discarded: the task then finds nothing to
    claim. The condition is part of the one ``DELETE`` statement, so a task that claims
    the file at the same moment either wins (the file stays) or finds it gone.
    """
    deleted, _kinds = (
        type(upload)
        .objects.filter(pk=upload.pk)
        .exclude(Q(status__in=UPLOAD_CLAIMED) & _alive())
        .delete()
    )
    return deleted > 0


def upload_queue(*, upload: StoredUploadBase) -> bool:
    """Mark a previewed upload for a background commit. False if it was already queued.

    Concurrency: a conditional ``UPDATE ... WHERE status = 'previewed'`` whose row count is
    checked, so a double click queues the import once.
    """
    updated = (
        type(upload)
        .objects.filter(pk=upload.pk, status=Status.PREVIEWED)
        .update(status=Status.QUEUED)
    )
    return updated == 1


# --- background previews and commits (national-scale files) -----------------------------

UploadRunner = Callable[[Any], ImportOutcome]  # takes the concrete stored upload


def _upload_claim(token: str, *, claimable: str, working: str) -> StoredUploadBase | None:
    """Move an upload from ``claimable`` to ``working``; None if another task has it.

    A conditional update whose row count is checked, so a redelivered task finds the
    upload already claimed (or finished) and does nothing.
    """
    model = upload_model()
    claimed = model.objects.filter(pk=token, status=claimable).update(
        status=working, started_at=timezone.now()
    )
    if claimed != 1:
        return None
    return model.objects.select_related("user").get(pk=token)


def _run_in_users_language(upload: StoredUploadBase, run: UploadRunner) -> dict[str, Any]:
    """The outcome as JSON, its messages in the language the uploader chose."""
    with translation.override(upload.reply_language()):
        try:
            outcome = run(upload)
        except ValidationError as exc:
            return {"file_error": " ".join(exc.messages), "committed": False, "error_count": 0}
        return outcome_as_json(outcome)


def upload_preview_run(*, token: str, run: UploadRunner) -> None:
    """Check a stored upload without writing (called by a task); idempotent.

    ``run`` validates the file (``commit=False``). A file without errors becomes
    ``previewed`` and waits for the user to confirm; a file with any error becomes
    ``failed`` with every problem kept on the upload (the first ``ERRORS_KEPT``) and its
    bytes are dropped. Claimed preview-queued -> previewing, like ``upload_run``.
    """
    upload = _upload_claim(token, claimable=Status.PREVIEW_QUEUED, working=Status.PREVIEWING)
    if upload is None:
        return
    result = {**_run_in_users_language(upload, run), "phase": "check"}
    ok = not result.get("file_error") and not result.get("error_count")
    checked = type(upload).objects.filter(pk=token, status=Status.PREVIEWING)
    if ok:
        checked.update(status=Status.PREVIEWED, result=result)
    else:
        checked.update(status=Status.FAILED, result=result, finished_at=timezone.now(), data=b"")


def upload_run(*, token: str, run: UploadRunner) -> None:
    """Commit a queued upload (called by a task); idempotent.

    The upload is claimed with a conditional update (queued -> running), so a redelivered
    task finds it running or finished and does nothing. The import itself is one
    transaction (all rows or none); its outcome is kept on the upload and the file's bytes
    are dropped.
    """
    upload = _upload_claim(token, claimable=Status.QUEUED, working=Status.RUNNING)
    if upload is None:
        return
    result = {**_run_in_users_language(upload, run), "phase": "import"}
    status = Status.DONE if result.get("committed") else Status.FAILED
    type(upload).objects.filter(pk=token).update(
        status=status, result=result, finished_at=timezone.now(), data=b""
    )

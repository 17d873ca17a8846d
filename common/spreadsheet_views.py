"""Spreadsheet pages: the preview-then-commit import flow, and spreadsheet downloads.

The flow, shared by every import (an app describes its import as an ``ImportSetup``):

1. GET: the upload form (and a link to the template).
2. POST with a file: the size is checked before anything is read, the file is stored
   (``common.uploads.upload_store``), validated without writing, and the preview is
   shown with a token.
3. POST with the token and ``commit``: the stored file is validated again and written in
   one transaction, or the errors are shown again and nothing is written.

Large files (the office's collated demand, up to a million lines) are checked and written
by tasks instead (``ImportSetup.background``): step 2 only stores the file and sends the
user to a status page that follows the task (checking, then the preview with its counts
and errors, a confirmation, then importing) and that the user may leave and come back to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from common.models import StoredUploadBase
from common.spreadsheets import Column, SpreadsheetRefused, check_size
from common.uploads import (
    MAX_ROWS_IN_REQUEST,
    ImportOutcome,
    preview_rows_from_json,
    upload_discard,
    upload_get_for_user,
    upload_queue,
    upload_store,
    upload_unfinished_for_user,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS_SHOWN = 500
TEMPLATE = "common/import.html"
Status = StoredUploadBase.Status


def xlsx_response(data: bytes, filename: str) -> HttpResponse:
    """A workbook (``common.spreadsheets.write_xlsx``) as a download."""
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class Runner(Protocol):
    """An import (``<thing>_import``) with its own arguments already bound."""

    def __call__(
        self, *, data: bytes, filename: str, max_bytes: int, commit: bool
    ) -> ImportOutcome: ...


UploadUrl = Callable[[StoredUploadBase], str]


@dataclass(frozen=True)
class Background:
    """An import checked and committed by tasks. Each callable takes the stored upload:
    ``preview`` and ``commit`` enqueue their task (after the transaction commits) and
    return the URL of the page that follows it, ``status_url`` that URL alone."""

    preview: UploadUrl
    commit: UploadUrl
    status_url: UploadUrl


@dataclass(frozen=True)
class ImportSetup:
    """One kind of import as its page shows it. ``purpose`` and ``scope`` (e.g. a round's
    code) scope the stored file; a finished import goes back to ``back_url``."""

    purpose: str
    run: Runner
    title: str
    intro: str
    columns: Sequence[Column]
    back_url: str
    back_label: str
    template_url: str = ""
    scope: str = ""
    background: Background | None = None


def import_page(request: HttpRequest, setup: ImportSetup) -> HttpResponse:
    """Serve the whole import flow for one kind of import (see the module docstring).

    With ``setup.background`` the commit is not run in the request: the upload is queued
    (once) and the user is sent to the page that follows the task; the preview likewise.
    While one of the user's files is unfinished there, another is refused (and the page
    links to the first).
    """
    page = _page(request, setup)
    if request.method != "POST":
        return render(request, TEMPLATE, page)
    if "token" in request.POST:
        return _stored_file(request, setup, page)
    return _new_file(request, setup, page)


def _page(request: HttpRequest, setup: ImportSetup) -> dict[str, Any]:
    background = setup.background
    unfinished = (
        upload_unfinished_for_user(user=_user(request), purpose=setup.purpose, scope=setup.scope)
        if background is not None
        else None
    )
    return {
        "title": setup.title,
        "intro": setup.intro,
        "back_url": setup.back_url,
        "back_label": setup.back_label,
        "template_url": setup.template_url,
        "columns_help": setup.columns,
        "max_size_mb": settings.JICAI_MAX_UPLOAD_BYTES // (1024 * 1024),
        "outcome": None,
        "token": None,
        "upload_error": "",
        "unfinished": unfinished,
        "unfinished_url": background.status_url(unfinished) if background and unfinished else "",
        "in_background": background is not None,
        "max_rows": MAX_ROWS_IN_REQUEST,
    }


def _refused(
    request: HttpRequest, page: dict[str, Any], message: str, *, status: int = 400
) -> HttpResponse:
    page["upload_error"] = message
    return render(request, TEMPLATE, page, status=status)


def _stored_file(request: HttpRequest, setup: ImportSetup, page: dict[str, Any]) -> HttpResponse:
    """Step 3: discard the stored file, or commit it (in the request or by a task)."""
    try:
        upload = upload_get_for_user(
            user=_user(request),
            token=request.POST["token"],
            purpose=setup.purpose,
            scope=setup.scope,
        )
    except ObjectDoesNotExist:  # unknown, expired, or another user's token
        return _refused(
            request,
            page,
            _("This preview has expired or belongs to someone else; upload the file again."),
        )
    if "discard" in request.POST:
        if upload_discard(upload=upload):
            messages.info(
                request,
                _("The file %(file)s was discarded; nothing was written.")
                % {"file": upload.filename},
            )
        else:
            messages.error(request, _("This file is already being imported."))
        return HttpResponseRedirect(request.path)
    if setup.background is not None:
        return _queue(request, setup.background, upload)
    try:
        outcome = setup.run(
            data=bytes(upload.data), filename=upload.filename, max_bytes=_max_bytes(), commit=True
        )
    except ValidationError as exc:
        return _refused(request, page, " ".join(exc.messages))
    if not outcome.ok:
        page.update(outcome=outcome, token=str(upload.token), filename=upload.filename)
        page["errors_shown"] = outcome.errors[:ERRORS_SHOWN]
        return render(request, TEMPLATE, page, status=400)
    upload_discard(upload=upload)
    messages.success(
        request,
        _("Imported %(file)s: %(created)s new, %(changed)s changed, %(unchanged)s unchanged.")
        % {
            "file": upload.filename,
            "created": outcome.created,
            "changed": outcome.changed,
            "unchanged": outcome.unchanged,
        },
    )
    return HttpResponseRedirect(setup.back_url)


def _queue(request: HttpRequest, background: Background, upload: StoredUploadBase) -> HttpResponse:
    """Queue a checked file for its task (once: a double click queues it once)."""
    with transaction.atomic():
        queued = upload_queue(upload=upload)
        status_url = background.commit(upload) if queued else ""
    if not queued:
        if upload.status in {Status.QUEUED, Status.RUNNING}:
            messages.info(request, _("This file is already being imported."))
        elif upload.status == Status.DONE:
            messages.info(request, _("This file has already been imported."))
        else:
            messages.error(request, _("This file has not passed its check; it cannot be imported."))
        status_url = background.status_url(upload)
    return HttpResponseRedirect(status_url)


def _new_file(request: HttpRequest, setup: ImportSetup, page: dict[str, Any]) -> HttpResponse:
    """Step 2: check a new file's size, then preview it (in the request or by a task)."""
    uploaded = request.FILES.get("file")
    if uploaded is None:
        return _refused(request, page, _("Choose a file to upload."))
    try:
        check_size(uploaded.size or 0, max_bytes=_max_bytes())
    except SpreadsheetRefused as exc:
        return _refused(request, page, exc.message)
    data = uploaded.read()
    filename = uploaded.name or "upload"
    store = functools.partial(
        upload_store,
        user=_user(request),
        purpose=setup.purpose,
        scope=setup.scope,
        filename=filename,
        data=data,
    )
    if setup.background is not None:
        unfinished = page["unfinished"]
        if unfinished is not None:
            message = _(
                "Your file %(file)s is still being checked or imported, or waits for your "
                "confirmation: finish or cancel it first."
            ) % {"file": unfinished.filename}
            return _refused(request, page, message, status=409)
        with transaction.atomic():
            status_url = setup.background.preview(store(status=Status.PREVIEW_QUEUED))
        return HttpResponseRedirect(status_url)
    try:
        outcome = setup.run(data=data, filename=filename, max_bytes=_max_bytes(), commit=False)
    except ValidationError as exc:
        return _refused(request, page, " ".join(exc.messages))
    if outcome.file_error:
        return _refused(request, page, outcome.file_error)
    token = str(store().token) if outcome.ok else None
    page.update(outcome=outcome, token=token, filename=filename)
    page["errors_shown"] = outcome.errors[:ERRORS_SHOWN]
    page["errors_more"] = max(0, len(outcome.errors) - ERRORS_SHOWN)
    return render(request, TEMPLATE, page, status=200 if outcome.ok else 400)


def _user(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user (the app's view has refused anonymous visitors already)."""
    return cast(AbstractBaseUser, request.user)


def _max_bytes() -> int:
    return int(settings.JICAI_MAX_UPLOAD_BYTES)


# --- following a background import ------------------------------------------------------


def upload_progress(upload: StoredUploadBase) -> dict[str, Any]:
    """The steps of a background import and what its check kept, for the page that
    follows it (``steps``, ``preview_rows``, ``errors_more``)."""
    result = upload.result or {}
    labels = [
        _("File received"),
        _("Checking every row"),
        _("Your confirmation"),
        _("Importing (all rows or none)"),
        _("Imported"),
    ]
    position: dict[str, int] = {
        Status.PREVIEW_QUEUED: 1,
        Status.PREVIEWING: 1,
        Status.PREVIEWED: 2,
        Status.QUEUED: 3,
        Status.RUNNING: 3,
        Status.DONE: len(labels),  # every step done
    }
    # A failed check stops at step 2, a failed import at step 4.
    failed_at = 3 if result.get("phase") == "import" else 1
    current = position.get(upload.status, failed_at)
    return {
        "steps": [
            {"label": label, "done": index < current, "current": index == current}
            for index, label in enumerate(labels)
        ],
        "preview_rows": preview_rows_from_json(result),
        "errors_more": max(0, int(result.get("error_count") or 0) - len(result.get("errors", []))),
    }

"""The preview-then-commit page flow shared by every spreadsheet import.

1. GET: the upload form (and a link to the template).
2. POST with a file: the size is checked before anything is read, the file is stored
   (``StoredUpload``), validated without writing, and the preview is shown with a token.
3. POST with the token and ``commit``: the stored file is validated again and written in
   one transaction, or the errors are shown again and nothing is written.

Large files (the office's collated demand, up to a million lines) are checked and written
by tasks instead: step 2 only stores the file and sends the user to a status page that
follows the task (checking, then the preview with its counts and errors, a confirmation,
then importing) and that the user may leave and come back to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.imports import (
    MAX_ROWS_IN_REQUEST,
    ImportOutcome,
    upload_discard,
    upload_get_for_user,
    upload_queue,
    upload_store,
    upload_unfinished_for_user,
)
from catalog.models import StoredUpload
from catalog.spreadsheets import SpreadsheetRefused, check_size

Runner = Callable[[bytes, str, bool], ImportOutcome]
ERRORS_SHOWN = 500


def import_page(
    request: HttpRequest,
    *,
    purpose: str,
    scope: str,
    run: Runner,
    context: dict[str, Any],
    done_url: str,
    commit_in_background: Callable[[StoredUpload], str] | None = None,
    preview_in_background: Callable[[StoredUpload], str] | None = None,
    status_url_for: Callable[[StoredUpload], str] | None = None,
) -> HttpResponse:
    """Serve the whole import flow for one kind of import (see the module docstring).

    With ``commit_in_background`` the commit is not run in the request: the upload is
    queued (once), the callable enqueues its task after the transaction commits and returns
    the URL of the page that follows the import, where the user is sent.
    ``preview_in_background`` does the same for the preview: the file is stored, the
    callable enqueues the check and returns the same status URL (``status_url_for``).
    While one of the user's files is unfinished there, another is refused (and the page
    links to the first).
    """
    user: User = request.user  # type: ignore[assignment]
    max_bytes = settings.JICAI_MAX_UPLOAD_BYTES
    unfinished = (
        upload_unfinished_for_user(user=user, purpose=purpose, scope=scope)
        if preview_in_background is not None
        else None
    )
    page = {
        **context,
        "max_size_mb": max_bytes // (1024 * 1024),
        "outcome": None,
        "token": None,
        "upload_error": "",
        "unfinished": unfinished,
        "unfinished_url": status_url_for(unfinished) if unfinished and status_url_for else "",
        "in_background": preview_in_background is not None,
        "max_rows": MAX_ROWS_IN_REQUEST,
    }
    if request.method != "POST":
        return render(request, "catalog/import.html", page)
    if "token" in request.POST:
        try:
            upload = upload_get_for_user(
                user=user, token=request.POST["token"], purpose=purpose, scope=scope
            )
        except StoredUpload.DoesNotExist:
            page["upload_error"] = _(
                "This preview has expired or belongs to someone else; upload the file again."
            )
            return render(request, "catalog/import.html", page, status=400)
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
        if commit_in_background is not None:
            with transaction.atomic():
                queued = upload_queue(upload=upload)
                status_url = commit_in_background(upload) if queued else ""
            if not queued:
                if upload.status in {StoredUpload.Status.QUEUED, StoredUpload.Status.RUNNING}:
                    messages.info(request, _("This file is already being imported."))
                elif upload.status == StoredUpload.Status.DONE:
                    messages.info(request, _("This file has already been imported."))
                else:
                    messages.error(
                        request, _("This file has not passed its check; it cannot be imported.")
                    )
                status_url = status_url_for(upload) if status_url_for else request.path
            return HttpResponseRedirect(status_url)
        try:
            outcome = run(bytes(upload.data), upload.filename, True)
        except ValidationError as exc:
            page["upload_error"] = " ".join(exc.messages)
            return render(request, "catalog/import.html", page, status=400)
        if not outcome.ok:
            page.update(outcome=outcome, token=str(upload.token), filename=upload.filename)
            page["errors_shown"] = outcome.errors[:ERRORS_SHOWN]
            return render(request, "catalog/import.html", page, status=400)
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
        return HttpResponseRedirect(done_url)
    uploaded = request.FILES.get("file")
    if uploaded is None:
        page["upload_error"] = _("Choose a file to upload.")
        return render(request, "catalog/import.html", page, status=400)
    try:
        check_size(uploaded.size or 0, max_bytes=max_bytes)
    except SpreadsheetRefused as exc:
        page["upload_error"] = exc.message
        return render(request, "catalog/import.html", page, status=400)
    data = uploaded.read()
    filename = uploaded.name or "upload"
    if preview_in_background is not None:
        if unfinished is not None:
            page["upload_error"] = _(
                "Your file %(file)s is still being checked or imported, or waits for your "
                "confirmation: finish or cancel it first."
            ) % {"file": unfinished.filename}
            return render(request, "catalog/import.html", page, status=409)
        with transaction.atomic():
            stored = upload_store(
                user=user,
                purpose=purpose,
                scope=scope,
                filename=filename,
                data=data,
                status=StoredUpload.Status.PREVIEW_QUEUED,
            )
            status_url = preview_in_background(stored)
        return HttpResponseRedirect(status_url)
    try:
        outcome = run(data, filename, False)
    except ValidationError as exc:
        page["upload_error"] = " ".join(exc.messages)
        return render(request, "catalog/import.html", page, status=400)
    if outcome.file_error:
        page["upload_error"] = outcome.file_error
        return render(request, "catalog/import.html", page, status=400)
    token = None
    if outcome.ok:
        token = str(
            upload_store(
                user=user, purpose=purpose, scope=scope, filename=filename, data=data
            ).token
        )
    page.update(outcome=outcome, token=token, filename=filename)
    page["errors_shown"] = outcome.errors[:ERRORS_SHOWN]
    page["errors_more"] = max(0, len(outcome.errors) - ERRORS_SHOWN)
    return render(request, "catalog/import.html", page, status=200 if outcome.ok else 400)

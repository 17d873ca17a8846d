"""Open-data files built once, in the background, and served as stored files (issue 19).

The OCDS release package of a national round holds ~900,000 contracts (hundreds of
megabytes): building it per request took two minutes and gigabytes of worker memory.
Here it is built by a task (``reports.tasks.open_data_build_task``) when its inputs
change (the award finalized or its allocation re-run: ``reports.apps`` connects the
signals; contracts drawn up, confirmed or amended: noticed by the inputs key on the next
read), written through Django's storage API, and streamed from storage by the views.

* ``current(round_, run)`` is the stored file if it was built from today's inputs.
* ``serve(...)`` answers a request: the current file; else a build is queued (once per
  change) and the previous file is served, marked stale, with the time it was built; with
  no file yet, 503 with Retry-After. Without a broker (development, tests) the task runs
  in-process, so the file is there at once.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import FileResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone

from awards.models import EvaluationRun, ProvinceSelection
from awards.selectors import official_run, provisional_rounds
from bidding.models import Opening
from procurement.models import Round
from reports import ocds
from reports.models import OpenDataFile

# A queued build not finished after this long is queued again (its worker may have died).
REQUEUE_AFTER = datetime.timedelta(minutes=30)
RETRY_AFTER_SECONDS = 30


def ocds_uri(round_: Round) -> str:
    """The package's own address (``JICAI_SITE_URL`` + the API path)."""
    site = str(getattr(settings, "JICAI_SITE_URL", "http://127.0.0.1:8000")).rstrip("/")
    return site + reverse("api-round-ocds", args=[round_.code])


def inputs_key(round_: Round, run: EvaluationRun | None) -> str:
    """A fingerprint of what the OCDS package shows: the round's status, its official
    run, province selection, whether the figures are provisional, and when its contracts
    last changed (a few small queries, no read of the contracts' rows)."""
    selection = (
        ProvinceSelection.objects.filter(round=round_)
        .values_list("status", "result_run_id")
        .first()
    )
    parts: list[Any] = [
        round_.status,
        run.pk if run is not None else None,
        selection,
        provisional_rounds(round_ids=[round_.pk]).get(round_.pk, ""),
        sorted(m.isoformat() for m in ocds._contracts_changed_at(round_)),
        ocds_uri(round_),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _row(round_: Round) -> OpenDataFile:
    row, _ = OpenDataFile.objects.get_or_create(round=round_, kind=OpenDataFile.Kind.OCDS)
    return row


def build_ocds(*, round_id: int) -> OpenDataFile | None:
    """Build and store the round's OCDS package (the task's service). Nothing when the
    round has no open data (not opened) or the stored file is already current."""
    round_ = Round.objects.select_related("office__region").filter(pk=round_id).first()
    if round_ is None or not Opening.objects.filter(round=round_).exists():
        return None
    official = official_run(round_=round_)
    run = official.source_run if official is not None else None
    key = inputs_key(round_, run)
    row = _row(round_)
    if row.inputs_key == key and row.file:
        return row
    document = ocds.release_package(round_=round_, run=run, uri=ocds_uri(round_))
    data = ocds.dumps(document).encode()
    del document
    old = row.file.name if row.file else ""
    row.file.save(f"{round_.code}-ocds.json", ContentFile(data), save=False)
    row.sha256 = hashlib.sha256(data).hexdigest()
    row.size = len(data)
    row.inputs_key = key
    row.built_at = timezone.now()
    row.save()
    if old and old != row.file.name:
        row.file.storage.delete(old)
    return row


def request_build(round_: Round, *, key: str, force: bool = False) -> None:
    """Queue a build for ``key`` unless one was queued for it recently (or ``force``)."""
    from reports.tasks import open_data_build_task

    row = _row(round_)
    now = timezone.now()
    if (
        not force
        and row.requested_key == key
        and row.requested_at is not None
        and now - row.requested_at < REQUEUE_AFTER
    ):
        return
    OpenDataFile.objects.filter(pk=row.pk).update(requested_key=key, requested_at=now)
    round_id = round_.pk
    if current_app.conf.task_always_eager:
        build_ocds(round_id=round_id)  # no broker: in-process, so this request has the file
    else:
        transaction.on_commit(lambda: open_data_build_task.delay(round_id, OpenDataFile.Kind.OCDS))


def on_award_changed(sender: Any, round_: Round, **kwargs: Any) -> None:
    """Receiver of ``round_finalized`` and ``final_allocation_changed``: rebuild the
    package once the transaction commits."""
    from reports.tasks import open_data_build_task

    round_id = round_.pk
    transaction.on_commit(lambda: open_data_build_task.delay(round_id, OpenDataFile.Kind.OCDS))


def serve_ocds(round_: Round, run: EvaluationRun | None) -> HttpResponseBase:
    """The stored package, streamed from storage (see the module docstring)."""
    key = inputs_key(round_, run)
    row = OpenDataFile.objects.filter(round=round_, kind=OpenDataFile.Kind.OCDS).first()
    if row is None or row.inputs_key != key or not row.file:
        request_build(round_, key=key)
        row = OpenDataFile.objects.filter(round=round_, kind=OpenDataFile.Kind.OCDS).first()
    if row is None or not row.file:
        unavailable = JsonResponse(
            {
                "detail": "The release package is being built; try again in a moment.",
                "code": "being_built",
            },
            status=503,
        )
        unavailable["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return unavailable
    response = FileResponse(row.file.open("rb"), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{round_.code}-ocds.json"'
    response["Content-Length"] = str(row.size)
    response["X-Content-SHA256"] = row.sha256
    response["X-Built-At"] = row.built_at.isoformat() if row.built_at else ""
    if row.inputs_key != key:
        response["X-Stale"] = "true"  # a rebuild is queued; this is the previous build
    return response


def status(round_: Round) -> OpenDataFile | None:
    """The round's stored package (for the office page: built at, size, hash)."""
    return OpenDataFile.objects.filter(round=round_, kind=OpenDataFile.Kind.OCDS).first()

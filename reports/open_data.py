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
import json
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from functools import partial
from typing import Any, overload

import numpy as np
import pandas as pd
from celery import current_app
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from awards.models import EvaluationRun, ProvinceSelection
from awards.selectors import official_run, provisional_rounds
from bidding.models import Opening
from contracts.models import Contract
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


K = OpenDataFile.Kind
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _row(round_: Round, kind: str, language: str) -> OpenDataFile:
    row, _ = OpenDataFile.objects.get_or_create(round=round_, kind=kind, language=language)
    return row


def _ocds_bytes(round_: Round, run: EvaluationRun | None) -> bytes:
    document = ocds.release_package(round_=round_, run=run, uri=ocds_uri(round_))
    return ocds.dumps(document).encode()


def _workbook_bytes(round_: Round, run: EvaluationRun, *, with_hospitals: bool) -> bytes:
    """The price-cut analysis as .xlsx, in the active language (what the views served)."""
    from reports import exports, selectors

    analysis = selectors.analysis_get(round_=round_, run=run, with_hospitals=with_hospitals)
    facts = {
        _("Round code"): round_.code,
        _("Name"): round_.display_name,
        _("Issued by"): round_.office.display_name,
        _("Status"): round_.get_status_display(),
    }
    provisional = provisional_rounds(round_ids=[round_.pk]).get(round_.pk, "")
    return exports.analysis_workbook(analysis=analysis, facts=facts, provisional=provisional)


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, datetime.date | pd.Timestamp):
        return {"$date": value.isoformat()}
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"cannot store {type(value).__name__} in the analysis file")


def _decode(obj: dict[str, Any]) -> Any:
    if obj.keys() == {"$decimal"}:
        return Decimal(obj["$decimal"])
    if obj.keys() == {"$date"}:
        return datetime.datetime.fromisoformat(obj["$date"])
    return obj


# The layout of the stored analysis files (2: JSON Lines, the hospitals one per line).
ANALYSIS_FORMAT = 2


def _analysis_bytes(round_: Round, run: EvaluationRun, *, with_hospitals: bool) -> bytes:
    """What the analysis pages show (tables as records, the charts as SVG), as JSON with
    exact decimals, in the active language."""
    from reports import charts, selectors

    analysis = selectors.analysis_get(round_=round_, run=run, with_hospitals=with_hospitals)
    items = analysis.items.to_dict(orient="records")
    provinces = analysis.provinces.to_dict(orient="records")
    hospitals = (
        analysis.hospitals.to_dict(orient="records") if analysis.hospitals is not None else None
    )
    page = {
        "format": ANALYSIS_FORMAT,
        "totals": analysis.totals,
        "items": items,
        "provinces": provinces,
        "manufacturers": analysis.manufacturers.to_dict(orient="records"),
        "hospital_count": len(hospitals) if hospitals is not None else None,
        "price_chart": charts.price_before_after_svg(
            [
                (f"{r['item_code']} {r['item_name']}", r["price_before"], r["price_after"])
                for r in items
            ]
        ),
        "province_chart": charts.savings_by_province_svg(
            [(r["region"], r["savings"]) for r in provinces]
        ),
        "winner_chart": charts.winner_count_svg(
            [
                (int(r["winners"]), int(r["items"]))
                for r in analysis.winner_counts.to_dict("records")
            ]
        ),
    }
    # The page's figures on the first line, then one line per hospital (JSON Lines): the
    # office's page reads the first line and only its page of hospitals (``StoredRows``),
    # never the ~46,000 hospitals of a national round at once.
    lines = [json.dumps(page, default=_encode, ensure_ascii=False)]
    lines.extend(json.dumps(h, default=_encode, ensure_ascii=False) for h in hospitals or [])
    return ("\n".join(lines) + "\n").encode()


class StoredRows(Sequence[dict[str, Any]]):
    """The hospitals of a stored analysis file, as a sequence a paginator slices: its
    length is stored on the first line; a slice reads the file line by line, decoding
    only the rows of the slice (bounded memory and time per page)."""

    def __init__(self, row: OpenDataFile, count: int) -> None:
        self.row = row
        self.length = count

    def __len__(self) -> int:
        return self.length

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop, _step = index.indices(self.length)
        out: list[dict[str, Any]] = []
        with self.row.file.open("rb") as stored:
            for number, line in enumerate(stored):
                if number > stop:
                    break
                if number > start:  # line 0 holds the page's figures
                    out.append(json.loads(line, object_hook=_decode))
        return out


def _analysis_head(row: OpenDataFile) -> dict[str, Any] | None:
    """The first line of a stored analysis file (its figures), ``None`` when the file is
    of an earlier layout."""
    with row.file.open("rb") as stored:
        first = stored.readline()
    page: dict[str, Any] = json.loads(first, object_hook=_decode)
    return page if page.get("format") == ANALYSIS_FORMAT else None


def analysis_page(
    round_: Round, run: EvaluationRun, *, with_hospitals: bool
) -> tuple[dict[str, Any] | None, OpenDataFile | None]:
    """The analysis page's figures and charts in the active language, from the stored
    file (built by the task; queued on a change, the previous one read meanwhile), and
    the file's row (its build time); ``None`` before the first build."""
    kind = K.ANALYSIS_OFFICE if with_hospitals else K.ANALYSIS
    language = translation.get_language() or settings.LANGUAGE_CODE
    key = inputs_key(round_, run)
    row = OpenDataFile.objects.filter(round=round_, kind=kind, language=language).first()
    if row is None or row.inputs_key != key or not row.file:
        request_build(round_, key=key, kind=kind, language=language)
        row = OpenDataFile.objects.filter(round=round_, kind=kind, language=language).first()
    if row is None or not row.file:
        return None, row
    page = _analysis_head(row)
    if page is None:  # a file of the earlier layout: rebuilt (in-process without a broker)
        request_build(round_, key=key, kind=kind, language=language, force=True)
        row.refresh_from_db()
        page = _analysis_head(row) if row.file else None
        if page is None:
            return None, row
    count = page.pop("hospital_count")
    page["hospitals"] = StoredRows(row, count) if count is not None else None
    page["stale"] = row.inputs_key != key
    return page, row


def build(*, round_id: int, kind: str, language: str = "") -> OpenDataFile | None:
    """Build and store one open-data file of a round (the task's service). Nothing when
    the round has none yet (not opened; no official run for a workbook) or the stored
    file is already current."""
    round_ = Round.objects.select_related("office__region").filter(pk=round_id).first()
    if round_ is None or not Opening.objects.filter(round=round_).exists():
        return None
    official = official_run(round_=round_)
    run = official.source_run if official is not None else None
    if kind != K.OCDS and run is None:
        return None
    key = inputs_key(round_, run)
    row = _row(round_, kind, language)
    if (
        row.inputs_key == key
        and row.file
        and (kind not in (K.ANALYSIS, K.ANALYSIS_OFFICE) or _analysis_head(row) is not None)
    ):
        return row
    if kind == K.OCDS_SPLIT:
        return _build_ocds_split(round_, run, row=row, key=key)
    if kind == K.OCDS:
        if not one_piece(round_):
            return None  # only the release files (``OCDS_SPLIT``)
        data, name = _ocds_bytes(round_, run), f"{round_.code}-ocds.json"
    elif kind in (K.ANALYSIS, K.ANALYSIS_OFFICE):
        assert run is not None
        with translation.override(language or None):
            data = _analysis_bytes(round_, run, with_hospitals=kind == K.ANALYSIS_OFFICE)
        name = f"{round_.code}-{kind}-{language}.json"
    else:
        assert run is not None
        with translation.override(language or None):
            data = _workbook_bytes(round_, run, with_hospitals=kind == K.PRICE_CUTS_OFFICE)
        name = f"{round_.code}-{kind}-{language}.xlsx"
    old = row.file.name if row.file else ""
    row.file.save(name, ContentFile(data), save=False)
    row.sha256 = hashlib.sha256(data).hexdigest()
    row.size = len(data)
    row.inputs_key = key
    row.built_at = timezone.now()
    row.save()
    if old and old != row.file.name:
        row.file.storage.delete(old)
    return row


# --- the OCDS release files: the package split, written as a stream ---------------------
#
# A national round's package is ~540 MB in one piece. Split, it is a set of release
# packages of the same contracting process (one ocid): the first file holds the round's
# release (tender, bids, awards), the others its contracts, ``CONTRACTS_PER_RELEASE`` per
# release and ``RELEASES_PER_FILE`` releases per file. Each file is written release by
# release to a temporary file (its SHA-256 computed as it is written) and stored through
# the storage API, so the task holds one release in memory at a time. An index (JSON:
# each file's number, name, address, SHA-256, size, releases, contracts and build time)
# is the ``OCDS_SPLIT`` row's own file; the files are named by their content, so a new
# build never overwrites a file a reader may be downloading, and the previous build's
# files are deleted once the new index is stored.

CONTRACTS_PER_RELEASE = 1_000
RELEASES_PER_FILE = 20


def ocds_part_uri(round_: Round, number: int) -> str:
    site = str(getattr(settings, "JICAI_SITE_URL", "http://127.0.0.1:8000")).rstrip("/")
    return site + reverse("reports:ocds-part", args=[round_.pk, number])


class _PackageWriter:
    """One release package written to a temporary file, release by release."""

    def __init__(self, head: dict[str, Any]) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by ``store``
        self.digest = hashlib.sha256()
        self.size = 0
        self.releases = 0
        self.contracts = 0
        text = ocds.dumps(head, indent=None)
        self._write(text[:-1] + ', "releases": [')

    def _write(self, text: str) -> None:
        data = text.encode()
        self.file.write(data)
        self.digest.update(data)
        self.size += len(data)

    def add(self, release: dict[str, Any], contracts: int) -> None:
        self._write(("\n" if not self.releases else ",\n") + ocds.dumps(release, indent=None))
        self.releases += 1
        self.contracts += contracts

    def finish(self) -> str:
        """Close the package; its SHA-256."""
        self._write("\n]}\n")
        return self.digest.hexdigest()

    def store(self, storage: Any, name: str) -> str:
        self.file.seek(0)
        stored = str(storage.save(name, File(self.file, name=name)))
        self.file.close()
        return stored


def _build_ocds_split(
    round_: Round, run: EvaluationRun | None, *, row: OpenDataFile, key: str
) -> OpenDataFile:
    storage = row.file.storage
    built_at = timezone.now()
    main, last = ocds.main_release(round_=round_, run=run, with_contracts=False)
    changed = ocds._contracts_changed_at(round_)
    published = max([last, *changed])
    files: list[dict[str, Any]] = []

    def head(number: int) -> dict[str, Any]:
        return ocds.package_head(
            round_=round_, uri=ocds_part_uri(round_, number), published=published
        )

    def close(writer: _PackageWriter) -> None:
        number = len(files) + 1
        digest = writer.finish()
        name = writer.store(
            storage, f"open-data/{round_.code}/ocds-{number:04d}-{digest[:16]}.json"
        )
        files.append(
            {
                "number": number,
                "name": f"{round_.code}-ocds-{number:04d}.json",
                "uri": ocds_part_uri(round_, number),
                "sha256": digest,
                "size": writer.size,
                "releases": writer.releases,
                "contracts": writer.contracts,
                "builtAt": ocds._when(timezone.now()),
                "stored": name,
            }
        )

    writer: _PackageWriter | None = _PackageWriter(head(1))
    assert writer is not None
    writer.add(main, 0)
    close(writer)
    writer = None
    for release, count in ocds.contract_releases(round_=round_, per_release=CONTRACTS_PER_RELEASE):
        if writer is None:
            writer = _PackageWriter(head(len(files) + 1))
        writer.add(release, count)
        if writer.releases == RELEASES_PER_FILE:
            close(writer)
            writer = None
    if writer is not None:
        close(writer)
    index = {
        "round": round_.code,
        "ocid": ocds.ocid(round_),
        "builtAt": ocds._when(built_at),
        "publishedDate": ocds._when(published),
        "contractsPerRelease": CONTRACTS_PER_RELEASE,
        "releasesPerFile": RELEASES_PER_FILE,
        "releases": sum(f["releases"] for f in files),
        "contracts": sum(f["contracts"] for f in files),
        "files": files,
    }
    data = json.dumps(index, ensure_ascii=False, indent=1).encode()
    old_index = split_index(row) if row.file else None
    old = row.file.name if row.file else ""
    row.file.save(f"{round_.code}-ocds-index.json", ContentFile(data), save=False)
    row.sha256 = hashlib.sha256(data).hexdigest()
    row.size = len(data)
    row.inputs_key = key
    row.built_at = built_at
    row.save()
    keep = {f["stored"] for f in files}
    if old and old != row.file.name:
        storage.delete(old)
    for entry in (old_index or {}).get("files", []):
        if entry["stored"] not in keep:
            storage.delete(entry["stored"])
    return row


def split_index(row: OpenDataFile) -> dict[str, Any] | None:
    """The stored index of a round's release files (``None`` before the first build)."""
    if not row.file:
        return None
    with row.file.open("rb") as stored:
        index: dict[str, Any] = json.load(stored)
    return index


def split_status(round_: Round, run: EvaluationRun | None) -> dict[str, Any] | None:
    """The round's release files for its pages: the index's content with its row
    (``row``) and whether a rebuild is queued (``stale``); a build is queued when the
    inputs changed (as a read of a stored file does). ``None`` before the first build."""
    key = inputs_key(round_, run)
    row = OpenDataFile.objects.filter(round=round_, kind=K.OCDS_SPLIT, language="").first()
    if row is None or row.inputs_key != key or not row.file:
        request_build(round_, key=key, kind=K.OCDS_SPLIT)
        row = OpenDataFile.objects.filter(round=round_, kind=K.OCDS_SPLIT, language="").first()
    index = split_index(row) if row is not None else None
    if row is None or index is None:
        return None
    return index | {"row": row, "stale": row.inputs_key != key}


def serve_ocds_index(round_: Round, run: EvaluationRun | None) -> HttpResponseBase:
    """The index of the release files, streamed from storage (built as the package is)."""
    return _serve(
        round_,
        run,
        kind=K.OCDS_SPLIT,
        language="",
        content_type="application/json; charset=utf-8",
        filename=f"{round_.code}-ocds-index.json",
        disposition="inline",
    )


def serve_ocds_part(round_: Round, run: EvaluationRun | None, number: int) -> HttpResponseBase:
    """Release file ``number`` of the current index (404 when there is none such); a
    stale index (a rebuild queued) serves its own files, marked stale."""
    response = serve_ocds_index(round_, run)
    if response.status_code != 200:
        return response
    closing = getattr(response, "file_to_stream", None)
    if closing is not None:
        closing.close()
    row = OpenDataFile.objects.get(round=round_, kind=K.OCDS_SPLIT, language="")
    index = split_index(row) or {}
    entry = next((f for f in index.get("files", []) if f["number"] == number), None)
    if entry is None:
        raise Http404
    part = FileResponse(
        row.file.storage.open(entry["stored"], "rb"),
        content_type=("application/json; charset=utf-8"),
    )
    part["Content-Disposition"] = f'inline; filename="{entry["name"]}"'
    part["Content-Length"] = str(entry["size"])
    part["X-Content-SHA256"] = entry["sha256"]
    part["X-Built-At"] = index.get("builtAt", "")
    if response.get("X-Stale"):
        part["X-Stale"] = "true"
    return part


def build_ocds(*, round_id: int) -> OpenDataFile | None:
    return build(round_id=round_id, kind=K.OCDS)


def request_build(
    round_: Round, *, key: str, kind: str = K.OCDS, language: str = "", force: bool = False
) -> None:
    """Queue a build for ``key`` unless one was queued for it recently (or ``force``)."""
    from reports.tasks import open_data_build_task

    row = _row(round_, kind, language)
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
        # No broker: in-process, so this request has the file.
        build(round_id=round_id, kind=kind, language=language)
    else:
        transaction.on_commit(lambda: open_data_build_task.delay(round_id, kind, language))


def on_award_changed(sender: Any, round_: Round, **kwargs: Any) -> None:
    """Receiver of ``round_finalized`` and ``final_allocation_changed``: rebuild the
    files once the transaction commits (the workbooks in both languages)."""
    from reports.tasks import open_data_build_task

    if current_app.conf.task_always_eager:
        # No broker (development, the test suite): each file is built in-process on its
        # first read instead, so finalizing does not render five files nobody may read.
        return
    round_id = round_.pk
    jobs = [(K.OCDS, ""), (K.OCDS_SPLIT, "")] + [
        (kind, language)
        for kind in (K.PRICE_CUTS, K.PRICE_CUTS_OFFICE, K.ANALYSIS, K.ANALYSIS_OFFICE)
        for language, _name in settings.LANGUAGES
    ]
    for kind, language in jobs:
        transaction.on_commit(partial(open_data_build_task.delay, round_id, kind, language))


def _serve(
    round_: Round,
    run: EvaluationRun | None,
    *,
    kind: str,
    language: str,
    content_type: str,
    filename: str,
    disposition: str,
) -> HttpResponseBase:
    key = inputs_key(round_, run)
    row = OpenDataFile.objects.filter(round=round_, kind=kind, language=language).first()
    if row is None or row.inputs_key != key or not row.file:
        request_build(round_, key=key, kind=kind, language=language)
        row = OpenDataFile.objects.filter(round=round_, kind=kind, language=language).first()
    if row is None or not row.file:
        unavailable = JsonResponse(
            {
                "detail": "The file is being built; try again in a moment.",
                "code": "being_built",
            },
            status=503,
        )
        unavailable["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return unavailable
    response = FileResponse(row.file.open("rb"), content_type=content_type)
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Content-Length"] = str(row.size)
    response["X-Content-SHA256"] = row.sha256
    response["X-Built-At"] = row.built_at.isoformat() if row.built_at else ""
    if row.inputs_key != key:
        response["X-Stale"] = "true"  # a rebuild is queued; this is the previous build
    return response


def one_piece(round_: Round) -> bool:
    """Whether the round's package is also built in one piece: up to
    ``JICAI_OCDS_ONE_PIECE_MAX_CONTRACTS`` contracts (default 50,000; a national round's
    ~900,000 make a ~540 MB document); a larger round has only its release files. One
    count of at most that many rows."""
    limit = int(getattr(settings, "JICAI_OCDS_ONE_PIECE_MAX_CONTRACTS", 50_000))
    return Contract.objects.filter(round=round_)[: limit + 1].count() <= limit


def serve_ocds(round_: Round, run: EvaluationRun | None) -> HttpResponseBase:
    """The stored package, streamed from storage (see the module docstring); for a
    round too large for one piece (``one_piece``), a redirect to its release files'
    index."""
    if not one_piece(round_):
        return HttpResponseRedirect(reverse("reports:ocds-index", args=[round_.pk]), status=303)
    return _serve(
        round_,
        run,
        kind=K.OCDS,
        language="",
        content_type="application/json; charset=utf-8",
        filename=f"{round_.code}-ocds.json",
        disposition="inline",
    )


def serve_workbook(
    round_: Round, run: EvaluationRun, *, with_hospitals: bool, suffix: str
) -> HttpResponseBase:
    """The stored price-cut workbook in the active language, streamed from storage."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    if round_.pk in provisional_rounds(round_ids=[round_.pk]):
        suffix = f"{suffix}-provisional"
    return _serve(
        round_,
        run,
        kind=K.PRICE_CUTS_OFFICE if with_hospitals else K.PRICE_CUTS,
        language=language,
        content_type=XLSX,
        filename=f"{round_.code}-{suffix}.xlsx",
        disposition="attachment",
    )


def status(round_: Round) -> OpenDataFile | None:
    """The round's stored package (for the office page: built at, size, hash)."""
    return OpenDataFile.objects.filter(round=round_, kind=K.OCDS, language="").first()

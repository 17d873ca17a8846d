"""The office's collated demand (a provincial platform's export, up to a national
million lines): checked and imported by tasks, on the stored upload."""

from __future__ import annotations

from django.conf import settings

from catalog.models import StoredUpload
from common.uploads import ImportOutcome, UploadRunner, upload_preview_run, upload_run
from procurement.models import Round
from procurement.services.demand import demand_import


def _collated_runner(*, commit: bool) -> UploadRunner:
    def run(upload: StoredUpload) -> ImportOutcome:
        round_ = Round.objects.get(code=upload.scope)
        return demand_import(
            round_=round_,
            data=bytes(upload.data),
            filename=upload.filename,
            max_bytes=int(settings.JICAI_MAX_UPLOAD_BYTES),
            hospital=None,
            by=upload.user,
            commit=commit,
        )

    return run


def demand_collated_preview_run(*, token: str) -> None:
    """Check a collated demand upload without writing (see ``common.uploads.upload_preview_run``).

    A national file has a million lines and takes seconds to check, so the check runs in a
    task too; the office confirms the counts on the status page before the commit.
    """
    upload_preview_run(token=token, run=_collated_runner(commit=False))


def demand_collated_import_run(*, token: str) -> None:
    """Commit a queued collated demand upload (see ``common.uploads.upload_run``)."""
    upload_run(token=token, run=_collated_runner(commit=True))

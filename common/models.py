"""The stored upload, abstract: an uploaded file kept between its preview and its commit.

The kernel knows no organization, so the concrete model lives in the app that does
(``catalog.StoredUpload`` adds the organization the user acts for) and is named by the
setting ``JICAI_UPLOAD_MODEL``, the way ``AUTH_USER_MODEL`` names the user model. The
flow that uses it is ``common.uploads``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StoredUploadBase(models.Model):
    """An uploaded spreadsheet kept between its preview and its commit.

    Keyed by an unguessable token and scoped to whoever made it (``owner``), the kind of
    import (``purpose``) and what it applies to (``scope``, e.g. a round code), so a token
    cannot be replayed by another user or against another round. The commit reads the
    stored bytes and validates them again; it then deletes the upload.
    """

    class Status(models.TextChoices):
        # Large files (the office's collated demand) are checked and committed by tasks:
        # preview-queued -> previewing -> previewed (or failed) -> queued -> running ->
        # done (or failed). Small files are checked in the request and start "previewed".
        PREVIEW_QUEUED = "preview-queued", _("Waiting to be checked")
        PREVIEWING = "previewing", _("Checking")
        PREVIEWED = "previewed", _("Checked: waiting for your confirmation")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Not imported")

    token = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=32)
    scope = models.CharField(max_length=64, blank=True)
    filename = models.CharField(max_length=255)
    data = models.BinaryField()
    # Large imports are committed by a background task; these fields report its outcome.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEWED)
    result = models.JSONField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)  # of the current task
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = models.Manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.purpose} {self.filename}"

    @classmethod
    def owner(cls, user: AbstractBaseUser) -> dict[str, Any]:
        """The fields that scope an upload to whoever made it: stored with it, and required
        again to read it. Here the user; a concrete model adds what else it scopes by."""
        return {"user": user}

    def reply_language(self) -> str:
        """The language of the messages a background check writes for the uploader."""
        return str(settings.LANGUAGE_CODE)

    @property
    def is_working(self) -> bool:
        """A task is checking or importing the file (or is about to): the page polls."""
        return self.status in UPLOAD_WORKING and not self.is_stalled

    @property
    def is_stalled(self) -> bool:
        """A task claimed the file longer ago than any task may run: its worker died.

        Celery kills a task at ``CELERY_TASK_TIME_LIMIT``; a worker that was killed (or
        lost its machine) never reports back, so the upload would otherwise say
        "Checking" or "Importing" for ever and block the next file. Nothing was written
        (the import is one transaction).
        """
        if self.status not in UPLOAD_CLAIMED or self.started_at is None:
            return False
        return self.started_at < upload_stalled_before()

    @property
    def is_unfinished(self) -> bool:
        """Working, or checked and waiting for the user to confirm the import."""
        return self.status in UPLOAD_UNFINISHED


_Status = StoredUploadBase.Status
UPLOAD_WORKING = frozenset(
    {_Status.PREVIEW_QUEUED, _Status.PREVIEWING, _Status.QUEUED, _Status.RUNNING}
)
UPLOAD_UNFINISHED = UPLOAD_WORKING | {_Status.PREVIEWED}
UPLOAD_CLAIMED = frozenset({_Status.PREVIEWING, _Status.RUNNING})


def upload_stalled_before() -> datetime.datetime:
    """A task claimed before this moment has outlived Celery's hard time limit."""
    limit = int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 1800))
    return timezone.now() - datetime.timedelta(seconds=limit + 60)


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Bulk updates and deletes refused: the rows of an append-only log are never rewritten
    (the database refuses them too, by a trigger, on PostgreSQL)."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError(f"the {self.model._meta.verbose_name_plural} is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"the {self.model._meta.verbose_name_plural} is append-only")


class AppendOnlyModel(models.Model):
    """An entry of an append-only log: created once, never saved again nor deleted (an
    invariant, not business logic)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError(f"the {self._meta.verbose_name_plural} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"the {self._meta.verbose_name_plural} is append-only")

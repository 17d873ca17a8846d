"""Project-wide tasks: the deadline sweep that Celery beat runs every minute."""

from __future__ import annotations

import logging
import os
import socket

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@shared_task(name="config.tasks.run_deadline_checks", ignore_result=True)
def run_deadline_checks() -> int:
    """Run every registered deadline check with the same ``now``.

    Each check must be idempotent (guarded on state), so a beat that fires twice, or a
    sweep that overlaps a manual transition, changes nothing the second time.
    """
    now = timezone.now()
    changed = 0
    for path in settings.JICAI_DEADLINE_CHECKS:
        check = import_string(path)
        changed += int(check(now=now) or 0)
    if changed:
        logger.info("deadline sweep changed %s objects", changed)
    return changed


@shared_task(name="config.tasks.worker_ping")
def worker_ping(token: str) -> dict[str, object]:
    """Report where a task ran: used by the integration tests and the health check."""
    return {
        "token": token,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "database_vendor": connection.vendor,
    }

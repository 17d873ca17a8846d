"""A task sent through Redis runs on a real worker process against PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
from django.db import connection

from config.tasks import worker_ping

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_database_is_postgresql_in_the_integration_run() -> None:
    assert connection.vendor == "postgresql"


def test_task_runs_on_a_real_worker_and_its_result_is_read_back(
    celery_worker: subprocess.Popen[bytes],
) -> None:
    token = uuid.uuid4().hex
    result = worker_ping.delay(token).get(timeout=60)
    assert result["token"] == token
    assert result["pid"] != os.getpid()
    assert result["database_vendor"] == "postgresql"
    assert celery_worker.poll() is None

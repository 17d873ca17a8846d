"""The project's Celery app for the worker-kill tests: each task first waits
``JICAI_TEST_TASK_DELAY`` seconds (a ``task_prerun`` hook, in the worker only), and the
evaluation's solver ``JICAI_TEST_SOLVE_DELAY`` seconds (its run is then "running, solving"),
so a test can kill the worker while a task is running, deterministically."""

from __future__ import annotations

import os
import time
from typing import Any

from celery.signals import task_prerun

from config.celery import app

__all__ = ["app"]


@task_prerun.connect
def _wait_before_each_task(sender: Any = None, **_kwargs: Any) -> None:
    if getattr(sender, "name", "") == "config.tasks.worker_ping":
        return
    _slow_solver()
    time.sleep(float(os.environ.get("JICAI_TEST_TASK_DELAY", "0")))


def _slow_solver() -> None:
    from awards.services import storing

    if getattr(storing.solve, "slowed", False):
        return
    real = storing.solve

    def solve(*args: Any, **kwargs: Any) -> Any:
        time.sleep(float(os.environ.get("JICAI_TEST_SOLVE_DELAY", "0")))
        return real(*args, **kwargs)

    solve.slowed = True  # type: ignore[attr-defined]
    storing.solve = solve  # type: ignore[assignment]

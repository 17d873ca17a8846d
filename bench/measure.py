"""Per-request figures of a gunicorn worker, for the national page benchmark
(``bench/bench_pages_national.py``); used only by its settings (``bench.settings_pages``).

A request that carries ``X-Bench-Id`` is measured: the worker's peak resident memory is
reset before it (``/proc/self/clear_refs``, value 5: the kernel's "reset peak RSS") and
read after it (``VmHWM`` of ``/proc/self/status``), and its database queries are counted
(``connection.execute_wrapper``). The figures are taken when the response is closed, so a
streamed or file response is counted to its last byte, and appended as one JSON line to
``JICAI_BENCH_MEASURE_LOG``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest
from django.http.response import HttpResponseBase

LOG = os.environ.get("JICAI_BENCH_MEASURE_LOG", "")


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")


class MeasureMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        tag = request.headers.get("X-Bench-Id")
        if not tag or not LOG:
            return self.get_response(request)
        _reset_peak()
        start_kb = _status_kb("VmRSS")
        count = [0]

        def counted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            count[0] += 1
            return execute(sql, params, many, context)

        wrapper = connection.execute_wrapper(counted)
        wrapper.__enter__()
        try:
            response = self.get_response(request)
        except BaseException:
            wrapper.__exit__(None, None, None)
            raise

        def done() -> None:
            wrapper.__exit__(None, None, None)
            record = {
                "id": tag,
                "pid": os.getpid(),
                "queries": count[0],
                "start_kb": start_kb,
                "peak_kb": _status_kb("VmHWM"),
            }
            with open(LOG, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")

        response._resource_closers.append(done)  # type: ignore[attr-defined]
        return response

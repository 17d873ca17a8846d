"""Shared shape of a benchmark figure, so `make bench` can print one table.

Every benchmark module in this folder is named ``bench_<topic>.py`` and defines
``run() -> list[Row]``. Each row carries the measured figure and, beside it, a
baseline measured in the same run on the same machine (HiGHS on the same model,
PostgreSQL COPY of the same file, WeasyPrint on a one-page document...).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    benchmark: str
    figure: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    baseline_unit: str = ""
    note: str = ""


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """Yield a one-element list that holds the elapsed seconds after the block."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes), as ``uptime`` prints them, for the
    note beside a figure: solver benchmarks need a quiet machine."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"

"""Production settings for the national page benchmark (``bench/bench_pages_national.py``):
``config.settings`` with ``DJANGO_DEBUG`` off (the benchmark sets the environment: a
random secret and master key, no SSL redirect on the local socket, a Celery broker so no
request runs a task in-process), plus the per-request measurement middleware first.
"""

from __future__ import annotations

import os
from pathlib import Path

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR, MIDDLEWARE

MIDDLEWARE = ["bench.measure.MeasureMiddleware", *MIDDLEWARE]
# collectstatic writes here (the manifest the production static storage needs).
STATIC_ROOT = Path(os.environ.get("JICAI_BENCH_STATIC_ROOT", BASE_DIR / "bench" / "out" / "static"))

"""Report PDFs are files in storage: every test here writes them to a folder of its own.

Integration tests keep the configured folder: their PDFs are written by a real Celery
worker, a separate process that reads MEDIA_ROOT from the environment, and the test must
read them where the worker put them.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _report_media(request: pytest.FixtureRequest, settings, tmp_path: Path) -> None:
    if request.node.get_closest_marker("integration") is None:
        settings.MEDIA_ROOT = tmp_path / "report-media"

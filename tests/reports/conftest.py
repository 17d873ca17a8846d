"""Report PDFs are files in storage: every test here writes them to a folder of its own."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _report_media(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "report-media"

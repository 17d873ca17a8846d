"""Demo data of the tender app: nothing of its own (a round's procurement document is
published when its bidding opens, so ``DEMO-2026-A1`` gets one from ``bidding.demo``,
published on the demo clock the hour after its demand closed).
"""

from __future__ import annotations

from typing import TextIO

from tender.models import ProcurementDocumentVersion


def load(*, stdout: TextIO) -> None:
    stdout.write(
        f"tender: {ProcurementDocumentVersion.objects.count()} procurement document versions\n"
    )

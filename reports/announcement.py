"""The award-result PDF as the announcement an office publishes.

While the proposed winners are published for objections it is the 拟中选结果公示
(announcement of the proposed winners); once the award is final it is the 中选结果
(announcement of the winners). Either way it carries what such an announcement does: a
document number, the title, a preamble citing the round and its procurement document (the
tender app's current version, with its number and SHA-256), the results, the objection
period with its dates and where objections go, the issuing office, the date of issue and
a seal block. Built here from the round's records; the template is
``reports/pdf/award_result.html``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils import timezone

from awards.models import AuditEntry
from procurement.models import Round
from procurement.periods import period_days
from tender.presentation import document_number
from tender.selectors import document_current

S = Round.Status


@dataclass(frozen=True)
class Announcement:
    proposed: bool
    number: str
    issued_on: datetime.date
    document_number: str
    document_version: int | None
    document_published_at: datetime.datetime | None
    document_sha256: str
    objection_days: int
    objection_starts_at: datetime.datetime | None
    objection_ends_at: datetime.datetime
    objection_url: str
    results_url: str
    finalized_at: datetime.datetime | None


def _entries(round_: Round, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(round=round_, action=action).order_by("at", "pk"))


def announcement_number(round_: Round, *, proposed: bool, serial: int) -> str:
    """GS (公示) for the proposed winners, numbered by publication (a new publication after
    an upheld objection is a new announcement); JG (结果) for the final result."""
    return f"{round_.code}-{'GS' if proposed else 'JG'}-{max(serial, 1):02d}"


def announcement_build(*, round_: Round, finalized_at: Any = None) -> Announcement:
    proposed = round_.status == S.OBJECTION
    published = _entries(round_, "objection_period_opened")
    starts = published[-1].at if published else None
    document = document_current(round_=round_)
    issued = (starts if proposed else finalized_at) or timezone.now()
    return Announcement(
        proposed=proposed,
        number=announcement_number(round_, proposed=proposed, serial=len(published)),
        issued_on=timezone.localtime(issued).date(),
        document_number=document_number(round_.code, document.number) if document else "",
        document_version=document.number if document else None,
        document_published_at=document.published_at if document else None,
        document_sha256=document.content_sha256 if document else "",
        objection_days=period_days(round_.rule_set, "objection_days"),
        objection_starts_at=starts,
        objection_ends_at=round_.objection_ends_at,
        objection_url=reverse("awards:objection-new", args=[round_.pk]),
        results_url=reverse("awards:results", args=[round_.pk]),
        finalized_at=finalized_at,
    )

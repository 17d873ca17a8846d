"""The ready-made awarded demo round, part 4: its published documents.

``DEMO-2026-A1`` was finalized by ``awards.demo``, which queued the award-result PDF
(``reports.services.award_result_on_finalize``). seed_demo runs in one transaction, so
the queued tasks would only start after it commits (or on a worker, when a broker is
configured): the PDFs are rendered here instead, on that same job, on the demo clock five
minutes after the job was requested (the round was walked through months ago,
``bidding.demo``), so the round is published when seed_demo ends with the date it was
published then; the queued tasks then find their parts done and do nothing.
``hospital01`` and ``maker01`` also get their own reports ("My reports" on their
home page); the office can generate everyone else's from the analysis page.
"""

from __future__ import annotations

import datetime
from typing import TextIO

from accounts.demo import demo_clock, organization_for
from awards.selectors import FINAL
from bidding.demo import AWARDED_ROUND
from procurement.models import Round
from reports import services
from reports.models import GenerationJob, ReportDocument

DEMO_PARTIES = ("hospital01", "maker01")


def load(*, stdout: TextIO) -> None:
    round_ = Round.objects.filter(code=AWARDED_ROUND, status__in=FINAL).first()
    if round_ is None:
        return
    job = services.job_latest(round_=round_, kind=GenerationJob.Kind.AWARD_RESULT)
    if job is None:
        job = services.award_result_publish(round_=round_, by=None)
    if job.is_pending:
        with demo_clock(job.requested_at + datetime.timedelta(minutes=5)):
            for language in services.LANGUAGES:
                services.award_result_generate(
                    round_id=round_.pk, language=str(language), job_id=job.pk
                )
    for username in DEMO_PARTIES:
        organization = organization_for(username)
        if ReportDocument.objects.filter(round=round_, organization=organization).exists():
            continue
        for language in services.LANGUAGES:
            services.party_reports_generate(
                round_id=round_.pk,
                kind=organization.kind,
                organization_ids=[organization.pk],
                language=str(language),
            )
    stdout.write(
        f"reports: {AWARDED_ROUND} published, "
        f"{ReportDocument.objects.filter(round=round_).count()} documents\n"
    )

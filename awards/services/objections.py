"""The objection period, objections and their answers, and finalizing the award.

The objection period (公示期) is the rule set's ``objection_days`` (``procurement.periods``,
3 days by default after 实施条例 Art. 54), counted from the moment the office publishes the
proposed winners: publishing sets the round's ``objection_ends_at`` to publication + the
period (until then the timetable's value is only a plan). Objections are accepted while
it runs (``now < objection_ends_at``); finalizing is refused before it ends, with the end
in the message; the office may extend a running period (audited, and recorded in the
round's history by the timetable write) but never shorten it. A period of 0 days ends at
publication (a rehearsal).

The office publishes the proposed winners of the official run for objections; hospitals
and manufacturers taking part object to an item's result; the office dismisses an
objection, or upholds it (the bid it names is excluded and the evaluation runs again);
once every objection is answered, the office finalizes the award (irreversible): the
results are published and everybody concerned is notified.
Locks the round row first (``awards.services.base``).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from accounts.models import Notification, Organization, User
from accounts.notifications import notify
from awards.models import (
    AuditEntry,
    BidExclusion,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    Objection,
    ProvinceAllocation,
)
from awards.services.base import (
    NO_AWARD_STATUSES,
    R,
    S,
    local_time_text,
    lock_round,
    official_run_get,
)
from awards.services.evaluation import evaluation_request
from awards.services.reassignment import lost_volume_choices_apply
from awards.signals import round_finalized
from bidding.models import OpenedBid
from procurement.models import Round
from procurement.periods import period_days
from procurement.services import round_advance, round_timetable_write


def objection_days(round_: Round) -> int:
    """The round's objection period in days (its rule set's ``objection_days``)."""
    return period_days(round_.rule_set, "objection_days")


def objection_period_open(
    *, round_: Round, by: User, now: datetime.datetime | None = None
) -> Round:
    """Publish the proposed winners of the official run for objections: the objection
    period starts now and ends the rule set's ``objection_days`` later."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_round(round_.pk)
        run = official_run_get(locked)
        if EvaluationRun.objects.filter(
            round=locked, is_scenario=False, status__in=[R.QUEUED, R.RUNNING]
        ).exists():
            raise ValidationError(_("Wait for the running evaluation to finish."))
        if run.source_run.solver_status in NO_AWARD_STATUSES:
            raise ValidationError(
                _(
                    "The official run found no award (solver status: %(status)s); "
                    "there is nothing to publish."
                )
                % {"status": run.source_run.solver_status}
            )
        days = objection_days(locked)
        # The timetable keeps its order (opening before the end of the objection period)
        # even with a period of 0 days.
        ends = max(
            now + datetime.timedelta(days=days), locked.opening_at + datetime.timedelta(seconds=1)
        )
        round_advance(
            round_=locked,
            to=S.OBJECTION,
            by=by,
            note=f"run {run.pk} published; objection period {days} d, until {ends.isoformat()}",
        )
        Round.objects.filter(pk=locked.pk).update(objection_ends_at=ends)
        locked.objection_ends_at = ends
        AuditEntry.objects.create(
            round=locked,
            action="objection_period_opened",
            by=by,
            detail={"run": run.pk, "days": days, "ends_at": ends.isoformat()},
        )
    return locked


def objection_period_extend(
    *,
    round_: Round,
    by: User,
    until: datetime.datetime,
    reason: str,
    now: datetime.datetime | None = None,
) -> Round:
    """Extend the running objection period to ``until``: never shortened, never to the past.

    Audited (``objection_period_extended``, with the reason) and recorded in the round's
    history (the timetable write's entry).
    """
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationError(_("Say why the objection period is extended."))
    with transaction.atomic():
        locked = lock_round(round_.pk)
        if locked.status != S.OBJECTION:
            raise ValidationError(
                _("Round %(code)s is %(status)s: only a running objection period can be extended.")
                % {"code": locked.code, "status": locked.get_status_display()}
            )
        before = locked.objection_ends_at
        if until <= before:
            raise ValidationError(
                _(
                    "The objection period ends %(when)s (China Standard Time): once published "
                    "it can only be extended, so choose a later end."
                )
                % {"when": local_time_text(before)}
            )
        if until <= now:
            raise ValidationError(
                _("The new end %(when)s is already past.") % {"when": local_time_text(until)}
            )
        locked = round_timetable_write(
            round_=locked, by=by, timetable={"objection_ends_at": until}, now=now
        )
        AuditEntry.objects.create(
            round=locked,
            action="objection_period_extended",
            by=by,
            detail={"from": before.isoformat(), "to": until.isoformat(), "reason": reason.strip()},
        )
    return locked


def finalize_refusal(round_: Round, now: datetime.datetime) -> str | None:
    """Why the award of ``round_`` (in its objection period) cannot be finalized at
    ``now`` because of the period, or ``None`` once it has ended."""
    if now >= round_.objection_ends_at:
        return None
    days = objection_days(round_)
    return ngettext(
        "The objection period of round %(code)s (%(days)s day from publication) runs until "
        "%(when)s (China Standard Time): the award can be finalized once it has ended and "
        "every objection is answered.",
        "The objection period of round %(code)s (%(days)s days from publication) runs until "
        "%(when)s (China Standard Time): the award can be finalized once it has ended and "
        "every objection is answered.",
        days,
    ) % {"code": round_.code, "days": days, "when": local_time_text(round_.objection_ends_at)}


def _takes_part(round_: Round, organization: Organization) -> bool:
    """A manufacturer with a bid opened in the round, or a hospital of one of its provinces."""
    if organization.kind == Organization.Kind.MANUFACTURER:
        return OpenedBid.objects.filter(opening__round=round_, manufacturer=organization).exists()
    return round_.regions.filter(pk=organization.region_id).exists()


def objection_file(
    *,
    round_: Round,
    round_item_id: int,
    by: User,
    text: str,
    attachment: UploadedFile | None = None,
    now: datetime.datetime | None = None,
) -> Objection:
    """File an objection against an item's proposed result, during the objection period."""
    now = now or timezone.now()
    organization: Organization | None = by.organization
    if organization is None or organization.kind not in {
        Organization.Kind.HOSPITAL,
        Organization.Kind.MANUFACTURER,
    }:
        raise ValidationError(_("Only hospitals and manufacturers can file objections."))
    if not text.strip():
        raise ValidationError(_("Say what the objection is about."))
    with transaction.atomic():
        locked = lock_round(round_.pk)
        if locked.status != S.OBJECTION:
            raise ValidationError(
                _("Objections to round %(code)s are not accepted now.") % {"code": locked.code}
            )
        if now >= locked.objection_ends_at:
            raise ValidationError(
                _(
                    "The objection period of round %(code)s ended %(when)s (China Standard "
                    "Time): objections are no longer accepted."
                )
                % {"code": locked.code, "when": local_time_text(locked.objection_ends_at)}
            )
        if not _takes_part(locked, organization):
            raise ValidationError(
                _(
                    "Only the manufacturers that bid in round %(code)s and the hospitals of its "
                    "provinces can object to its results."
                )
                % {"code": locked.code}
            )
        run = official_run_get(locked)
        if not ItemAward.objects.filter(run=run.source_run, round_item_id=round_item_id).exists():
            raise ValidationError(_("Choose an item of this round."))
        objection = Objection(
            round=locked,
            run=run,
            round_item_id=round_item_id,
            organization=organization,
            filed_by=by,
            text=text.strip(),
        )
        if attachment is not None:
            objection.attachment.save(attachment.name or "attachment", attachment, save=False)
        objection.save()
    return objection


def objection_dismiss(*, objection: Objection, by: User, answer: str) -> Objection:
    if not answer.strip():
        raise ValidationError(_("Give the answer to the objection."))
    with transaction.atomic():
        lock_round(objection.round_id)
        updated = Objection.objects.filter(pk=objection.pk, status=Objection.Status.OPEN).update(
            status=Objection.Status.DISMISSED,
            answer=answer.strip(),
            answered_by=by,
            answered_at=timezone.now(),
        )
        if updated != 1:
            raise ValidationError(_("This objection has already been answered."))
        AuditEntry.objects.create(
            round_id=objection.round_id,
            action="objection_dismissed",
            by=by,
            detail={"objection": objection.pk},
        )
    objection.refresh_from_db()
    return objection


def objection_uphold(
    *, objection: Objection, by: User, answer: str, excluded_bid_id: int
) -> EvaluationRun:
    """Uphold an objection: exclude the bid it names and re-run the official evaluation.

    The round goes back from the objection period to "evaluated"; the office publishes the
    new result for objections again.
    """
    if not answer.strip():
        raise ValidationError(_("Give the answer to the objection."))
    with transaction.atomic():
        locked = lock_round(objection.round_id)
        bid = OpenedBid.objects.filter(pk=excluded_bid_id, round_item__round=locked).first()
        if bid is None:
            raise ValidationError(_("Choose a bid of this round to exclude."))
        updated = Objection.objects.filter(pk=objection.pk, status=Objection.Status.OPEN).update(
            status=Objection.Status.UPHELD,
            answer=answer.strip(),
            answered_by=by,
            answered_at=timezone.now(),
            excluded_bid=bid,
        )
        if updated != 1:
            raise ValidationError(_("This objection has already been answered."))
        BidExclusion.objects.get_or_create(
            round=locked,
            opened_bid=bid,
            defaults={"objection_id": objection.pk, "reason": answer.strip(), "by": by},
        )
        AuditEntry.objects.create(
            round=locked,
            action="objection_upheld",
            by=by,
            detail={"objection": objection.pk, "excluded_bid": bid.pk},
        )
        if locked.status == S.OBJECTION:
            round_advance(
                round_=locked, to=S.EVALUATED, by=by, note=f"objection {objection.pk} upheld"
            )
        run = evaluation_request(round_=locked, by=by)
    return run


def award_finalize(*, round_: Round, by: User, now: Any = None) -> Round:
    """Finalize the award: irreversible. Refused while an objection is open.

    Audited (who, when, which run) and publishes the results page.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_round(round_.pk)
        if locked.status != S.OBJECTION:
            raise ValidationError(
                _(
                    "Round %(code)s is %(status)s: only a round in its objection period "
                    "can be finalized."
                )
                % {"code": locked.code, "status": locked.get_status_display()}
            )
        open_count = Objection.objects.filter(round=locked, status=Objection.Status.OPEN).count()
        if open_count:
            raise ValidationError(
                _(
                    "%(count)s objection(s) are still open: "
                    "answer every objection before finalizing."
                )
                % {"count": open_count}
            )
        refusal = finalize_refusal(locked, now)
        if refusal:
            raise ValidationError(refusal)
        run = official_run_get(locked)
        if EvaluationRun.objects.filter(
            round=locked, is_scenario=False, status__in=[R.QUEUED, R.RUNNING]
        ).exists():
            raise ValidationError(_("Wait for the running evaluation to finish."))
        round_advance(round_=locked, to=S.AWARDED, by=by, note=f"award finalized: run {run.pk}")
        AuditEntry.objects.create(
            round=locked,
            action="award_finalized",
            by=by,
            detail={"run": run.source_run.pk, "input_hash": run.source_run.input_hash},
        )
        # Consumables: the hospitals' choices for lost volume are applied by a re-run of
        # the final award (awards.services.reassignment), which then becomes the official run.
        lost_volume_choices_apply(round_=locked, by=by)
        notify_results_published(round_=locked, run=run.source_run)
        round_finalized.send(sender=Round, round_=locked, by=by)
    return locked


def notify_results_published(*, round_: Round, run: EvaluationRun) -> int:
    """Every manufacturer that bid and every hospital with an allocation is told."""
    orgs = set(
        OpenedBid.objects.filter(round_item__round=round_).values_list("manufacturer_id", flat=True)
    )
    orgs |= set(
        HospitalAllocation.objects.filter(run=run).values_list("hospital_id", flat=True).distinct()
    )
    orgs |= set(
        ProvinceAllocation.objects.filter(run=run).values_list("manufacturer_id", flat=True)
    )
    return notify(
        organizations=orgs,
        kind=Notification.Kind.RESULTS_PUBLISHED,
        subject=gettext_noop("Award results of round %(code)s published"),
        body=gettext_noop(
            "The award of round %(code)s is final. See the results and your allocations."
        ),
        params={"code": round_.code},
        url=reverse("awards:results", args=[round_.pk]),
        dedupe_key=f"results:{round_.pk}",
    )

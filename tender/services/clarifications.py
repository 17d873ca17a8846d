"""Clarifications (答疑): manufacturers ask, the office answers, the answer is published
to every bidder and on the public round page without who asked.

Questions are accepted while bidding is open until the rule set's ``question_cutoff_days``
before the bid deadline (``procurement.periods``). An answer that changes the documents
is followed by an amendment: an answer itself changes no price and no time.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from accounts.models import Notification, Organization, User
from accounts.notifications import notify
from procurement.models import Round, RoundItem, RoundTransition
from procurement.services import when_shown
from tender import selectors
from tender.models import Clarification, ProcurementDocumentVersion

MAX_QUESTION = 2000
MAX_ANSWER = 5000


@transaction.atomic
def clarification_ask(
    *,
    round_: Round,
    by: User,
    question: str,
    round_item: RoundItem | None = None,
    now: datetime.datetime | None = None,
) -> Clarification:
    """A manufacturer asks about a published round's documents, before the cutoff.

    Concurrency: the round row is locked (``select_for_update``), so the cutoff is checked
    against the deadline as it stands (an amendment may move it).
    """
    now = now or timezone.now()
    organization = by.organization
    if organization is None or organization.kind != Organization.Kind.MANUFACTURER:
        raise ValidationError(_("Only a manufacturer asks questions on a round's documents."))
    locked = Round.objects.select_for_update().select_related("rule_set").get(pk=round_.pk)
    published = ProcurementDocumentVersion.objects.filter(round=locked, number=1).exists()
    if locked.status != Round.Status.BIDDING_OPEN or not published:
        raise ValidationError(
            _("Questions on round %(code)s are accepted only while bidding is open.")
            % {"code": locked.code}
        )
    cutoff = selectors.question_deadline(round_=locked)
    if now >= cutoff:
        days = (locked.bid_deadline - cutoff).days
        raise ValidationError(
            ngettext(
                "Questions on round %(code)s were accepted until %(when)s, %(days)s day "
                "before the bid deadline.",
                "Questions on round %(code)s were accepted until %(when)s, %(days)s days "
                "before the bid deadline.",
                days,
            )
            % {
                "code": locked.code,
                "when": when_shown(cutoff),
                "days": days,
            }
        )
    text = question.strip()
    if not text:
        raise ValidationError(_("Write your question."))
    if len(text) > MAX_QUESTION:
        raise ValidationError(
            _("A question has at most %(max)s characters.") % {"max": MAX_QUESTION}
        )
    if round_item is not None and round_item.round_id != locked.pk:
        raise ValidationError(_("That item is not one of this round's items."))
    clarification = Clarification.objects.create(
        round=locked,
        round_item=round_item,
        asked_by_organization=organization,
        asked_by=by,
        question=text,
        asked_at=now,
    )
    RoundTransition.objects.create(
        round=locked,
        from_status=locked.status,
        to_status=locked.status,
        by=by,
        note=f"question {clarification.pk} received",
    )
    notify(
        organizations=[locked.office_id],
        kind=Notification.Kind.QUESTION_RECEIVED,
        subject=gettext_noop("Round %(code)s: a question on the procurement document"),
        body=gettext_noop(
            "A manufacturer asked a question on round %(code)s. Answer it; the answer is "
            "published to every bidder without the asker's name."
        ),
        params={"code": locked.code},
        url=reverse("tender:answer", args=[locked.code, clarification.pk]),
        dedupe_key=f"tender-question-{clarification.pk}",
    )
    return clarification


@transaction.atomic
def clarification_answer(
    *,
    clarification: Clarification,
    by: User,
    answer: str,
    published_question: str = "",
    now: datetime.datetime | None = None,
) -> Clarification:
    """The round's office answers; the question (in the office's wording, which may leave
    out anything that names the asker) and the answer are published with the next number.

    Concurrency: the round row is locked (the numbers), and the question is answered by a
    conditional ``UPDATE ... WHERE status = 'pending'`` whose row count is checked, so an
    answer is published once.
    """
    now = now or timezone.now()
    round_ = Round.objects.select_for_update().get(pk=clarification.round_id)
    organization = by.organization
    if organization is None or organization.pk != round_.office_id:
        raise ValidationError(_("Only the round's procurement office answers its questions."))
    if round_.status != Round.Status.BIDDING_OPEN:
        raise ValidationError(
            _("Questions on round %(code)s are answered only while bidding is open.")
            % {"code": round_.code}
        )
    text = answer.strip()
    if not text:
        raise ValidationError(_("Write the answer."))
    if len(text) > MAX_ANSWER:
        raise ValidationError(_("An answer has at most %(max)s characters.") % {"max": MAX_ANSWER})
    shown = published_question.strip() or clarification.question
    if len(shown) > MAX_QUESTION:
        raise ValidationError(
            _("A question has at most %(max)s characters.") % {"max": MAX_QUESTION}
        )
    number = (Clarification.objects.filter(round=round_).aggregate(n=Max("number"))["n"] or 0) + 1
    updated = Clarification.objects.filter(
        pk=clarification.pk, status=Clarification.Status.PENDING
    ).update(
        status=Clarification.Status.ANSWERED,
        number=number,
        published_question=shown,
        answer=text,
        answered_at=now,
        answered_by=by,
    )
    if updated != 1:
        raise ValidationError(_("This question has already been answered; reload the page."))
    clarification.refresh_from_db()
    RoundTransition.objects.create(
        round=round_,
        from_status=round_.status,
        to_status=round_.status,
        by=by,
        note=f"question {clarification.pk} answered: clarification No. {number} published",
    )
    # Every holder of the documents, and the asker (who may hold none of its items).
    holders = selectors.document_holders(round_=round_) | {clarification.asked_by_organization_id}
    notify(
        organizations=holders,
        kind=Notification.Kind.CLARIFICATION_PUBLISHED,
        subject=gettext_noop("Round %(code)s: clarification No. %(number)s published"),
        body=gettext_noop(
            "The procurement office answered a question on round %(code)s (clarification "
            "No. %(number)s). Read it on the round's public page before you bid."
        ),
        params={"code": round_.code, "number": number},
        url=reverse("tender:round", args=[round_.code]) + f"#clarification-{number}",
        dedupe_key=f"tender-clarification-{clarification.pk}",
    )
    return clarification

"""Notifications of the qualification app (docs/qualification.md, "Notifications"): the
office's decision on each document, and warnings of documents about to expire. Through
the platform's one notice mechanism (``accounts.notifications``): stored as message ids,
shown and emailed in the reader's language, never sent twice for one event, and marked
done when the organization has acted (resubmitted, or a replacement approved)."""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_noop

from accounts.models import Notification
from accounts.notifications import notifications_mark_done, notify
from qualification.models import DocumentReview, QualificationDocument
from qualification.selectors import documents_expiring

ACTED_ON = (DocumentReview.Action.REJECTED, DocumentReview.Action.MORE_REQUESTED)
SUBJECTS: dict[str, str] = {
    DocumentReview.Action.APPROVED: gettext_noop("Qualification document %(number)s approved"),
    DocumentReview.Action.REJECTED: gettext_noop("Qualification document %(number)s rejected"),
    DocumentReview.Action.MORE_REQUESTED: gettext_noop(
        "Qualification document %(number)s: more information requested"
    ),
}
BODIES: dict[str, str] = {
    DocumentReview.Action.APPROVED: gettext_noop(
        "The procurement office approved your qualification document %(number)s."
    ),
    DocumentReview.Action.REJECTED: gettext_noop(
        "The procurement office rejected your qualification document %(number)s: %(note)s "
        "Correct it and resubmit it."
    ),
    DocumentReview.Action.MORE_REQUESTED: gettext_noop(
        "The procurement office asks for more about your qualification document "
        "%(number)s: %(note)s Resubmit it with what is asked."
    ),
}


def review_key(review: DocumentReview) -> str:
    return f"qualification-review:{review.document_id}:{review.pk}"


def expiry_key(document: QualificationDocument) -> str:
    return f"qualification-expiring:{document.pk}:{document.valid_until.isoformat()}"


def _params(document: QualificationDocument, note: str = "") -> dict[str, str]:
    return {"number": document.number, "note": note}


def review_notify(*, document: QualificationDocument, review: DocumentReview) -> None:
    """Tell the document's organization what the office decided (called in the review's
    transaction). An approval also settles the expiry warnings of the documents of the
    same kind it replaces."""
    notify(
        organizations=[document.organization_id],
        kind=Notification.Kind.QUALIFICATION_REVIEWED,
        subject=SUBJECTS[review.action],
        body=BODIES[review.action],
        params=_params(document, review.note),
        url=reverse("qualification:document", args=[document.pk]),
        dedupe_key=review_key(review),
    )
    if review.action == DocumentReview.Action.APPROVED:
        same = (
            Q(product__isnull=True)
            if document.product_id is None
            else Q(product_id=document.product_id)
        )
        same &= Q(user__isnull=True) if document.user_id is None else Q(user_id=document.user_id)
        replaced = QualificationDocument.objects.filter(
            same,
            organization_id=document.organization_id,
            kind=document.kind,
            status=QualificationDocument.Status.APPROVED,
            valid_until__lt=document.valid_until,
        )
        notifications_mark_done(
            organization_id=document.organization_id,
            dedupe_keys=[expiry_key(d) for d in replaced],
        )


def resubmitted_notices_done(*, document: QualificationDocument) -> None:
    """The organization resubmitted: the notices asking it to are done."""
    reviews = DocumentReview.objects.filter(document=document, action__in=ACTED_ON)
    notifications_mark_done(
        organization_id=document.organization_id, dedupe_keys=[review_key(r) for r in reviews]
    )


def qualification_expiry_check(*, now: datetime.datetime) -> int:
    """Warn each organization of its approved documents expiring within
    ``EXPIRY_WARNING_DAYS`` days (Celery beat via JICAI_DEADLINE_CHECKS; idempotent: once
    per document and expiry date). Returns how many notices were new."""
    sent = 0
    for document in documents_expiring(now=now):
        sent += notify(
            organizations=[document.organization_id],
            kind=Notification.Kind.QUALIFICATION_EXPIRING,
            subject=gettext_noop("Qualification document %(number)s expires on %(day)s"),
            body=gettext_noop(
                "Your qualification document %(number)s expires on %(day)s. Upload its renewal "
                "for review in time: a bid whose documents expired by the bid deadline is "
                "invalid at the opening."
            ),
            params={**_params(document), "day": document.valid_until.isoformat()},
            url=reverse("qualification:documents"),
            dedupe_key=expiry_key(document),
        )
    return sent

"""In-app notifications and their emails (Django's email backend).

A notification is keyed by (organization, event): sending the same event twice (a task
redelivered, a deadline check run again) adds nothing and sends no second email.
Emails go out after the transaction commits, one per user, in the user's language.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Organization, User
from contracts.models import EvaluationRun, HospitalAllocation, Notification, ProvinceAllocation
from procurement.models import Round

logger = logging.getLogger(__name__)


def notify(
    *,
    organizations: Iterable[int],
    kind: str,
    subject: str,
    body: str,
    params: dict[str, Any],
    url: str,
    dedupe_key: str,
) -> int:
    """Notify organizations (ids). ``subject``/``body`` are message ids with ``params``,
    stored untranslated and shown or emailed in the reader's language."""
    org_ids = sorted(set(organizations))
    existing = set(
        Notification.objects.filter(organization_id__in=org_ids, dedupe_key=dedupe_key).values_list(
            "organization_id", flat=True
        )
    )
    new = [o for o in org_ids if o not in existing]
    Notification.objects.bulk_create(
        [
            Notification(
                organization_id=o,
                kind=kind,
                subject=subject,
                body=body,
                params=params,
                url=url,
                dedupe_key=dedupe_key,
            )
            for o in new
        ],
        ignore_conflicts=True,
    )
    if new:
        transaction.on_commit(lambda: _email(new, subject, body, params, url))
    return len(new)


def _email(org_ids: list[int], subject: str, body: str, params: dict[str, Any], url: str) -> None:
    users = User.objects.filter(organization_id__in=org_ids, is_active=True).exclude(email="")
    for user in users:
        with translation.override(getattr(user, "language", "") or settings.LANGUAGE_CODE):
            try:
                send_mail(
                    _(subject) % params,
                    f"{_(body) % params}\n\n{url}",
                    settings.DEFAULT_FROM_EMAIL,
                    [user.email],
                )
            except OSError:  # the mail server is down: the in-app notification stays
                logger.exception("could not email user %s", user.pk)


def notify_results_published(*, round_: Round, run: EvaluationRun) -> int:
    """Every manufacturer that bid and every hospital with an allocation is told."""
    from bidding.models import OpenedBid

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
        url=reverse("contracts:results", args=[round_.pk]),
        dedupe_key=f"results:{round_.pk}",
    )


def organizations_of_kind(kind: str) -> list[int]:
    return list(Organization.objects.filter(kind=kind).values_list("pk", flat=True))

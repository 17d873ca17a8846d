"""In-app notifications and their emails (Django's email backend).

A notification is keyed by (organization, event): sending the same event twice (a task
redelivered, a deadline check run again) adds nothing and sends no second email.
Emails go out after the transaction commits, one per user, in the user's language.

Any app may notify (``notify``); the messages are message ids with parameters, stored
untranslated and shown (the notifications page) or emailed in the reader's language.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Notification, Organization, User
from common.i18n import localized_params

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
                    _(subject) % localized_params(params),
                    f"{_(body) % localized_params(params)}\n\n{url}",
                    settings.DEFAULT_FROM_EMAIL,
                    [user.email],
                )
            except OSError:  # the mail server is down: the in-app notification stays
                logger.exception("could not email user %s", user.pk)


def notifications_mark_read(*, organization: Organization, ids: Sequence[int] | None = None) -> int:
    """Mark the organization's unread notifications read (a conditional UPDATE): all of
    them, or only those of ``ids`` (the page the reader was shown)."""
    unread = Notification.objects.filter(organization=organization, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def notifications_mark_done(
    *, organization_id: int, dedupe_keys: Sequence[str], now: datetime.datetime | None = None
) -> int:
    """The action these notices asked the organization for has been taken: they reach
    their done state (a conditional UPDATE; notices already done keep their time)."""
    return Notification.objects.filter(
        organization_id=organization_id, dedupe_key__in=dedupe_keys, done_at__isnull=True
    ).update(done_at=now or timezone.now())


def notification_list_for_user(*, user: User) -> QuerySet[Notification]:
    """The notifications of the user's organization (none for a user without one)."""
    org = getattr(user, "organization", None) if user.is_authenticated else None
    if org is None:
        return Notification.objects.none()
    return Notification.objects.filter(organization=org)

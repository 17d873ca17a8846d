"""The round history's notes, in the reader's language.

A transition's note is stored as the service wrote it, in English with its figures
("award finalized: run 12"), so that the record does not depend on who was signed in;
pages translate it through this one registry (a pattern and its message id). A note
that matches none (a cancellation's reason, typed by the office) is shown as written.
"""

from __future__ import annotations

import datetime
import re

from django.utils import timezone
from django.utils.translation import gettext as _


def gettext_noop(message: str) -> str:
    """Mark an English message id for ``makemessages`` without translating it here."""
    return message


NOTES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"created", gettext_noop("created")),
        (r"deadline", gettext_noop("at the deadline")),
        (r"closed early, (?P<n>\d+) undeclared", gettext_noop("closed early, %(n)s undeclared")),
        (
            r"procurement document v1 published \(SHA-256 (?P<sha>[0-9a-f]+)\)",
            gettext_noop("procurement document v1 published (SHA-256 %(sha)s)"),
        ),
        (r"question (?P<q>\d+) received", gettext_noop("question %(q)s received")),
        (
            r"question (?P<q>\d+) answered: clarification No\. (?P<n>\d+) published",
            gettext_noop("question %(q)s answered: clarification No. %(n)s published"),
        ),
        (r"bids opened", gettext_noop("bids opened")),
        (r"closed at the opening", gettext_noop("closed at the opening")),
        (r"closed at the opening time", gettext_noop("closed at the opening time")),
        (r"evaluation run (?P<run>\d+)", gettext_noop("evaluation run %(run)s")),
        (
            r"run (?P<run>\d+) published; objection period (?P<days>\d+) d, until (?P<until>\S+)",
            gettext_noop("run %(run)s published; objection period %(days)s d, until %(until)s"),
        ),
        (r"objection (?P<o>\d+) upheld", gettext_noop("objection %(o)s upheld")),
        (r"award finalized: run (?P<run>\d+)", gettext_noop("award finalized: run %(run)s")),
        (r"all contracts confirmed", gettext_noop("all contracts confirmed")),
        (r"execution starts", gettext_noop("execution starts")),
    )
)


def note_text(note: str) -> str:
    """``note`` in the active language (as written when no pattern matches it)."""
    for pattern, message in NOTES:
        match = pattern.fullmatch(note)
        if match is not None:
            values = {key: _shown(key, value) for key, value in match.groupdict().items()}
            return _(message) % values if values else _(message)
    return note


def _shown(key: str, value: str) -> str:
    """A moment stored as ISO 8601 (``until``) as pages show times: China Standard Time,
    to the minute."""
    if key != "until":
        return value
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return value
    if timezone.is_naive(moment):
        return value
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")

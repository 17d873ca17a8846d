"""Key configuration checked before serving (issue 13, item 4).

A Django system check, so it runs under ``manage.py check`` (and ``check --deploy``),
before ``runserver`` serves, at gunicorn start (``config.wsgi`` calls ``require_keys``)
and when a Celery worker starts (``BiddingConfig.ready`` connects ``worker_init``). It
refuses

* a malformed ``JICAI_MASTER_KEY`` (not base64 of 32 bytes), saying what is wrong;
* a well-formed key whose fingerprint is not the one that wrapped the keys already stored
  (a wrong key would otherwise wrap a new round's keys, and every correctly configured
  server would then fail on that round), naming the stored fingerprints and rounds.

If the database is not reachable or not migrated yet, only the key's form is checked.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from bidding import sealing

TAG = "jicai_keys"


@register(TAG)
def master_key_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from bidding.keys import master_key, stored_key_fingerprints

    try:
        key = master_key()
    except sealing.MasterKeyError as exc:
        return [
            Error(
                f"JICAI_MASTER_KEY is malformed: {exc}.",
                hint="Set it to base64 of 32 random bytes (docs/sealed-bidding.md, "
                "'Keys'); generate one with: python -c \"import base64,os; "
                'print(base64.urlsafe_b64encode(os.urandom(32)).decode())"',
                id="bidding.E001",
            )
        ]
    configured = sealing.key_fingerprint(key)
    try:
        stored = stored_key_fingerprints()
    except (DatabaseError, RuntimeError):
        # No database yet (before migrate), or database access refused here (pytest-django
        # outside a database test, e.g. a module importing config.wsgi): nothing stored
        # can be compared, so only the key's form is checked.
        return []
    foreign = {fp: rounds for fp, rounds in stored.items() if fp != configured}
    if not foreign:
        return []
    described = "; ".join(
        f"{fp} (rounds {', '.join(sorted(rounds)[:5])}{', ...' if len(rounds) > 5 else ''})"
        for fp, rounds in sorted(foreign.items())
    )
    return [
        Error(
            f"JICAI_MASTER_KEY does not match the keys already stored: the configured key "
            f"has fingerprint {configured}, but stored keys were wrapped by {described}.",
            hint="Start with the master key that wrapped them. To change the key, keep the "
            "old one in JICAI_OLD_MASTER_KEY and run bidding_rotate_master_key "
            "(docs/sealed-bidding.md, 'Rotating the master key').",
            id="bidding.E002",
        )
    ]


def require_keys() -> None:
    """Refuse to serve (gunicorn, Celery) with a malformed or foreign master key."""
    errors = [m for m in master_key_check() if m.is_serious()]
    if errors:
        raise ImproperlyConfigured("\n".join(f"{m.id}: {m.msg} HINT: {m.hint}" for m in errors))

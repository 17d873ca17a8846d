from typing import Any

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def check_keys_at_worker_start(**kwargs: Any) -> None:
    """Celery ``worker_init``: refuse to start a worker with a malformed or foreign master
    key. Celery logs and ignores a receiver's Exception, so the worker is stopped with
    SystemExit."""
    from bidding import checks

    try:
        checks.require_keys()
    except ImproperlyConfigured as exc:
        raise SystemExit(f"Celery worker not started: {exc}") from exc


class BiddingConfig(AppConfig):
    name = "bidding"
    verbose_name = _("Sealed bidding")

    def ready(self) -> None:
        from bidding import receivers
        from procurement.signals import bidding_closed, round_published

        bidding_closed.connect(receivers.log_head_on_bidding_closed, dispatch_uid="bidding-log")
        round_published.connect(
            receivers.log_head_on_round_published, dispatch_uid="bidding-log-head"
        )

        # Registers the key configuration check (manage.py check, runserver) and runs it
        # when a Celery worker starts; gunicorn runs it from config.wsgi.
        from celery.signals import worker_init

        from bidding import checks  # noqa: F401 - registers the system check

        worker_init.connect(check_keys_at_worker_start, weak=False, dispatch_uid="jicai-keys")

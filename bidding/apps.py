from typing import Any

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class BiddingConfig(AppConfig):
    name = "bidding"
    verbose_name = _("Sealed bidding")

    def ready(self) -> None:
        # Registers the key configuration check (manage.py check, runserver) and runs it
        # when a Celery worker starts; gunicorn runs it from config.wsgi.
        from celery.signals import worker_init

        from bidding import checks

        def _check_keys_at_worker_start(**kwargs: Any) -> None:
            # Celery logs and ignores a receiver's Exception: stop the worker explicitly.
            try:
                checks.require_keys()
            except ImproperlyConfigured as exc:
                raise SystemExit(f"Celery worker not started: {exc}") from exc

        worker_init.connect(_check_keys_at_worker_start, weak=False)

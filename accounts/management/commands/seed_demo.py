"""Load the demo data set. Idempotent: running it twice changes nothing.

Each app may have a ``demo`` module with ``load(*, stdout)``; they run in
INSTALLED_APPS order (accounts, catalog, procurement, ...), so a lower app never needs to
know about a higher one.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import module_has_submodule

from accounts.demo import DEMO_PASSWORD


class Command(BaseCommand):
    help = "Load the demo organizations, users, products and round (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            for config in apps.get_app_configs():
                if config.module is not None and module_has_submodule(config.module, "demo"):
                    import_module(f"{config.name}.demo").load(stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Password for all demo users: {DEMO_PASSWORD}")
        )

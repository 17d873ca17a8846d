"""Load the demo data set. Idempotent: running it twice changes nothing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import import_string

from accounts.demo import DEMO_PASSWORD, demo_organizations
from accounts.models import Region, User
from accounts.services import organization_upsert

# Later apps add their demo data here, in import order; each loader is idempotent.
DEMO_LOADERS: tuple[str, ...] = ()


class Command(BaseCommand):
    help = "Load the demo organizations, users and reference data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            regions = {r.code: r for r in Region.objects.all()}
            created_users = 0
            # Hash once: 43 users x one PBKDF2 run each would take longer than everything else.
            password_hash = make_password(DEMO_PASSWORD)
            for demo in demo_organizations():
                organization, _ = organization_upsert(
                    kind=demo.kind,
                    name=demo.name,
                    name_en=demo.name_en,
                    social_credit_code=demo.social_credit_code,
                    region=regions[demo.region_code],
                    hospital_grade=demo.hospital_grade,
                )
                _, created = User.objects.get_or_create(
                    username=demo.username,
                    defaults={"organization": organization, "password": password_hash},
                )
                created_users += int(created)
            for path in DEMO_LOADERS:
                import_string(path)(stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready ({created_users} new users). Password: {DEMO_PASSWORD}"
            )
        )

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command

from accounts.demo import DEMO_PASSWORD
from accounts.models import Organization, Region, User

pytestmark = pytest.mark.django_db


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"accounts", "catalog", "procurement", "bidding", "contracts"}
    }


def test_seed_demo_twice_leaves_the_same_row_counts() -> None:
    call_command("seed_demo", verbosity=0)
    first = _row_counts()
    call_command("seed_demo", verbosity=0)
    assert _row_counts() == first


def test_seed_demo_has_one_office_thirty_hospitals_in_five_provinces_and_twelve_makers() -> None:
    call_command("seed_demo", verbosity=0)
    assert Organization.objects.filter(kind="office").count() == 1
    hospitals = Organization.objects.filter(kind="hospital")
    assert hospitals.count() == 30
    assert hospitals.values("region").distinct().count() >= 5
    assert Organization.objects.filter(kind="manufacturer").count() == 12
    for organization in Organization.objects.all():
        assert organization.users.count() == 1
    assert User.objects.get(username="office").check_password(DEMO_PASSWORD)


def test_regions_are_the_31_provincial_units() -> None:
    assert Region.objects.count() == 31
    xinjiang = Region.objects.get(code="65")
    assert "生产建设兵团" in xinjiang.name_zh
    assert xinjiang.name_en == "Xinjiang (incl. XPCC)"

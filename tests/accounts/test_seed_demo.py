from __future__ import annotations

import datetime
import hashlib

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD
from accounts.models import Organization, Region, User

pytestmark = pytest.mark.django_db


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label
        in {
            "accounts",
            "catalog",
            "procurement",
            "tender",
            "bidding",
            "awards",
            "contracts",
            "reports",
        }
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
    for organization in Organization.objects.exclude(kind="office"):
        assert organization.users.count() == 1
    # The office: its staff account and the three demo opening officials (2 of 3).
    assert sorted(
        Organization.objects.get(kind="office").users.values_list("username", flat=True)
    ) == [
        "office",
        "opener1",
        "opener2",
        "opener3",
    ]
    assert User.objects.get(username="office").check_password(DEMO_PASSWORD)


def test_regions_are_the_31_provincial_units() -> None:
    assert Region.objects.count() == 31
    xinjiang = Region.objects.get(code="65")
    assert "生产建设兵团" in xinjiang.name_zh
    assert xinjiang.name_en == "Xinjiang (incl. XPCC)"


def test_the_awarded_demo_round_shows_results_contracts_progress_and_its_pdf() -> None:
    from awards.models import BidResult, EvaluationRun, ProvinceChoice
    from bidding.models import OpenedBid
    from contracts.models import Contract, Purchase
    from procurement.models import DemandDeclaration, Round
    from reports.models import GenerationJob, ReportDocument

    call_command("seed_demo", verbosity=0)
    round_ = Round.objects.get(code="DEMO-2026-A1")
    assert round_.status == Round.Status.IN_EXECUTION
    # Demand from every demo hospital, twelve sealed bids opened, none tampered.
    declarations = DemandDeclaration.objects.filter(round_item__round=round_)
    assert declarations.values("hospital").distinct().count() == 30
    opened = OpenedBid.objects.filter(round_item__round=round_)
    assert opened.count() == 12
    assert not opened.exclude(validity="valid").exists()
    # The official result comes from the selection run, evaluated by the real optimiser.
    official = EvaluationRun.objects.get(round=round_, is_official=True)
    assert official.status == "done" and official.is_selection
    won = BidResult.objects.filter(run=official.source_run, outcome="won")
    assert won.filter(manufacturer__users__username="maker01").exists()
    assert BidResult.objects.filter(run=official.source_run, outcome="lost").exists()
    assert ProvinceChoice.objects.filter(selection__round=round_, region__isnull=False).exists()
    # Contracts confirmed by both parties; last month bought, some hospitals behind.
    contracts = Contract.objects.filter(round=round_)
    assert contracts.exists()
    assert set(contracts.values_list("status", flat=True)) == {"confirmed"}
    last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    assert round_.contract_starts_on == last_month
    assert round_.opening_at < timezone.now() - datetime.timedelta(days=60)
    months = set(Purchase.objects.filter(contract__round=round_).values_list("month", flat=True))
    assert months == {last_month}
    # The award-result PDF, published in both languages on the latest job (finalizing
    # queued one; the province selection's run, once official, another that replaced it).
    job = GenerationJob.objects.filter(round=round_, kind="award_result").latest("pk")
    assert (job.done, job.failed, job.is_pending) == (2, 0, False)
    documents = ReportDocument.objects.filter(round=round_, kind="award_result")
    assert sorted(documents.values_list("language", flat=True)) == ["en", "zh-hans"]
    for document in documents:
        assert hashlib.sha256(bytes(document.content)).hexdigest() == document.sha256

    public = Client(HTTP_ACCEPT_LANGUAGE="en").get(
        reverse("reports:public-round", args=[round_.pk])
    )
    assert public.status_code == 200
    for document in documents:
        assert document.sha256 in public.content.decode()
    for username, url in (
        ("office", reverse("contracts:progress")),
        ("hospital01", reverse("contracts:contracts")),
        ("maker01", reverse("contracts:contracts")),
    ):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        assert client.login(username=username, password=DEMO_PASSWORD)
        page = client.get(url).content.decode()
        assert "DEMO-2026-A1" in page, (username, url)
    hospital = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert hospital.login(username="hospital01", password=DEMO_PASSWORD)
    home = hospital.get(reverse("accounts:home"), follow=True).content.decode()
    assert "My reports" in home and "DEMO-2026-A1" in home


def test_seed_demo_coexists_with_other_hospitals_and_touches_only_its_own() -> None:
    """A database holding other hospitals (a national data set: some in the demo's
    provinces, some outside, none with a demo user) can also hold the demo: the demo
    round's demand, allocations and contracts are those of its own 30 hospitals."""
    from accounts.demo import demo_hospitals
    from accounts.services import regions_ensure
    from awards.models import HospitalAllocation
    from contracts.models import Contract
    from procurement.models import DemandDeclaration
    from tests.factories import OrganizationFactory

    regions_ensure()
    others = [
        OrganizationFactory(kind="hospital", region=Region.objects.get(code=code))
        for code in ("11", "31", "44", "54", "65")
    ]
    call_command("seed_demo", verbosity=0)
    own = set(demo_hospitals().values_list("pk", flat=True))
    assert len(own) == 30
    assert set(DemandDeclaration.objects.values_list("hospital_id", flat=True)) == own
    assert set(HospitalAllocation.objects.values_list("hospital_id", flat=True)) <= own
    assert set(Contract.objects.values_list("hospital_id", flat=True)) == own
    assert not DemandDeclaration.objects.filter(hospital__in=others).exists()

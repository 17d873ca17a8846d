"""Demo organizations and users for ``seed_demo`` (documented in README.md).

Every demo user's password is DEMO_PASSWORD. Names are fictional; codes are generated
with valid GB 32100-2015 check characters.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO
from unittest import mock

from django.contrib.auth.hashers import make_password
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization, Region, User
from accounts.services import organization_upsert, regions_ensure
from accounts.uscc import check_character

DEMO_PASSWORD = "jicai-demo-2026"  # noqa: S105 - documented demo password, local use only


@dataclass(frozen=True)
class DemoOrganization:
    username: str
    kind: str
    name: str
    name_en: str
    region_code: str
    social_credit_code: str
    hospital_grade: int | None = None


def demo_code(prefix: str, region_code: str, serial: int) -> str:
    """A valid unified social credit code: 2-char prefix, division code, serial, check."""
    first17 = f"{prefix}{region_code}0100{serial:08d}X"[:17]
    return first17 + check_character(first17)


_HOSPITAL_CITIES = {
    "11": ("北京", "Beijing"),
    "31": ("上海", "Shanghai"),
    "44": ("广州", "Guangzhou"),
    "51": ("成都", "Chengdu"),
    "37": ("济南", "Jinan"),
    "42": ("武汉", "Wuhan"),
}
_HOSPITAL_KINDS = (
    ("第一人民医院", "First People's Hospital", 3),
    ("中心医院", "Central Hospital", 3),
    ("中医医院", "Hospital of Traditional Chinese Medicine", 2),
    ("妇幼保健院", "Maternal and Child Health Hospital", 2),
    ("第二人民医院", "Second People's Hospital", 1),
)

_MANUFACTURERS = (
    ("齐安制药股份有限公司", "Qi'an Pharmaceutical Co., Ltd.", "37"),
    ("正元药业集团有限公司", "Zhengyuan Pharmaceutical Group Co., Ltd.", "32"),
    ("石泉药业集团有限公司", "Shiquan Pharmaceutical Group Co., Ltd.", "13"),
    ("扬帆药业有限公司", "Yangfan Pharmaceutical Co., Ltd.", "32"),
    ("华瑞制药股份有限公司", "Huarui Pharmaceutical Co., Ltd.", "33"),
    ("京信药业股份有限公司", "Jingxin Pharmaceutical Co., Ltd.", "33"),
    ("信和医药科技有限公司", "Xinhe Pharmaceutical Technology Co., Ltd.", "44"),
    ("辉源制药（中国）有限公司", "Huiyuan Pharmaceuticals (China) Ltd.", "31"),
    ("乐心医疗器械股份有限公司", "Lexin Medical Devices Co., Ltd.", "11"),
    ("微准医疗科技有限公司", "Weizhun Medical Technology Co., Ltd.", "31"),
    ("威骨骨科器械有限公司", "Weigu Orthopaedic Devices Co., Ltd.", "37"),
    ("明视眼科器械有限公司", "Mingshi Ophthalmic Devices Co., Ltd.", "44"),
)


def demo_organizations() -> list[DemoOrganization]:
    organizations = [
        DemoOrganization(
            username="office",
            kind="office",
            name="国家组织药品联合采购办公室（演示）",
            name_en="Joint Procurement Office (demo)",
            region_code="31",
            social_credit_code=demo_code("11", "31", 1),
        )
    ]
    serial = 0
    for region_code, (city_zh, city_en) in _HOSPITAL_CITIES.items():
        for suffix_zh, suffix_en, grade in _HOSPITAL_KINDS:
            serial += 1
            organizations.append(
                DemoOrganization(
                    username=f"hospital{serial:02d}",
                    kind="hospital",
                    name=f"{city_zh}市{suffix_zh}",
                    name_en=f"{city_en} {suffix_en}",
                    region_code=region_code,
                    social_credit_code=demo_code("12", region_code, 1000 + serial),
                    hospital_grade=grade,
                )
            )
    for serial, (name, name_en, region_code) in enumerate(_MANUFACTURERS, start=1):
        organizations.append(
            DemoOrganization(
                username=f"maker{serial:02d}",
                kind="manufacturer",
                name=name,
                name_en=name_en,
                region_code=region_code,
                social_credit_code=demo_code("91", region_code, 2000 + serial),
            )
        )
    return organizations


def load(*, stdout: TextIO) -> None:
    """Create the demo organizations and one user each (idempotent); each manufacturer
    and hospital user gets its public demo signing key (``accounts.signing_demo``)."""
    from accounts.signing_demo import demo_signing_key

    regions_ensure()
    regions = {r.code: r for r in Region.objects.all()}
    # Hash once: 43 users x one PBKDF2 run each would take longer than everything else.
    password_hash = make_password(DEMO_PASSWORD)
    created_users = 0
    for demo in demo_organizations():
        organization, _ = organization_upsert(
            kind=demo.kind,
            name=demo.name,
            name_en=demo.name_en,
            social_credit_code=demo.social_credit_code,
            region=regions[demo.region_code],
            hospital_grade=demo.hospital_grade,
        )
        user, created = User.objects.get_or_create(
            username=demo.username,
            defaults={"organization": organization, "password": password_hash},
        )
        created_users += int(created)
        if organization.kind in (Organization.Kind.MANUFACTURER, Organization.Kind.HOSPITAL):
            demo_signing_key(user)  # the demo rounds' bids and contracts are signed with it
    stdout.write(
        f"accounts: {Organization.objects.count()} organizations, {created_users} new users\n"
    )


def demo_hospitals() -> QuerySet[Organization]:
    """The demo's own hospitals (``hospital01`` to ``hospital30``), whatever other
    hospitals the database holds: the demo round declares demand only for these, so a
    database with other organizations (a national data set) can hold the demo too."""
    codes = [o.social_credit_code for o in demo_organizations() if o.kind == "hospital"]
    return Organization.objects.filter(
        kind=Organization.Kind.HOSPITAL, social_credit_code__in=codes
    ).order_by("pk")


def organization_for(username: str) -> Organization:
    """The demo organization whose user has this name (used by other apps' demo data)."""
    return Organization.objects.get(users__username=username)


class DemoClock:
    """Demo only: the time ``timezone.now()`` tells while a demo round is walked through.

    The ready-made rounds are walked through the real services, which read the clock
    (demand only while open, bids only before the deadline, finalizing only after the
    objection period, ...) and stamp what they record with it (declarations, sealed bids
    and their receipts, the ceremony, runs, audit entries, confirmations). Walking a round
    "months ago" on this clock, instead of moving its dates back afterwards, keeps every
    date a page or PDF shows in agreement, receipts' hashed server times included. The
    clock runs (seconds pass as they do) and ``travel_to`` jumps it forward to the next
    step of the timetable.
    """

    def __init__(self, real_now: Callable[[], datetime.datetime], at: datetime.datetime):
        self._real_now = real_now
        self._offset = at - real_now()

    def now(self) -> datetime.datetime:
        return self._real_now() + self._offset

    def travel_to(self, at: datetime.datetime) -> None:
        """Jump to ``at``; never backwards (what was recorded stays in order)."""
        if at < self.now():
            raise ValueError(f"the demo clock does not run backwards: {at} < {self.now()}")
        self._offset = at - self._real_now()

    def advance(self, delta: datetime.timedelta) -> None:
        self.travel_to(self.now() + delta)


@contextmanager
def demo_clock(at: datetime.datetime) -> Iterator[DemoClock]:
    """Inside the block, ``django.utils.timezone.now()`` (which every service and every
    ``auto_now`` field reads) tells the demo's time, starting at ``at``."""
    clock = DemoClock(timezone.now, at)
    with mock.patch.object(timezone, "now", clock.now):
        yield clock

"""A new manufacturer registers with its unified social credit code; the office approves
(the organization and its first user are created) or rejects with a reason. The office
switches a round's qualification requirement until bidding opens."""

from __future__ import annotations

import html

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.demo import demo_code
from accounts.models import Organization, Region, User
from procurement.models import Round
from qualification.models import RegistrationRequest, RoundQualificationRule
from qualification.selectors import qualification_required
from qualification.services import registration_approve
from tests.bidding.conftest import World
from tests.factories import user_of
from tests.procurement.factories import make_round

pytestmark = pytest.mark.django_db
CODE = demo_code("91", "32", 424242)
PASSWORD = "a-long-Pass-phrase-2026"


def _form(**extra: str) -> dict[str, str]:
    return {
        "kind": "manufacturer",
        "name": "新成药业有限公司",
        "name_en": "Xincheng Pharma",
        "social_credit_code": CODE,
        "region": str(Region.objects.get(code="32").pk),
        "hospital_grade": "",
        "contact_name": "王芳",
        "email": "wang@example.com",
        "username": "xincheng",
        "password": PASSWORD,
        "password_again": PASSWORD,
        **extra,
    }


def _office() -> User:
    return user_of(Organization.Kind.OFFICE)


def test_a_manufacturer_registers_and_the_office_approves() -> None:
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert anonymous.get(reverse("qualification:register")).status_code == 200
    response = anonymous.post(reverse("qualification:register"), _form())
    assert response.status_code == 302
    request = RegistrationRequest.objects.get()
    assert (request.status, request.social_credit_code) == ("pending", CODE)
    assert not Organization.objects.filter(social_credit_code=CODE).exists()
    assert not anonymous.login(username="xincheng", password=PASSWORD)  # not yet
    office = _office()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(office)
    page = client.get(reverse("qualification:office")).content.decode()
    assert CODE in page
    decided = client.post(
        reverse("qualification:registration-decide", args=[request.pk]), {"decision": "approve"}
    )
    assert decided.status_code == 302
    organization = Organization.objects.get(social_credit_code=CODE)
    assert (organization.kind, organization.name_en) == ("manufacturer", "Xincheng Pharma")
    user = User.objects.get(username="xincheng")
    assert user.organization == organization
    assert anonymous.login(username="xincheng", password=PASSWORD)
    assert anonymous.get(reverse("qualification:documents")).status_code == 200
    request.refresh_from_db()
    assert (request.status, request.reviewed_by, request.organization) == (
        "approved",
        office,
        organization,
    )
    with pytest.raises(ValidationError) as exc:
        registration_approve(request=request, by=office)
    assert exc.value.code == "decided"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("social_credit_code", CODE[:-1] + ("0" if CODE[-1] != "0" else "1"), "not a valid"),
        ("password_again", "something-else-2026", "The two passwords differ."),
        ("hospital_grade", "3", "Only hospitals have a grade."),
        ("username", "bad name!", "Enter a valid username"),
    ],
)
def test_a_bad_registration_is_refused_with_its_reason(
    field: str, value: str, message: str
) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        reverse("qualification:register"), _form(**{field: value})
    )
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert not RegistrationRequest.objects.exists()


def test_a_registered_code_or_a_taken_user_name_is_refused() -> None:
    existing = user_of(Organization.Kind.MANUFACTURER)
    assert existing.organization is not None
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    taken = client.post(
        reverse("qualification:register"),
        _form(social_credit_code=existing.organization.social_credit_code),
    )
    assert "An organization with this code is already registered" in html.unescape(
        taken.content.decode()
    )
    user = client.post(reverse("qualification:register"), _form(username=existing.username))
    assert "This user name is taken" in user.content.decode()
    assert not RegistrationRequest.objects.exists()


def test_the_office_rejects_with_a_reason() -> None:
    Client().post(reverse("qualification:register"), _form())
    request = RegistrationRequest.objects.get()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(_office())
    url = reverse("qualification:registration-decide", args=[request.pk])
    client.post(url, {"decision": "reject", "reason": ""})
    request.refresh_from_db()
    assert request.status == "pending"  # no reason, no rejection
    client.post(url, {"decision": "reject", "reason": "Unknown company"})
    request.refresh_from_db()
    assert (request.status, request.reason) == ("rejected", "Unknown company")
    assert not Organization.objects.filter(social_credit_code=CODE).exists()
    # A new request with the same code may follow a rejected one.
    assert Client().post(reverse("qualification:register"), _form()).status_code == 302


def test_the_office_switches_a_rounds_requirement_until_bidding_opens(world: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.office)
    draft = make_round(office=world.office, code="T-2026-RULE")
    assert draft.status == Round.Status.DRAFT
    client.post(reverse("qualification:round-rule", args=[draft.code]), {"required": "0"})
    assert not qualification_required(round_=draft)
    client.post(reverse("qualification:round-rule", args=[draft.code]), {"required": "1"})
    assert qualification_required(round_=draft)
    # The round in bidding keeps its rule, with the reason said.
    response = client.post(
        reverse("qualification:round-rule", args=[world.round.code]), {"required": "0"}, follow=True
    )
    assert "can be changed only before bidding opens" in response.content.decode()
    assert RoundQualificationRule.objects.get(round=world.round).required
    other = user_of(Organization.Kind.OFFICE)
    client.force_login(other)
    assert (
        client.post(reverse("qualification:round-rule", args=[draft.code]), {"required": "0"})
    ).status_code == 404


def test_a_hospital_registers_with_its_grade() -> None:
    code = demo_code("12", "11", 777)
    response = Client().post(
        reverse("qualification:register"),
        _form(kind="hospital", hospital_grade="2", social_credit_code=code, username="h-new"),
    )
    assert response.status_code == 302
    organization = registration_approve(request=RegistrationRequest.objects.get(), by=_office())
    assert (organization.kind, organization.hospital_grade) == ("hospital", 2)
    assert User.objects.get(username="h-new").organization == organization
    missing_grade = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        reverse("qualification:register"),
        _form(kind="hospital", social_credit_code=demo_code("12", "11", 778), username="h2"),
    )
    assert "A hospital needs a grade (1, 2 or 3)." in missing_grade.content.decode()

"""Only a qualified manufacturer seals a bid on a round requiring qualification; the
refusal says which document is missing or expired."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse

from bidding.models import Bid
from bidding.services import bid_submit
from procurement.models import Round
from qualification.models import DocumentKind, RoundQualificationRule
from qualification.selectors import qualification_required
from tests.bidding.conftest import World, build_world
from tests.qualification.conftest import approve, qualify, today, upload

D = Decimal


def _seal(world: World, product: object = None) -> object:
    return bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=product or world.bidder_20,
        unit_price=D("1.9000"),
        annual_capacity=1000,
        by=world.bidder,
    )


def _refusal(world: World) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        _seal(world)
    assert not Bid.objects.filter(manufacturer=world.bidder.organization).exists()
    return exc.value


def test_a_bidder_without_documents_cannot_seal(world: World) -> None:
    refusal = _refusal(world)
    assert refusal.code == "supplier_unqualified"
    day = today().isoformat()
    assert refusal.messages == [
        f"Your organization has no approved business licence valid on {day}."
    ]


def test_documents_waiting_for_review_do_not_qualify(world: World) -> None:
    upload(world.bidder, DocumentKind.BUSINESS_LICENCE)
    upload(world.bidder, DocumentKind.PRODUCTION_LICENCE)
    assert _refusal(world).code == "supplier_unqualified"


def test_an_expired_business_licence_cannot_seal(world: World) -> None:
    approve(
        upload(
            world.bidder,
            DocumentKind.BUSINESS_LICENCE,
            valid_from=today() - datetime.timedelta(days=400),
            valid_until=today() - datetime.timedelta(days=1),
        ),
        world.office,
    )
    approve(upload(world.bidder, DocumentKind.PRODUCTION_LICENCE), world.office)
    for kind in (DocumentKind.DRUG_REGISTRATION, DocumentKind.CONSISTENCY_EVALUATION):
        approve(upload(world.bidder, kind, product=world.bidder_20), world.office)
    refusal = _refusal(world)
    assert refusal.code == "supplier_unqualified"
    assert refusal.messages == [
        f"Your organization has no approved business licence valid on {today().isoformat()}."
    ]


def test_a_licence_valid_through_today_still_seals(world: World) -> None:
    qualify(world.bidder, world.office, [world.bidder_20], until=today())
    _seal(world)


def test_a_product_without_its_registration_certificate_cannot_seal(world: World) -> None:
    qualify(world.bidder, world.office, [world.bidder_40])  # not the 20 mg product
    refusal = _refusal(world)
    assert refusal.code == "product_unqualified"
    assert refusal.messages == [
        f"This product has no approved registration certificate valid on {today().isoformat()}."
    ]


def test_a_generic_without_consistency_evaluation_cannot_seal(world: World) -> None:
    approve(upload(world.bidder, DocumentKind.BUSINESS_LICENCE), world.office)
    approve(upload(world.bidder, DocumentKind.GMP), world.office)
    approve(
        upload(world.bidder, DocumentKind.DRUG_REGISTRATION, product=world.bidder_20), world.office
    )
    refusal = _refusal(world)
    assert refusal.code == "product_unqualified"
    assert "consistency-evaluation approval or originator status" in refusal.messages[0]


def test_a_qualified_bidder_seals(world: World) -> None:
    qualify(world.bidder, world.office, [world.bidder_20])
    receipt = _seal(world)
    assert receipt.version.bid.manufacturer == world.bidder.organization  # type: ignore[attr-defined]


def test_a_round_not_requiring_qualification_takes_any_bidder(world: World) -> None:
    RoundQualificationRule.objects.filter(round=world.round).update(required=False)
    _seal(world)
    assert Bid.objects.filter(manufacturer=world.bidder.organization).exists()


@pytest.mark.django_db
def test_new_rounds_require_qualification_by_default() -> None:
    """The setting's default (on) applies to a round without its own rule; the suite runs
    with it off (tests/conftest.py), so it is switched back on here."""
    from django.conf import settings as django_settings

    with override_settings(JICAI_QUALIFICATION_REQUIRED=True):
        built = build_world(code="T-2026-DEF")
        assert not RoundQualificationRule.objects.filter(round=built.round).exists()
        assert qualification_required(round_=built.round)
        with pytest.raises(ValidationError) as exc:
            _seal(built)
        assert exc.value.code == "supplier_unqualified"
    assert django_settings.JICAI_QUALIFICATION_REQUIRED is False


def test_the_bid_sheet_shows_why_an_unqualified_bidder_cannot_seal(world: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.bidder)
    from tests.bidding.test_pages import sheet_data

    response = client.post(
        reverse("bidding:sheet", args=[world.round.code]),
        sheet_data(world, price="1.9000", step="confirm"),
    )
    assert response.status_code == 422  # the sheet refused, with its lines' errors
    assert "has no approved business licence valid on" in response.content.decode()
    assert not Bid.objects.exists()
    assert world.round.status == Round.Status.BIDDING_OPEN


def test_the_round_page_tells_a_manufacturer_whether_it_may_bid(world: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.bidder)
    url = reverse("procurement:round", args=[world.round.code])
    body = client.get(url).content.decode()
    assert "Qualified bidders only" in body
    assert "has no approved business licence valid on" in body
    qualify(world.bidder, world.office, [])
    body = client.get(url).content.decode()
    assert "documents are approved and valid today" in body
    RoundQualificationRule.objects.filter(round=world.round).update(required=False)
    assert "does not check qualification documents" in client.get(url).content.decode()


@pytest.mark.django_db
def test_a_consumable_needs_its_medical_device_registration_certificate() -> None:
    from accounts.models import Organization
    from tests.bidding.conftest import make_consumable_round, stent_product
    from tests.factories import user_of

    office = user_of(Organization.Kind.OFFICE)
    maker = user_of(Organization.Kind.MANUFACTURER)
    round_item = make_consumable_round(office=office.organization)  # type: ignore[arg-type]
    RoundQualificationRule.objects.create(round=round_item.round, required=True)
    spec = round_item.item.specifications.get()
    stent = stent_product(maker.organization, spec, "A-1")  # type: ignore[arg-type]
    approve(upload(maker, DocumentKind.BUSINESS_LICENCE), office)
    approve(upload(maker, DocumentKind.PRODUCTION_LICENCE), office)
    # A drug registration certificate is not a device's.
    approve(upload(maker, DocumentKind.DRUG_REGISTRATION, product=stent), office)

    def seal() -> object:
        return bid_submit(
            round_item=round_item,
            specification=spec,
            product=stent,
            unit_price=D("700.0000"),
            annual_capacity=10000,
            by=maker,
        )

    with pytest.raises(ValidationError) as exc:
        seal()
    assert exc.value.code == "product_unqualified"
    approve(upload(maker, DocumentKind.DEVICE_REGISTRATION, product=stent), office)
    seal()  # no consistency evaluation for a consumable
    assert Bid.objects.filter(manufacturer=maker.organization).count() == 1

"""At the opening a bid counts only if its bidder and product were qualified on the day
of the bid deadline: a document that expired between sealing and the deadline makes the
bid invalid, with a published, translated reason."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from awards.problem import problem_build
from awards.reasons import MESSAGES as PLATFORM_REASONS
from bidding.models import OpenedBid
from bidding.services import bid_submit
from qualification.models import DocumentKind
from tests.bidding.conftest import World, move_clock
from tests.ceremony import open_bids as round_open_bids
from tests.qualification.conftest import approve, qualify, today, upload

D = Decimal


def _seal(world: World, user: object, product: object, price: str) -> None:
    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=product,  # type: ignore[arg-type]
        unit_price=D(price),
        annual_capacity=1000,
        by=user,  # type: ignore[arg-type]
    )


def _open_after(world: World, days: int) -> dict[int, OpenedBid]:
    """Move the deadline ``days`` ahead (the documents' validity is in days) and open."""
    round_ = move_clock(
        world.round,
        deadline_in=datetime.timedelta(days=days),
        opening_in=datetime.timedelta(days=days, hours=1),
    )
    later = timezone.now() + datetime.timedelta(days=days, hours=2)
    opening = round_open_bids(round_=round_, by=world.office, now=later)
    return {o.manufacturer_id: o for o in OpenedBid.objects.filter(opening=opening)}


def test_a_licence_expiring_between_sealing_and_the_deadline_invalidates_the_bid(
    world: World,
) -> None:
    # The bidder's business licence expires in 2 days; the rival's lasts a year.
    qualify(world.bidder, world.office, [world.bidder_20], until=today() + datetime.timedelta(2))
    qualify(world.rival, world.office, [world.rival_20])
    _seal(world, world.bidder, world.bidder_20, "1.9000")  # qualified when sealed
    _seal(world, world.rival, world.rival_20, "1.9500")
    opened = _open_after(world, days=5)  # the deadline is after the expiry
    mine = opened[world.bidder.organization.pk]  # type: ignore[union-attr]
    rival = opened[world.rival.organization.pk]  # type: ignore[union-attr]
    assert (mine.validity, mine.reasons) == ("invalid", ["supplier_unqualified"])
    assert mine.unit_price == D("1.9000")  # opened and published all the same
    assert (rival.validity, rival.reasons) == ("valid", [])
    with translation.override("en"):
        assert mine.reason_labels == [
            "Bidder not qualified: documents not approved or expired by the bid deadline"
        ]
    with translation.override("zh-hans"):
        (label,) = mine.reason_labels
        assert "资质" in label
    # Published on the public opening page, in both languages.
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(
        reverse("bidding:opening", args=[world.round.code])
    )
    assert "Bidder not qualified" in page.content.decode()
    # The evaluation never awards it: ineligible with the platform's reason.
    world.round.refresh_from_db()
    built = problem_build(round_=world.round, rule_set=world.round.rule_set)
    assert built.ineligible == {mine.pk: "bidder_not_qualified"}
    with translation.override("zh-hans"):
        assert "资质" in str(PLATFORM_REASONS["bidder_not_qualified"])


def test_a_product_certificate_expired_by_the_deadline_is_its_own_reason(world: World) -> None:
    approve(upload(world.bidder, DocumentKind.BUSINESS_LICENCE), world.office)
    approve(upload(world.bidder, DocumentKind.PRODUCTION_LICENCE), world.office)
    approve(
        upload(
            world.bidder,
            DocumentKind.DRUG_REGISTRATION,
            product=world.bidder_20,
            valid_until=today() + datetime.timedelta(days=1),
        ),
        world.office,
    )
    approve(
        upload(world.bidder, DocumentKind.CONSISTENCY_EVALUATION, product=world.bidder_20),
        world.office,
    )
    _seal(world, world.bidder, world.bidder_20, "1.9000")
    mine = _open_after(world, days=3)[world.bidder.organization.pk]  # type: ignore[union-attr]
    assert (mine.validity, mine.reasons) == ("invalid", ["product_unqualified"])


def test_documents_valid_on_the_deadline_day_keep_the_bid_valid(world: World) -> None:
    qualify(world.bidder, world.office, [world.bidder_20], until=today() + datetime.timedelta(5))
    _seal(world, world.bidder, world.bidder_20, "1.9000")
    mine = _open_after(world, days=0)[world.bidder.organization.pk]  # type: ignore[union-attr]
    assert (mine.validity, mine.reasons) == ("valid", [])


def test_the_reason_codes_are_the_openings(world: World) -> None:
    from qualification.selectors import PRODUCT_UNQUALIFIED, SUPPLIER_UNQUALIFIED

    assert {SUPPLIER_UNQUALIFIED, PRODUCT_UNQUALIFIED} <= set(OpenedBid.Reason.values)

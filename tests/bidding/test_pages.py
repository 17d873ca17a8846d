"""The pages as a bidder and the office use them: bid sheet, confirmation, receipts,
withdrawal, submission status, the opening and the public record."""

from __future__ import annotations

import datetime
import html
import json
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse

from bidding import sealing
from bidding.models import Bid, BidVersion, DecryptionAudit, OpenedBid
from bidding.services import bid_submit
from tests.bidding.conftest import World, move_clock, past_opening
from tests.ceremony import open_bids as round_open_bids

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def sheet_data(world: World, price: str = "1.9876", capacity: str = "120000", **extra) -> dict:
    key = f"{world.round_item.pk}-{world.spec20.pk}"
    data = {
        f"{key}-product": str(world.bidder_20.pk),
        f"{key}-unit_price": price,
        f"{key}-annual_capacity": capacity,
    }
    data.update(extra)
    return data


def test_bid_sheet_lists_every_specification_with_own_eligible_products(world: World) -> None:
    response = client_for(world.bidder).get(reverse("bidding:sheet", args=[world.round.code]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "20mg" in body and "40mg" in body
    assert "2.1200" in body  # the (public) ceiling
    assert world.bidder_20.name_en in body
    assert world.bidder_ineligible_20.name_en not in body  # ineligible: not offered
    assert world.rival_20.name_en not in body


def test_review_shows_exactly_what_will_be_sealed_and_stores_nothing(world: World) -> None:
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    response = client.post(url, sheet_data(world, price="2.5000", step="review"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Confirm your bids" in body
    assert "2.5000" in body and "120,000" in body
    assert "judged invalid at the opening" in body  # above the ceiling: warned first
    assert not Bid.objects.exists()
    response = client.post(url, sheet_data(world, price="2.5000", step="confirm"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    version = BidVersion.objects.get()
    assert version.action == "submit"
    page = response.content.decode()
    assert version.receipt_hash in page
    assert "1 bid sealed. Download its receipt now" in page
    assert "2.5000" in page  # the full receipt, shown this once
    # Afterwards the platform cannot show the price any more.
    later = client.get(reverse("bidding:round-bids", args=[world.round.code])).content.decode()
    assert version.receipt_hash in later and "2.5000" not in later


def test_bid_sheet_posts_are_hidden_from_error_reports(world: World) -> None:
    response = client_for(world.bidder).post(
        reverse("bidding:sheet", args=[world.round.code]), sheet_data(world, step="review")
    )
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"


def test_inline_validation_reports_errors_per_line(world: World) -> None:
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    response = client.post(
        url, sheet_data(world, price="1.23456", capacity="", step="check"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "1 line has errors" in body
    assert "“1.23456” has more than 4 decimal places." in body
    assert "Enter the annual supply capacity." in body
    assert "<html" not in body  # a partial for htmx
    key = f"{world.round_item.pk}-{world.spec20.pk}"
    assert f'<div id="check-{key}" hx-swap-oob="true"' in body
    assert "Needs correction" in body
    warned = client.post(
        url, sheet_data(world, price="2.5000", step="check"), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "judged invalid at the opening" in warned.split(f'id="check-{key}"')[1]
    response = client.post(url, sheet_data(world, price="1.23456", step="review"))
    assert response.status_code == 422
    assert not Bid.objects.exists()


def test_a_sheet_left_blank_seals_nothing(world: World) -> None:
    """The server cannot compare with a sealed bid, so a row left blank is what keeps a
    bid as it is (re-entering a price is a revision)."""
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    client.post(url, sheet_data(world, step="confirm"))
    response = client.post(url, sheet_data(world, price="", capacity="", step="review"))
    assert response.status_code == 422
    assert "Nothing to seal" in response.content.decode()
    assert BidVersion.objects.count() == 1


def test_revising_on_the_sheet_creates_a_new_version(world: World) -> None:
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    client.post(url, sheet_data(world, step="confirm"))
    page = client.get(url).content.decode()
    assert "1.9876" not in page  # sealed: not even its owner reads it back from the server
    assert not DecryptionAudit.objects.exists()
    client.post(url, sheet_data(world, price="1.5000", step="confirm"))
    bid = Bid.objects.get()
    assert bid.current_version == 2
    assert list(bid.versions.values_list("action", flat=True)) == ["submit", "revise"]


def test_confirmation_after_the_deadline_is_refused(world: World) -> None:
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    review = client.post(url, sheet_data(world, step="review"))
    assert review.status_code == 200
    move_clock(
        world.round,
        deadline_in=-datetime.timedelta(seconds=1),
        opening_in=datetime.timedelta(hours=1),
    )
    response = client.post(url, sheet_data(world, step="confirm"))
    assert response.status_code == 200
    assert "This round is not open for bidding" in response.content.decode()
    assert not Bid.objects.exists()


def test_bid_page_withdraw_and_receipt_download(world: World) -> None:
    client = client_for(world.bidder)
    sealed = client.post(
        reverse("bidding:sheet", args=[world.round.code]), sheet_data(world, step="confirm")
    ).content.decode()
    bid = Bid.objects.get()
    version = bid.versions.get()
    # At submission: the full receipt, downloadable, verifying against the stored hash.
    embedded = sealed.split('<pre class="receipt-json">')[1].split("</pre>")[0]
    document = json.loads(html.unescape(embedded))
    assert document["content"]["unit_price"] == "1.9876"
    assert sealing.receipt_verify(document, expected_hash=version.receipt_hash)
    assert 'download="receipt-' in sealed and "data:application/json" in sealed
    # Afterwards: sealed, for its owner too, and nothing is decrypted.
    page = client.get(reverse("bidding:bid-detail", args=[bid.pk])).content.decode()
    assert "1.9876" not in page and "120,000" not in page
    assert "Sealed: nobody, the platform included" in page
    assert not DecryptionAudit.objects.exists()
    download = client.get(reverse("bidding:receipt-download", args=[version.pk]))
    assert download["Content-Disposition"].startswith("attachment;")
    record = json.loads(download.content)
    assert record["content"]["unit_price"] == "sealed"
    assert record["hash"] == version.receipt_hash
    assert "no-store" in download["Cache-Control"]
    response = client.post(reverse("bidding:withdraw", args=[bid.pk]))
    assert response.status_code == 200
    bid.refresh_from_db()
    assert bid.status == "withdrawn"
    assert "Your bid is withdrawn." in response.content.decode()


def test_office_sees_who_submitted_opens_bids_and_public_sees_the_record(world: World) -> None:
    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=Decimal("1.9876"),
        annual_capacity=100,
        by=world.bidder,
    )
    office = client_for(world.office)
    status = office.get(reverse("bidding:round-status", args=[world.round.code])).content.decode()
    assert world.bidder.organization.name_en in status
    assert world.rival.organization.name_en not in status
    assert "1.9876" not in status
    assert "Opening ceremony" in status
    early = office.post(reverse("bidding:open", args=[world.round.code]))
    assert early["Location"] == reverse("bidding:ceremony", args=[world.round.code])
    assert not OpenedBid.objects.exists()
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)  # two officials (test_ceremony.py)
    response = office.get(reverse("bidding:ceremony", args=[world.round.code]))
    assert "The bids of this round are opened." in response.content.decode()
    record_url = reverse("bidding:opening", args=[world.round.code])
    public = Client(HTTP_ACCEPT_LANGUAGE="en").get(record_url).content.decode()
    opened = OpenedBid.objects.get()
    assert "1.9876" in public
    assert opened.receipt_hash in public
    assert "Valid" in public
    listing = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("bidding:openings")).content.decode()
    assert world.round.code in listing
    csv = Client().get(reverse("bidding:opening-csv", args=[world.round.code])).content.decode()
    assert opened.receipt_hash in csv and "1.9876" in csv


def test_other_office_cannot_see_the_status_of_a_round(world: World) -> None:
    from tests.factories import user_of

    other = user_of("office")
    response = client_for(other).get(reverse("bidding:round-status", args=[world.round.code]))
    assert response.status_code == 404
    assert (
        client_for(other).post(reverse("bidding:open", args=[world.round.code])).status_code == 404
    )


def test_opening_record_before_the_opening_shows_only_the_time(world: World) -> None:
    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=Decimal("1.9876"),
        annual_capacity=100,
        by=world.bidder,
    )
    body = (
        Client(HTTP_ACCEPT_LANGUAGE="en")
        .get(reverse("bidding:opening", args=[world.round.code]))
        .content.decode()
    )
    assert "have not been opened yet" in body
    assert BidVersion.objects.get().receipt_hash not in body


def _render_panel(template: str, user, round_=None) -> str:
    request = RequestFactory().get("/")
    request.user = user
    with_round = {"round": round_} if round_ is not None else {}
    return Template(template).render(Context({"request": request, **with_round}))


def test_round_panel_renders_for_every_role(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser
    from django.utils.translation import override

    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=Decimal("1.9876"),
        annual_capacity=100,
        by=world.bidder,
    )
    panel = '{% include "bidding/_round_panel.html" %}'
    with override("en"):
        office = _render_panel(panel, world.office, world.round)
        assert world.bidder.organization.name_en in office
        for user in (world.hospital, world.rival, AnonymousUser()):
            html = _render_panel(panel, user, world.round)
            assert "Bid deadline" in html
            assert world.bidder.organization.name_en not in html
            assert "1.9876" not in html
        maker = _render_panel('{% include "bidding/_manufacturer_panel.html" %}', world.bidder)
        assert world.round.code in maker
        assert "You have 1 live bid." in maker


def test_the_sheet_reads_full_width_digits_and_thousands_separators(world: World) -> None:
    client = client_for(world.bidder)
    url = reverse("bidding:sheet", args=[world.round.code])
    response = client.post(
        url, sheet_data(world, price="１．２３４５", capacity="1,200,000", step="confirm")
    )
    # The page that confirms the seal is the only one that shows the sealed terms.
    assert response.status_code == 200
    assert Bid.objects.count() == 1
    page = response.content.decode()
    assert "1.2345" in page and ("1,200,000" in page or "1200000" in page)
    refused = client.post(url, sheet_data(world, capacity="1e6", step="review"))
    assert refused.status_code == 422
    assert "“1e6”: write the number in full, without an exponent." in refused.content.decode()

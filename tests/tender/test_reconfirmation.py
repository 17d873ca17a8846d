"""Which bids an amendment touches, and since when: the selectors the opening calls.

The bidding side (issue 13: the bid log with its ``reconfirm`` action) decides whether a
bid counts; here the tender side says, per item and specification, the moment after
which a bid must have been submitted, revised or re-confirmed. The last test goes as far
as the tender side can: it compares the sealed bids' server times of today's bidding app
with that moment; the lead completes it with the opening's count once the bid log is in.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from bidding.models import Bid, BidVersion, OpenedBid
from bidding.services import bid_revise, bid_submit
from catalog.models import Product
from tender.selectors import reconfirmation_index, reconfirmation_required_since
from tender.services import AmendmentDraft, amendment_publish
from tests.bidding.conftest import past_opening
from tests.ceremony import open_bids
from tests.tender.conftest import Published

pytestmark = pytest.mark.django_db
D = Decimal


def _since(published: Published) -> dict[str, datetime.datetime | None]:
    return {
        "atv10": reconfirmation_required_since(
            round_item=published.atv, specification=published.atv10
        ),
        "atv20": reconfirmation_required_since(
            round_item=published.atv, specification=published.atv20
        ),
        "atv": reconfirmation_required_since(round_item=published.atv),
        "clo75": reconfirmation_required_since(
            round_item=published.clo, specification=published.clo75
        ),
        "clo": reconfirmation_required_since(round_item=published.clo),
    }


def _index(published: Published) -> dict[str, datetime.datetime | None]:
    index = reconfirmation_index(round_=published.round)
    return {
        "atv10": index.since(published.atv.pk, published.atv10.pk),
        "atv20": index.since(published.atv.pk, published.atv20.pk),
        "atv": index.since(published.atv.pk),
        "clo75": index.since(published.clo.pk, published.clo75.pk),
        "clo": index.since(published.clo.pk),
    }


def test_without_an_amendment_nothing_needs_reconfirmation(published: Published) -> None:
    assert set(_since(published).values()) == {None}
    assert set(_index(published).values()) == {None}


def test_a_ceiling_touches_its_specification_only(published: Published) -> None:
    at = timezone.now()
    amendment_publish(
        round_=published.round,
        by=published.office,
        draft=AmendmentDraft(
            reason="20mg 最高有效申报价调整",
            ceilings={(published.atv.pk, published.atv20.pk): D("2.2")},
        ),
        now=at,
    )
    expected = {"atv10": None, "atv20": at, "atv": at, "clo75": None, "clo": None}
    assert _since(published) == expected
    assert _index(published) == expected


def test_a_reference_price_touches_nothing(published: Published) -> None:
    amendment_publish(
        round_=published.round,
        by=published.office,
        draft=AmendmentDraft(reason="参考价", reference_prices={published.atv.pk: D("6")}),
    )
    assert set(_since(published).values()) == {None}


def test_the_contract_start_touches_every_item_and_the_latest_amendment_counts(
    published: Published,
) -> None:
    first = timezone.now()
    amendment_publish(
        round_=published.round,
        by=published.office,
        draft=AmendmentDraft(
            reason="氯吡格雷",
            ceilings={(published.clo.pk, published.clo75.pk): D("2.4")},
        ),
        now=first,
    )
    second = first + datetime.timedelta(minutes=5)
    round_ = published.refresh()
    amendment_publish(
        round_=round_,
        by=published.office,
        draft=AmendmentDraft(
            reason="合同起始日推迟",
            timetable={"contract_starts_on": round_.contract_starts_on + datetime.timedelta(30)},
        ),
        now=second,
    )
    expected = {k: second for k in ("atv10", "atv20", "atv", "clo75", "clo")}
    assert _since(published) == expected
    assert _index(published) == expected


def _bid(published: Published, maker_field: str, spec_field: str, price: str) -> Bid:
    maker = getattr(published, maker_field)
    spec = getattr(published, spec_field)
    product = Product.objects.get(manufacturer=maker.organization, specification=spec)
    receipt = bid_submit(
        round_item=published.atv if spec.item_id == published.atv.item_id else published.clo,
        specification=spec,
        product=product,
        unit_price=D(price),
        annual_capacity=1_000_000,
        by=maker,
    )
    return receipt.version.bid


def _needs_reconfirmation(bid: Bid) -> bool:
    """The tender side of "not counted until re-confirmed": the bid's latest version was
    sealed before the latest material amendment touching its line."""
    since = reconfirmation_required_since(
        round_item=bid.round_item, specification=bid.specification
    )
    latest = BidVersion.objects.filter(bid=bid).order_by("-number").first()
    assert latest is not None
    return since is not None and latest.server_time < since


def test_an_affected_bid_needs_reconfirmation_and_an_unaffected_one_does_not(
    published: Published,
) -> None:
    affected = _bid(published, "maker", "atv20", "0.9000")
    rival = _bid(published, "rival", "atv20", "1.0000")
    unaffected = _bid(published, "maker", "clo75", "1.5000")
    amendment_publish(
        round_=published.round,
        by=published.office,
        draft=AmendmentDraft(
            reason="20mg 最高有效申报价调整",
            ceilings={(published.atv.pk, published.atv20.pk): D("2.2")},
        ),
        now=timezone.now() + datetime.timedelta(seconds=1),
    )
    assert _needs_reconfirmation(affected)
    assert _needs_reconfirmation(rival)
    assert not _needs_reconfirmation(unaffected)
    # Revising (here: today's revision; the bid log's "reconfirm" action later) after the
    # amendment makes the bid count again; the rival's stays waiting.
    product = Product.objects.get(
        manufacturer=published.maker.organization, specification=published.atv20
    )
    with pytest.MonkeyPatch.context() as patch:
        later = timezone.now() + datetime.timedelta(seconds=2)
        patch.setattr("django.utils.timezone.now", lambda: later)
        bid_revise(
            bid=affected,
            product=product,
            unit_price=D("0.9000"),
            annual_capacity=1_000_000,
            by=published.maker,
        )
    assert not _needs_reconfirmation(affected)
    assert _needs_reconfirmation(rival)


def test_the_opening_does_not_count_an_affected_bid_until_it_is_re_confirmed(
    published: Published,
) -> None:
    """Issue 17: an amendment touches the 20 mg line; the maker re-confirms, the rival does
    not, the 75 mg bid is not touched. At the opening the rival's bid is invalid with the
    reason, the other two count, and every other field of the rival's is still opened."""
    reconfirmed = _bid(published, "maker", "atv20", "0.9000")
    stale = _bid(published, "rival", "atv20", "1.0000")
    untouched = _bid(published, "maker", "clo75", "1.5000")
    amendment_publish(
        round_=published.round,
        by=published.office,
        draft=AmendmentDraft(
            reason="20mg 最高有效申报价调整",
            ceilings={(published.atv.pk, published.atv20.pk): D("2.2")},
        ),
        now=timezone.now() + datetime.timedelta(seconds=1),
    )
    product = Product.objects.get(
        manufacturer=published.maker.organization, specification=published.atv20
    )
    with pytest.MonkeyPatch.context() as patch:
        later = timezone.now() + datetime.timedelta(seconds=2)
        patch.setattr("django.utils.timezone.now", lambda: later)
        bid_revise(
            bid=reconfirmed,
            product=product,
            unit_price=D("0.9000"),
            annual_capacity=1_000_000,
            by=published.maker,
        )
    opening = open_bids(round_=past_opening(published.refresh()), by=published.office)
    opened = {o.bid_id: o for o in OpenedBid.objects.filter(opening=opening)}
    assert (opened[stale.pk].validity, opened[stale.pk].reasons) == (
        OpenedBid.Validity.INVALID,
        ["not_reconfirmed"],
    )
    assert opened[stale.pk].unit_price == D("1.0000")  # opened and published, not counted
    assert (opened[reconfirmed.pk].validity, opened[reconfirmed.pk].reasons) == (
        OpenedBid.Validity.VALID,
        [],
    )
    assert opened[reconfirmed.pk].version.number == 2
    assert (opened[untouched.pk].validity, opened[untouched.pk].reasons) == (
        OpenedBid.Validity.VALID,
        [],
    )
    assert "Not re-confirmed" in opened[stale.pk].reason_labels[0]

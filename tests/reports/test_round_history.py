"""The office's round history (``reports:round-history``): every question, answer,
amendment and signature of the round, oldest first; office only; sealed terms stay sealed;
a page costs the same number of queries whatever the number of bids."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from bidding.services import bid_submit
from bidding.services.terms import product_code
from bidding.signatures import bid_signed_content
from contracts.models import ContractSignature
from procurement.models import Round
from reports import history
from tender.services import amendment_publish, clarification_answer, clarification_ask
from tender.services.amendments import AmendmentDraft
from tender.services.documents import document_publish
from tests.bidding.conftest import World, build_world, drug_product
from tests.factories import user_of
from tests.signing.keys import BrowserKey, browser_key
from tests.signing.test_contracts import _confirm, _signed_round

pytestmark = pytest.mark.django_db

SEALED_PRICE = "3.7183"
QUESTION = "Is delivery to county hospitals included?"
ANSWER = "Yes, to every hospital of the province."


def _sign(world: World, user: User, key: BrowserKey, product, price: str, capacity: int):  # type: ignore[no-untyped-def]
    return key.sign(
        bid_signed_content(
            round_code=world.round.code,
            manufacturer_code=user.organization.social_credit_code,
            item_code=world.item.code,
            specification_code=world.spec20.code,
            product_code=product_code(product),
            version=1,
            unit_price=Decimal(price),
            annual_capacity=capacity,
        )
    )


def _seal(world: World, user: User, product, *, price: str = SEALED_PRICE, capacity: int = 987654):  # type: ignore[no-untyped-def]
    key = browser_key(user)
    return key, bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=product,
        unit_price=Decimal(price),
        annual_capacity=capacity,
        by=user,
        signature=_sign(world, user, key, product, price, capacity),
    )


@pytest.fixture
def world(db: None) -> World:
    built = build_world()
    Round.objects.filter(pk=built.round.pk).update(signatures_required=True)
    built.round.refresh_from_db()
    document_publish(round_=built.round, by=built.office, now=timezone.now())
    return built


def _office(world: World) -> Client:
    client = Client()
    client.force_login(world.office)
    return client


def _page(client: Client, world: World, language: str = "en", **params: str) -> str:
    response = client.get(
        reverse("reports:round-history", args=[world.round.code]),
        params,
        headers={"accept-language": language},
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_office_sees_question_answer_amendment_and_signed_bid_but_no_sealed_price(
    world: World,
) -> None:
    key, _ = _seal(world, world.bidder, world.bidder_20)
    question = clarification_ask(round_=world.round, by=world.rival, question=QUESTION)
    clarification_answer(clarification=question, by=world.office, answer=ANSWER)
    amendment_publish(
        round_=world.round,
        by=world.office,
        draft=AmendmentDraft(
            reason="参考价更正",
            reason_en="Reference price corrected",
            reference_prices={world.round_item.pk: Decimal("7.25")},
        ),
    )
    page = _page(_office(world), world)
    assert QUESTION in page and ANSWER in page
    assert world.rival.organization.display_name in page  # the office sees the asker
    assert "Amendment No. 1" in page and "Reference price corrected" in page and "7.25" in page
    assert "Bid version 1 sealed" in page
    assert key.key.short_fingerprint in page and "signed" in page
    assert SEALED_PRICE not in page and "987654" not in page and "987,654" not in page
    assert world.bidder_20.display_name not in page  # the product neither
    # Oldest first: the bid, then the question, its answer, the amendment.
    positions = [
        page.index(text) for text in ("Bid version 1", QUESTION, ANSWER, "Amendment No. 1")
    ]
    assert positions == sorted(positions)
    zh = _page(_office(world), world, "zh-hans")
    assert QUESTION in zh and key.key.short_fingerprint in zh and SEALED_PRICE not in zh
    with translation.override("zh-hans"):
        assert "补遗" in zh


def test_only_the_rounds_office_may_see_it(world: World) -> None:
    url = reverse("reports:round-history", args=[world.round.code])
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    for user in (world.bidder, world.hospital):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == 403
    other_office = Client()
    other_office.force_login(user_of(world.office.organization.kind))
    assert other_office.get(url).status_code == 404


def test_a_page_costs_the_same_queries_whatever_the_number_of_bids(world: World) -> None:
    client = _office(world)
    _seal(world, world.bidder, world.bidder_20)
    client.get(reverse("reports:round-history", args=[world.round.code]))  # warm caches
    with CaptureQueriesContext(connection) as few:
        _page(client, world)
    for _ in range(6):
        maker = user_of(world.bidder.organization.kind)
        product = drug_product(maker.organization, world.spec20)
        _seal(world, maker, product, price="3.1")
    with CaptureQueriesContext(connection) as many:
        page = _page(client, world)
    assert page.count("Bid version 1 sealed") == 7
    assert len(many.captured_queries) == len(few.captured_queries)


def test_pages_follow_on_by_cursor(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        question = clarification_ask(round_=world.round, by=world.rival, question=f"Question {n}?")
        clarification_answer(clarification=question, by=world.office, answer=f"Answer {n}.")
    everything = [
        (e.kind, e.key) for e in history.round_history(round_=world.round, cursor=None).events
    ]
    monkeypatch.setattr(history, "PAGE", 2)
    seen: list[tuple[str, int]] = []
    cursor = None
    for _ in range(len(everything)):
        page = history.round_history(round_=world.round, cursor=cursor)
        assert len(page.events) <= 2
        seen += [(e.kind, e.key) for e in page.events]
        if page.next_cursor is None:
            break
        cursor = history.Cursor.decode(page.next_cursor)
    assert seen == everything  # every event once, in the same order
    client = _office(world)
    first = _page(client, world)
    assert "Later events" in first and "First page" not in first
    next_cursor = history.round_history(round_=world.round, cursor=None).next_cursor
    assert next_cursor is not None
    second = _page(client, world, after=next_cursor)
    assert "First page" in second
    assert first.count('<tr class="history-') == second.count('<tr class="history-') == 2
    # A cursor that is not one is the first page, never an error.
    assert "Later events" in _page(client, world, after="garbage~x~y")


def test_signed_contract_confirmations_appear_with_signer_and_fingerprint(
    django_capture_on_commit_callbacks,
) -> None:
    built, contract = _signed_round(django_capture_on_commit_callbacks)
    hospital = built.hospitals[0]
    key = browser_key(hospital)
    _confirm(contract, hospital, key, "hospital")
    assert ContractSignature.objects.filter(contract=contract).count() == 1
    office = User.objects.filter(organization=built.round.office).first()
    assert office is not None
    client = Client()
    client.force_login(office)
    response = client.get(
        reverse("reports:round-history", args=[built.round.code]),
        headers={"accept-language": "en"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Contract confirmation signed" in page
    assert contract.number in page and key.key.short_fingerprint in page
    assert hospital.username in page

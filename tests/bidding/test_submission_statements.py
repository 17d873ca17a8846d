"""On PostgreSQL: the SQL statements one bid costs (issue 16, "Bid submission under load").

A new bid through the API is at most 5 statements, counted over the whole request from
its first statement (token authentication) to its last, besides the one transaction's
``BEGIN`` and ``COMMIT`` (the deadline checks are no statements: they read the server's
clock). Each statement is named in docs/sealed-bidding.md, "What one bid costs".
Before: 21 (and the transaction's two), then 6. A signed bid (docs/signatures.md) costs one
more, the signing key by its fingerprint, read before anything is written: at most 6.
The last statement of a new bid carries its COMMIT (one round trip), except inside an
enclosing transaction, which then decides alone; the bid's statements are prepared.
"""

from __future__ import annotations

import base64
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from bidding import sealing
from bidding.models import Bid, BidLogEntry, BidLogHead, BidVersion
from bidding.services import BidLine, bid_sheet_submit, bid_submit
from bidding.services.terms import product_code
from bidding.signatures import bid_signed_content
from procurement.models import Round, RoundItem
from qualification.models import RoundQualificationRule
from tests.bidding.conftest import World, build_world
from tests.factories import api_token_for
from tests.signing.keys import BrowserKey, browser_key

pytestmark = pytest.mark.postgresql  # the production statement path (FOR SHARE, ON CONFLICT)

NEW_BID_BUDGET = 5
REVISION_BUDGET = 9
SIGNED_NEW_BID_BUDGET = NEW_BID_BUDGET + 1  # the signing key by its fingerprint
SIGNED_REVISION_BUDGET = REVISION_BUDGET + 1


def _client(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def _conninfo() -> str:
    settings = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )


def _sql(context: CaptureQueriesContext) -> str:
    return "\n".join(f"{i + 1}. {q['sql'][:300]}" for i, q in enumerate(context.captured_queries))


def _statements(context: CaptureQueriesContext) -> list[str]:
    """The request's SQL statements; its transaction is exactly one BEGIN .. COMMIT."""
    sql = [q["sql"] for q in context.captured_queries]
    assert [s for s in sql if s.startswith(TRANSACTION_CONTROL)] == ["BEGIN", "COMMIT"], _sql(
        context
    )
    return [s for s in sql if not s.startswith(TRANSACTION_CONTROL)]


@pytest.mark.django_db(transaction=True)
def test_a_new_bid_and_a_revision_stay_within_their_statement_budget() -> None:
    world = build_world(code="SQL-BUDGET")
    client = _client(world.bidder)
    # Warm up what a long-running worker has cached (content types, the first bid of the
    # round, which may create the round's key): the budget is the steady state.
    warm = client.post(
        reverse("api-bids"),
        {
            "round": world.round.code,
            "item": world.item.code,
            "specification": "40MG",
            "product": world.bidder_40.pk,
            "unit_price": "3.1000",
            "annual_capacity": 1000,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="warm-up",
    )
    assert warm.status_code == 201, warm.content

    with CaptureQueriesContext(connection) as new_bid:
        response = client.post(
            reverse("api-bids"),
            {
                "round": world.round.code,
                "item": world.item.code,
                "specification": "20MG",
                "product": world.bidder_20.pk,
                "unit_price": "1.9876",
                "annual_capacity": 250000,
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="budget-new",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert sealing.receipt_verify(body["receipt"])
    assert body["receipt"]["log"]["position"] == 1 and body["version"] == 1
    statements = _statements(new_bid)
    assert len(statements) <= NEW_BID_BUDGET, _sql(new_bid)
    # The log entry and head go with the COMMIT (the head's row lock is released one round
    # trip sooner); the head was locked by the insert before it (no statement of its own).
    assert statements[-1].rstrip().endswith("; COMMIT"), _sql(new_bid)
    assert "bidding_bidlogentry" in statements[-1], _sql(new_bid)
    assert "FOR UPDATE" in statements[-2] and "bidding_bidversion" in statements[-2]
    # Committed for real: another connection sees the version and the head it moved.
    with psycopg.connect(_conninfo()) as other:
        version_row = other.execute(
            "SELECT count(*) FROM bidding_bidversion WHERE idempotency_key = 'budget-new'"
        ).fetchone()
        head_row = other.execute(
            "SELECT size FROM bidding_bidloghead WHERE round_id = %s", [world.round.pk]
        ).fetchone()
    assert version_row == (1,) and head_row == (2,)
    # Prepared on this connection: the target join, the round lock and the insert.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE NOT from_sql "
            "AND (statement LIKE '%%bidding_bidversion%%' OR statement LIKE '%%FOR SHARE%%' "
            "OR statement LIKE '%%catalog_product%%')"
        )
        prepared = [row[0] for row in cursor.fetchall()]
    assert len(prepared) >= 3, prepared

    with CaptureQueriesContext(connection) as revision:
        revised = client.post(
            reverse("api-bid-revise", args=[body["bid"]]),
            {"product": world.bidder_20.pk, "unit_price": "1.9000", "annual_capacity": 260000},
            format="json",
            HTTP_IDEMPOTENCY_KEY="budget-revise",
        )
    assert revised.status_code == 201, revised.content
    assert revised.json()["version"] == 2
    assert revised.json()["receipt"]["log"]["position"] == 2
    assert len(_statements(revision)) <= REVISION_BUDGET, _sql(revision)

    # Replaying either costs no write and returns the first receipt.
    again = client.post(
        reverse("api-bids"),
        {
            "round": world.round.code,
            "item": world.item.code,
            "specification": "20MG",
            "product": world.bidder_20.pk,
            "unit_price": "1.9876",
            "annual_capacity": 250000,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="budget-new",
    )
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["receipt"]["hash"] == body["receipt"]["hash"]
    assert Bid.objects.filter(round=world.round).count() == 2
    assert BidVersion.objects.filter(bid__round=world.round).count() == 3
    assert list(
        BidLogEntry.objects.filter(round=world.round)
        .order_by("position")
        .values_list("position", "version_number")
    ) == [(0, 1), (1, 1), (2, 2)]


def _signature(
    world: World, key: BrowserKey, *, price: str, capacity: int, version: int
) -> dict[str, str]:
    """The API's signature field: ``key`` over the 20MG bid's content for ``version``."""
    signed = key.sign(
        bid_signed_content(
            round_code=world.round.code,
            manufacturer_code=world.bidder.organization.social_credit_code,
            item_code=world.item.code,
            specification_code=world.spec20.code,
            product_code=product_code(world.bidder_20),
            version=version,
            unit_price=Decimal(price),
            annual_capacity=capacity,
        )
    )
    return {"key": signed.key, "value": base64.b64encode(signed.value).decode("ascii")}


@pytest.mark.django_db(transaction=True)
def test_a_signed_bid_costs_one_statement_more_and_a_bad_one_writes_nothing() -> None:
    """In a round that requires signatures: the round lock's statement reads the
    requirement with the round row, the key is the one statement more; a bad signature
    is refused before the bid, its version or the log is written."""
    world = build_world(code="SQL-SIGNED")
    client = _client(world.bidder)
    warm = client.post(
        reverse("api-bids"),
        {
            "round": world.round.code,
            "item": world.item.code,
            "specification": "40MG",
            "product": world.bidder_40.pk,
            "unit_price": "3.1000",
            "annual_capacity": 1000,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="warm-up",
    )
    assert warm.status_code == 201, warm.content
    Round.objects.filter(pk=world.round.pk).update(signatures_required=True)
    key = browser_key(world.bidder)
    bid = {
        "round": world.round.code,
        "item": world.item.code,
        "specification": "20MG",
        "product": world.bidder_20.pk,
        "unit_price": "1.9876",
        "annual_capacity": 250000,
    }

    other_price = _signature(world, key, price="1.9000", capacity=250000, version=1)
    refused = client.post(
        reverse("api-bids"),
        {**bid, "signature": other_price},
        format="json",
        HTTP_IDEMPOTENCY_KEY="signed-bad",
    )
    assert refused.status_code == 400 and refused.json()["code"] == "bad_signature"
    unsigned = client.post(
        reverse("api-bids"), bid, format="json", HTTP_IDEMPOTENCY_KEY="signed-none"
    )
    assert unsigned.status_code == 400 and unsigned.json()["code"] == "signature_required"
    assert Bid.objects.filter(round=world.round).count() == 1  # the warm-up's only
    assert BidVersion.objects.filter(bid__round=world.round).count() == 1
    assert BidLogEntry.objects.filter(round=world.round).count() == 1

    signature = _signature(world, key, price="1.9876", capacity=250000, version=1)
    with CaptureQueriesContext(connection) as new_bid:
        response = client.post(
            reverse("api-bids"),
            {**bid, "signature": signature},
            format="json",
            HTTP_IDEMPOTENCY_KEY="signed-new",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert sealing.receipt_verify(body["receipt"])
    assert body["receipt"]["signature"]["key"] == key.key.fingerprint
    assert body["receipt"]["log"]["position"] == 1 and body["version"] == 1
    statements = _statements(new_bid)
    assert len(statements) <= SIGNED_NEW_BID_BUDGET, _sql(new_bid)
    assert sum("accounts_signingkey" in s for s in statements) == 1, _sql(new_bid)
    version = BidVersion.objects.get(bid_id=body["bid"], number=1)
    assert version.signing_key_id == key.key.pk and bytes(version.signature)

    revision_signature = _signature(world, key, price="1.9000", capacity=260000, version=2)
    with CaptureQueriesContext(connection) as revision:
        revised = client.post(
            reverse("api-bid-revise", args=[body["bid"]]),
            {
                "product": world.bidder_20.pk,
                "unit_price": "1.9000",
                "annual_capacity": 260000,
                "signature": revision_signature,
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="signed-revise",
        )
    assert revised.status_code == 201, revised.content
    assert revised.json()["version"] == 2
    assert revised.json()["receipt"]["signature"]["key"] == key.key.fingerprint
    assert len(_statements(revision)) <= SIGNED_REVISION_BUDGET, _sql(revision)


@pytest.mark.django_db(transaction=True)
def test_the_authorisation_rule_is_read_with_the_round_row() -> None:
    """A round requiring an authorisation letter: its rule comes with the round lock's
    statement (no statement of its own), the bidder's approved documents are the one
    statement more (as for a round requiring qualification); without a letter, refused
    and nothing written."""
    from tests.qualification.test_authorisation_and_notices import _letter, approve

    world = build_world(code="SQL-LETTER")
    client = _client(world.bidder)
    warm = client.post(
        reverse("api-bids"),
        {
            "round": world.round.code,
            "item": world.item.code,
            "specification": "40MG",
            "product": world.bidder_40.pk,
            "unit_price": "3.1000",
            "annual_capacity": 1000,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="warm-up",
    )
    assert warm.status_code == 201, warm.content
    RoundQualificationRule.objects.update_or_create(
        round=world.round, defaults={"required": False, "authorisation_required": True}
    )
    bid = {
        "round": world.round.code,
        "item": world.item.code,
        "specification": "20MG",
        "product": world.bidder_20.pk,
        "unit_price": "1.9876",
        "annual_capacity": 250000,
    }
    refused = client.post(reverse("api-bids"), bid, format="json", HTTP_IDEMPOTENCY_KEY="l-0")
    assert refused.status_code == 400 and refused.json()["code"] == "authorisation_missing"
    assert BidVersion.objects.filter(bid__round=world.round).count() == 1

    approve(_letter(world), world.office)
    with CaptureQueriesContext(connection) as new_bid:
        response = client.post(reverse("api-bids"), bid, format="json", HTTP_IDEMPOTENCY_KEY="l-1")
    assert response.status_code == 201, response.content
    statements = _statements(new_bid)
    assert len(statements) <= NEW_BID_BUDGET + 1, _sql(new_bid)
    rule_table = RoundQualificationRule._meta.db_table
    assert [s for s in statements if rule_table in s and "FOR SHARE" not in s] == [], _sql(new_bid)


SHEET_LINE_BUDGET = 7


@pytest.mark.django_db(transaction=True)
def test_the_bid_sheet_seals_a_new_line_within_its_statement_budget() -> None:
    """The web form's path (``bid_sheet_submit``): the round row with its key and rule,
    the line's ceiling, its bid row (none yet), the bid, its version, the log head and the
    log entry with the head. Before: 15 (the line was validated twice, the round read
    twice, the version numbered by a max(), the bid updated after its insert)."""
    world = build_world(code="SQL-SHEET")
    round_item = RoundItem.objects.select_related("round", "item").get(pk=world.round_item.pk)
    line = BidLine(round_item, world.spec20, world.bidder_20, Decimal("1.9876"), 250000)
    bidder = User.objects.select_related("organization").get(pk=world.bidder.pk)
    with CaptureQueriesContext(connection) as sheet:
        (receipt,) = bid_sheet_submit(round_=round_item.round, lines=[line], by=bidder)
    assert sealing.receipt_verify(receipt.document)
    assert receipt.document["log"]["position"] == 0  # type: ignore[index]
    assert len(_statements(sheet)) <= SHEET_LINE_BUDGET, _sql(sheet)


@pytest.mark.django_db(transaction=True)
def test_a_new_bid_inside_an_enclosing_transaction_is_committed_only_by_it() -> None:
    """The COMMIT sent with the last statement is for the bid's own transaction only: inside
    an enclosing one (a caller's ``atomic``), the bid is rolled back with it."""
    world = build_world(code="SQL-OUTER")
    size = BidLogHead.objects.get(round=world.round).size

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        receipt = bid_submit(
            round_item=world.round_item,
            specification=world.spec20,
            product=world.bidder_20,
            unit_price=Decimal("1.5000"),
            annual_capacity=1000,
            by=world.bidder,
            idempotency_key="outer-rolled-back",
        )
        assert receipt.document["log"]["position"] == size  # type: ignore[index]
        raise Refused
    assert not BidVersion.objects.filter(idempotency_key="outer-rolled-back").exists()
    assert not Bid.objects.filter(
        round=world.round, manufacturer=world.bidder.organization
    ).exists()
    assert BidLogHead.objects.get(round=world.round).size == size
    assert not BidLogEntry.objects.filter(round=world.round, position=size).exists()

    # Alone, the same bid is stored, logged and committed.
    receipt = bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=Decimal("1.5000"),
        annual_capacity=1000,
        by=world.bidder,
        idempotency_key="alone",
    )
    assert receipt.document["log"]["position"] == size  # type: ignore[index]
    assert BidLogHead.objects.get(round=world.round).size == size + 1
    assert BidVersion.objects.filter(idempotency_key="alone").count() == 1

"""Who sees a price, before and after the opening.

Every page, API endpoint, admin view and export that touches bids is fetched by the office,
a hospital, the bidder, a rival manufacturer, an anonymous visitor and a superuser (the
admin), before and after the opening. Only the allowed cells may contain the bidder's price
or capacity; raw SQL over the whole database and the log lines hold neither before the
opening.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import User
from bidding.models import OpenedBid
from bidding.services import bid_submit
from tests.bidding.conftest import World, build_world, past_opening
from tests.ceremony import open_bids as round_open_bids
from tests.factories import api_token_for

PRICE = "1.9876"
CAPACITY = 7654321
CAPACITY_FORMS = ("7654321", "7,654,321")
RIVAL_PRICE = "1.8765"
RIVAL_CAPACITY = 5432109
ROLES = ("office", "hospital", "bidder", "rival", "anonymous", "superuser")


def _submit_both(world: World) -> tuple[int, int]:
    mine = bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=Decimal(PRICE),
        annual_capacity=CAPACITY,
        by=world.bidder,
    )
    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.rival_20,
        unit_price=Decimal(RIVAL_PRICE),
        annual_capacity=RIVAL_CAPACITY,
        by=world.rival,
    )
    return mine.version.bid_id, mine.version.pk


def _client(role: str, world: World, superuser: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    user = {
        "office": world.office,
        "hospital": world.hospital,
        "bidder": world.bidder,
        "rival": world.rival,
        "superuser": superuser,
    }.get(role)
    if user is not None:
        client.force_login(user)
        token = api_token_for(user)
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    return client


def _endpoints(world: World, bid_id: int, version_id: int) -> dict[str, str]:
    code = world.round.code
    urls = {
        "bidding home": reverse("bidding:home"),
        "manufacturer home": reverse("accounts:manufacturer-home"),
        "office home": reverse("accounts:office-home"),
        "bid sheet": reverse("bidding:sheet", args=[code]),
        "my bids in round": reverse("bidding:round-bids", args=[code]),
        "bid page": reverse("bidding:bid-detail", args=[bid_id]),
        "receipt page": reverse("bidding:receipt", args=[version_id]),
        "receipt download": reverse("bidding:receipt-download", args=[version_id]),
        "submission status": reverse("bidding:round-status", args=[code]),
        "opening record": reverse("bidding:opening", args=[code]),
        "opening records list": reverse("bidding:openings"),
        "round page": reverse("procurement:round", args=[code]),
        "opening csv": reverse("bidding:opening-csv", args=[code]),
        "api bids": reverse("api-bids"),
        "api bid": reverse("api-bid", args=[bid_id]),
        "api receipt": reverse("api-receipt", args=[version_id]),
        "api opening": reverse("api-opening", args=[code]),
        "api schema": reverse("api-schema"),
        "admin bids": reverse("admin:bidding_bid_changelist"),
        "admin bid": reverse("admin:bidding_bid_change", args=[bid_id]),
        "admin versions": reverse("admin:bidding_bidversion_changelist"),
        "admin version": reverse("admin:bidding_bidversion_change", args=[version_id]),
        "admin audit": reverse("admin:bidding_decryptionaudit_changelist"),
        "admin keys": reverse("admin:bidding_roundkey_changelist"),
        "admin opened bids": reverse("admin:bidding_openedbid_changelist"),
    }
    for opened in OpenedBid.objects.filter(bid_id=bid_id):
        urls["admin opened bid"] = reverse("admin:bidding_openedbid_change", args=[opened.pk])
    return urls


BIDDER_OWN = {"bid sheet", "bid page", "receipt page", "receipt download", "api receipt"}
PUBLIC_AFTER = {"opening record", "opening csv", "api opening"}


def price_allowed(role: str, endpoint: str, opened: bool) -> bool:
    if not opened:
        return False  # sealed to the round's k-of-n key: the bidder's own pages included
    if endpoint in PUBLIC_AFTER:
        return True
    if role == "superuser" and endpoint in {"admin opened bids", "admin opened bid"}:
        return True
    return role == "bidder" and endpoint in BIDDER_OWN - {"bid sheet"}


def capacity_allowed(role: str, endpoint: str, opened: bool) -> bool:
    if not opened:
        return False
    if role == "superuser" and endpoint == "admin opened bid":
        return True
    return role == "bidder" and endpoint in BIDDER_OWN - {"bid sheet"}


def _fetch_all(world: World, superuser: User, bid_id: int, version_id: int) -> dict:
    bodies = {}
    for role in ROLES:
        client = _client(role, world, superuser)
        for name, url in _endpoints(world, bid_id, version_id).items():
            response = client.get(url)
            bodies[(role, name)] = (response.status_code, response.content.decode("utf-8"))
    return bodies


def _check(bodies: dict, opened: bool, allowed: Callable[..., bool], needles: tuple[str, ...]):
    wrong = []
    for (role, name), (status, body) in bodies.items():
        seen = any(n in body for n in needles)
        if seen != allowed(role, name, opened):
            wrong.append((role, name, status, "seen" if seen else "not seen"))
    return wrong


@pytest.mark.django_db
def test_only_allowed_cells_see_prices_before_and_after_the_opening() -> None:
    world = build_world()
    superuser = User.objects.create_superuser("root", "root@example.org", "pw-root-1")
    bid_id, version_id = _submit_both(world)

    before = _fetch_all(world, superuser, bid_id, version_id)
    assert _check(before, False, price_allowed, (PRICE,)) == []
    assert _check(before, False, capacity_allowed, CAPACITY_FORMS) == []
    # Nor do the rival's own terms appear anywhere, not even to the rival: the full
    # receipt was handed over once, at submission.
    rival_cells = [k for k, (_, body) in before.items() if RIVAL_PRICE in body]
    assert rival_cells == []
    # A few refusals, spelled out: nobody learns that someone else's bid exists.
    assert before[("rival", "bid page")][0] == 404
    assert before[("rival", "receipt download")][0] == 404
    assert before[("rival", "api receipt")][0] == 404
    assert before[("office", "bid page")][0] == 403
    assert before[("office", "submission status")][0] == 200
    assert before[("hospital", "submission status")][0] == 403
    assert before[("anonymous", "bid page")][0] == 302
    assert before[("anonymous", "api bids")][0] in {401, 403}
    assert before[("anonymous", "opening csv")][0] == 404
    assert before[("superuser", "admin version")][0] == 200
    admin_pages = [n for n in _endpoints(world, bid_id, version_id) if n.startswith("admin")]
    assert {before[("superuser", n)][0] for n in admin_pages} == {200}
    assert {before[("office", n)][0] for n in admin_pages} == {302}  # not staff: to login
    assert world.bidder.organization.name_en in before[("office", "submission status")][1]

    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)

    after = _fetch_all(world, superuser, bid_id, version_id)
    assert _check(after, True, price_allowed, (PRICE,)) == []
    assert _check(after, True, capacity_allowed, CAPACITY_FORMS) == []
    assert {
        after[("superuser", n)][0]
        for n in _endpoints(world, bid_id, version_id)
        if n.startswith("admin")
    } == {200}
    assert "admin opened bid" in _endpoints(world, bid_id, version_id)
    assert after[("anonymous", "opening record")][0] == 200
    assert after[("anonymous", "api opening")][0] == 200


@pytest.mark.django_db
def test_raw_sql_over_the_database_finds_no_plaintext_price_before_the_opening() -> None:
    world = build_world()
    _submit_both(world)
    client = Client()
    client.force_login(world.bidder)
    assert (
        PRICE not in client.get(reverse("bidding:sheet", args=[world.round.code])).content.decode()
    )
    needles = [
        PRICE,
        PRICE.replace(".", ""),
        "1.98760",
        RIVAL_PRICE,
        RIVAL_PRICE.replace(".", ""),
        str(CAPACITY),
        str(RIVAL_CAPACITY),
    ]
    found = []
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        assert "bidding_bidversion" in tables
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - introspected names
            for row in cursor.fetchall():
                for value in row:
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else None
                    text = raw.decode("latin-1") if raw is not None else str(value)
                    for needle in needles:
                        if needle in text:
                            found.append((table, needle))
    assert found == []
    # The sealed rows are there, and they are ciphertext.
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), MIN(LENGTH(ciphertext)) FROM bidding_bidversion")
        count, shortest = cursor.fetchone()
    assert count == 2
    assert shortest > 50


@pytest.mark.django_db
def test_no_log_line_carries_a_price_or_capacity(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    world = build_world()
    bid_id, version_id = _submit_both(world)
    client = Client()
    client.force_login(world.bidder)
    client.get(reverse("bidding:bid-detail", args=[bid_id]))
    client.get(reverse("bidding:receipt", args=[version_id]))
    past_opening(world.round)
    round_open_bids(round_=world.round, by=world.office)
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "opened: 2 bids" in messages
    for needle in (PRICE, RIVAL_PRICE, str(CAPACITY), str(RIVAL_CAPACITY)):
        assert needle not in messages

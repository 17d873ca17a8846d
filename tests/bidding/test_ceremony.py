"""k-of-n opening keys and the opening ceremony (issue 13, item 1).

Run on SQLite and on PostgreSQL (DATABASE_URL): the database dump test reads every table
as the database stores it.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import logging
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from bidding import custody, sealing
from bidding.keys import master_key, official_aad
from bidding.models import (
    BidLogEntry,
    BidVersion,
    CeremonyEvent,
    OpenedBid,
    Opening,
    OpeningOfficial,
    RoundCustody,
)
from bidding.services import bid_submit, ceremony_present, custody_designate, official_enroll
from bidding.services.ceremony import official_share
from bidding.services.versions import _version_identity
from procurement.models import Round
from tests.bidding.conftest import World, move_clock, past_opening
from tests.ceremony import PASSPHRASES
from tests.factories import user_of

pytestmark = pytest.mark.django_db
D = Decimal
PRICES = [("1.2345", 111111), ("2.0456", 2222222222), ("1.9000", 3)]


def _officials(world: World) -> list[OpeningOfficial]:
    return list(
        OpeningOfficial.objects.filter(custody__round=world.round)
        .select_related("user", "custody__round")
        .order_by("share_index")
    )


def _bid(world: World, price: str = "1.9876", capacity: int = 7654321) -> BidVersion:
    return bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=D(price),
        annual_capacity=capacity,
        by=world.bidder,
    ).version


def _present(world: World, index: int, passphrase: str | None = None):
    official = _officials(world)[index - 1]
    return ceremony_present(
        round_=Round.objects.get(pk=world.round.pk),
        user=official.user,
        passphrase=passphrase if passphrase is not None else PASSPHRASES[index - 1],
    )


def test_the_round_key_is_generated_split_and_its_private_key_not_kept(world: World) -> None:
    row = RoundCustody.objects.get(round=world.round)
    assert (row.threshold, row.officials.count()) == (2, 3)
    assert row.has_key and len(bytes(row.public_key)) == 32
    kinds = list(CeremonyEvent.objects.filter(round=world.round).values_list("kind", flat=True))
    assert kinds == ["designated", "enrolled", "enrolled", "enrolled", "key_generated"]
    # Nothing stored is an X25519 private key whose public key is the round's.
    for official in row.officials.all():
        for value in (official.sealed_share, official.custody_private_sealed):
            blob = bytes(value)
            for start in range(len(blob) - 31):
                candidate = custody.private_key_from(blob[start : start + 32])
                assert custody.public_bytes(candidate) != bytes(row.public_key)


def test_every_sealed_bid_has_the_same_length_whatever_the_price(world: World) -> None:
    lengths = set()
    for price, capacity in PRICES:
        version = _bid(world, price, capacity)
        lengths.add(len(bytes(BidVersion.objects.get(pk=version.pk).ciphertext)))
        BidVersion.objects.filter(pk=version.pk).update(idempotency_key="")
        BidLogEntry.objects.filter(bid=version.bid).delete()  # only to bid again below
        version.bid.versions.all().delete()
        version.bid.delete()
    assert lengths == {sealing.SEALED_BID_BYTES}


def test_k_minus_one_officials_cannot_open_k_can(world: World) -> None:
    _bid(world)
    past_opening(world.round)
    first = _present(world, 3)
    assert (first.opening, first.needed) == (None, 1)
    assert not Opening.objects.exists()
    with override("en"):
        page = _ceremony_page(world, _officials(world)[2].user)
    assert "1 official has presented; 2 are needed." in page
    assert "The opening waits: 1 more official must present their share." in page
    # One official cannot present twice to make up the number.
    with override("en"), pytest.raises(ValidationError, match="already presented"):
        _present(world, 3)
    second = _present(world, 1)
    assert second.opening is not None
    assert (second.opening.trigger, second.opening.opened_by) == (
        "ceremony",
        _officials(world)[0].user,
    )
    opened = OpenedBid.objects.get()
    assert (opened.unit_price, opened.annual_capacity, opened.validity) == (
        D("1.9876"),
        7654321,
        "valid",
    )
    # The held share is erased once the bids are opened.
    assert all(bytes(o.presented_share) == b"" for o in _officials(world))
    kinds = list(
        CeremonyEvent.objects.filter(round=world.round, kind__in=["presented", "opened"])
        .order_by("pk")
        .values_list("kind", flat=True)
    )
    assert kinds == ["presented", "presented", "opened"]


@pytest.mark.parametrize("pair", list(itertools.combinations([1, 2, 3], 2)))
def test_any_two_of_three_open(world: World, pair: tuple[int, int]) -> None:
    _bid(world)
    past_opening(world.round)
    assert _present(world, pair[0]).opening is None
    assert _present(world, pair[1]).opening is not None


def test_one_share_alone_rebuilds_nothing(world: World) -> None:
    """A single official (or the operator holding one presented share) gets no key."""
    row = RoundCustody.objects.get(round=world.round)
    share = official_share(official=_officials(world)[0], passphrase=PASSPHRASES[0], by=None)
    with pytest.raises(custody.CustodyError):
        custody.combine_shares([share], public_key=bytes(row.public_key))


def test_a_wrong_passphrase_is_refused_and_audited(world: World) -> None:
    _bid(world)
    past_opening(world.round)
    with override("en"), pytest.raises(ValidationError) as caught:
        _present(world, 2, passphrase="test passphrase one")  # another official's
    assert caught.value.message_dict == {
        "passphrase": [
            "This passphrase does not open your share. The refused attempt is recorded in the "
            "ceremony log."
        ]
    }
    refused = CeremonyEvent.objects.get(kind="refused")
    assert refused.user == _officials(world)[1].user
    assert refused.note == "share 2"
    assert _officials(world)[1].presented_at is None
    assert not Opening.objects.exists()
    with pytest.raises(PermissionError):
        refused.delete()


def test_presenting_is_refused_before_the_opening_time_and_for_non_officials(
    world: World,
) -> None:
    _bid(world)
    move_clock(
        world.round,
        deadline_in=-datetime.timedelta(minutes=1),
        opening_in=datetime.timedelta(minutes=30),
    )
    with override("en"), pytest.raises(ValidationError, match="from the opening time"):
        _present(world, 1)
    assert not OpeningOfficial.objects.filter(presented_at__isnull=False).exists()
    past_opening(world.round)
    with override("en"), pytest.raises(ValidationError, match="not an opening official"):
        ceremony_present(round_=world.round, user=world.office, passphrase=PASSPHRASES[0])


def test_the_private_key_is_never_persisted(world: World, caplog) -> None:
    """Database, cache and logs, after a full ceremony: no trace of the round's private
    key, its shares in clear, or any official's custody private key."""
    caplog.set_level(logging.DEBUG)
    _bid(world)
    past_opening(world.round)
    officials = _officials(world)
    row = RoundCustody.objects.get(round=world.round)
    secrets: list[bytes] = []
    shares = []
    for official in officials:
        aad = official_aad(official, "private")
        envelope = custody.master_open(
            sealed=bytes(official.custody_private_sealed), master_key=master_key(), aad=aad
        )
        own = custody.passphrase_open(
            envelope=envelope, passphrase=PASSPHRASES[official.share_index - 1], aad=aad
        )
        secrets.append(own)
        data = custody.hpke_open(
            ciphertext=bytes(official.sealed_share),
            private_key=custody.private_key_from(own),
            info=f"jicai-share/1|round {row.round_id}|share {official.share_index}".encode(),
        )
        shares.append(custody.Share(index=official.share_index, data=data))
        secrets.append(data)
    private = custody.combine_shares(shares[:2], public_key=bytes(row.public_key))
    secrets.append(custody.private_bytes(private))
    _present(world, 1)
    _present(world, 2)
    assert Opening.objects.exists()

    hexes = [s.hex() for s in secrets]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - introspected names
            for record in cursor.fetchall():
                for value in record:
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else None
                    text = str(value)
                    for secret, hexed in zip(secrets, hexes, strict=True):
                        assert raw is None or secret not in raw, table
                        assert hexed not in text, table
    cached = getattr(cache, "_cache", {})
    for value in cached.values():
        blob = value if isinstance(value, bytes) else str(value).encode()
        assert not any(s in blob for s in secrets)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(h in logged for h in hexes)


def test_a_database_dump_and_every_server_secret_recover_no_price(world: World, settings) -> None:
    """The adversary of issue 13: a copy of every table taken during bidding, the code and
    every environment secret (master key, SECRET_KEY), but no official's passphrase."""
    versions = [_bid(world, "1.9876", 7654321)]
    versions.append(
        bid_submit(
            round_item=world.round_item,
            specification=world.spec20,
            product=world.rival_20,
            unit_price=D("2.0123"),
            annual_capacity=4321,
            by=world.rival,
        ).version
    )
    dump: dict[str, list[tuple]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - introspected names
            dump[table] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                for r in cursor.fetchall()
            ]
    server_secrets = [master_key(), hashlib.sha256(settings.SECRET_KEY.encode()).digest()]
    # 1. No price or capacity in clear anywhere.
    flat = repr(dump)
    for needle in ("1.9876", "19876", "7654321", "2.0123", "20123"):
        assert needle not in flat
    # 2. Every candidate 32-byte key the attacker can form (server secrets, and every 32-byte
    #    window of every stored value, each also unwrapped with the master key) fails to
    #    open any sealed bid.
    candidates: set[bytes] = set(server_secrets)
    for rows in dump.values():
        for row in rows:
            for value in row:
                if isinstance(value, bytes):
                    for start in range(0, max(len(value) - 31, 0)):
                        candidates.add(value[start : start + 32])
                    for secret in server_secrets[:1]:
                        for aad_what in ("private", "held"):
                            for official in OpeningOfficial.objects.all():
                                try:
                                    inner = custody.master_open(
                                        sealed=value,
                                        master_key=secret,
                                        aad=official_aad(official, aad_what),
                                    )
                                except custody.CustodyError:
                                    continue
                                for start in range(0, max(len(inner) - 31, 0)):
                                    candidates.add(inner[start : start + 32])
    candidates = {c for c in candidates if len(c) == 32}
    opened = 0
    for version in versions:
        stored = BidVersion.objects.select_related(
            "bid__round", "bid__round_item__item", "bid__specification", "bid__manufacturer"
        ).get(pk=version.pk)
        for candidate in candidates:
            try:
                sealing.unseal(
                    ciphertext=bytes(stored.ciphertext),
                    identity=_version_identity(stored),
                    private_key=custody.private_key_from(candidate),
                )
                opened += 1
            except sealing.SealingError:
                pass
    assert len(candidates) > 500  # every 32-byte window of every stored value
    assert opened == 0
    # 3. A passphrase guess is refused (and each guess costs an scrypt run).
    official = OpeningOfficial.objects.select_related("custody__round").first()
    assert official is not None
    with pytest.raises(ValidationError):
        official_share(official=official, passphrase="guess guess guess", by=None)


def test_a_round_without_an_opening_key_refuses_bids_with_a_clear_message(world: World) -> None:
    office = user_of("office")
    round_ = world.round
    OpeningOfficial.objects.all().delete()
    RoundCustody.objects.all().delete()
    with override("en"), pytest.raises(ValidationError) as caught:
        _bid(world)
    assert caught.value.messages == [
        f"Round {round_.code} cannot take bids yet: it has no opening key until all its "
        "opening officials have set their passphrases."
    ]
    # Designation by another office is refused; by the round's office, bids wait for the
    # last passphrase.
    with override("en"), pytest.raises(ValidationError, match="Only the procurement office"):
        custody_designate(round_=round_, officials=[office], threshold=2, by=office)
    staff = [user_of("office") for _ in range(2)]  # other organizations: refused
    with override("en"), pytest.raises(ValidationError, match="users of the procurement office"):
        custody_designate(round_=round_, officials=staff, threshold=2, by=world.office)
    from accounts.models import User

    mine = [
        User.objects.create_user(
            username=f"o{i}",
            password="x",
            organization=world.office.organization,
        )
        for i in range(2)
    ]
    with override("en"), pytest.raises(ValidationError, match="at least 2"):
        custody_designate(round_=round_, officials=mine, threshold=1, by=world.office)
    custody_designate(round_=round_, officials=mine, threshold=2, by=world.office)
    official_enroll(round_=round_, user=mine[0], passphrase="first official phrase")
    with pytest.raises(ValidationError):
        _bid(world)
    with override("en"), pytest.raises(ValidationError, match="at least 12 characters"):
        official_enroll(round_=round_, user=mine[1], passphrase="short")
    official_enroll(round_=round_, user=mine[1], passphrase="second official phrase")
    assert _bid(world).pk


def _ceremony_page(world: World, user) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    response = client.get(reverse("bidding:ceremony", args=[world.round.code]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_ceremony_page_in_both_languages(world: World) -> None:
    _bid(world)
    past_opening(world.round)
    officials = _officials(world)
    url = reverse("bidding:ceremony", args=[world.round.code])
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    zh.force_login(officials[0].user)
    page = zh.get(url).content.decode()
    assert "开标仪式" in page and "出示我的份额" in page
    wrong = zh.post(url, {"action": "present", "passphrase": "nope nope nope"})
    assert wrong.status_code == 422
    assert "此口令无法打开您的份额" in wrong.content.decode()
    zh.post(url, {"action": "present", "passphrase": PASSPHRASES[0]})
    assert "还需 1 名开标人出示份额" in zh.get(url).content.decode()
    en = Client(HTTP_ACCEPT_LANGUAGE="en")
    en.force_login(officials[1].user)
    done = en.post(url, {"action": "present", "passphrase": PASSPHRASES[1]})
    assert done["Location"] == reverse("bidding:opening", args=[world.round.code])
    # A hospital or another office never sees the page.
    other = Client()
    other.force_login(user_of("office"))
    assert other.get(url).status_code == 404
    assert timezone.now() >= Round.objects.get(pk=world.round.pk).opening_at


@pytest.mark.postgresql  # the trigger exists on PostgreSQL only
def test_the_ceremony_log_refuses_rewrites_in_the_database_too(world: World) -> None:
    """On PostgreSQL a trigger refuses UPDATE and DELETE (migration 0004)."""
    from django.db import DatabaseError, transaction

    event = CeremonyEvent.objects.first()
    assert event is not None
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE bidding_ceremonyevent SET note = 'x' WHERE id = %s", [event.pk])


def test_a_damaged_share_is_refused_clearly_and_the_others_still_open(world: World) -> None:
    _bid(world)
    past_opening(world.round)
    damaged = _officials(world)[0]
    blob = bytearray(bytes(damaged.sealed_share))
    blob[-1] ^= 0x01
    OpeningOfficial.objects.filter(pk=damaged.pk).update(sealed_share=bytes(blob))
    with override("en"), pytest.raises(ValidationError, match="stored share is damaged"):
        _present(world, 1)
    assert _present(world, 2).opening is None
    assert _present(world, 3).opening is not None

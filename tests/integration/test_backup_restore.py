"""Backup and restore of a round in bidding (docs/operations.md, "Backup and restore").

The office's database administrator takes a ``pg_dump`` while bidding is open, the
database is lost, and the dump is restored into a new database. The round must still
open there, through its ceremony, with every bid valid and every receipt hash the
bidders were given at submission intact, and the bid log must verify against the head
published at close (nothing reported as tampered).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from bidding.models import OpenedBid
from bidding.services import bid_submit
from procurement.models import Round
from procurement.services import round_close_bidding
from tests.bidding.conftest import build_world, past_opening
from tests.ceremony import open_bids

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _pg_env(settings_dict: dict) -> tuple[list[str], dict[str, str]]:
    args = [
        "-h",
        settings_dict.get("HOST") or "127.0.0.1",
        "-p",
        str(settings_dict.get("PORT") or 5432),
    ]
    args += ["-U", settings_dict.get("USER") or "postgres"]
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return args, env


def test_a_dump_taken_during_bidding_restores_and_opens_with_every_receipt_intact(
    tmp_path,
) -> None:
    world = build_world(code="T-BACKUP-1")
    receipts = {}
    for user, product, spec, price in (
        (world.bidder, world.bidder_20, world.spec20, "1.2345"),
        (world.rival, world.rival_20, world.spec20, "1.3456"),
    ):
        receipt = bid_submit(
            round_item=world.round_item,
            specification=spec,
            product=product,
            unit_price=Decimal(price),
            annual_capacity=100000,
            by=user,
        )
        receipts[receipt.version.bid_id] = (receipt.version.receipt_hash, price)
    past_opening(world.round)

    original = dict(connection.settings_dict)
    conn_args, env = _pg_env(original)
    dump = tmp_path / "jicai.dump"
    subprocess.run(
        ["pg_dump", *conn_args, "-Fc", "-f", str(dump), original["NAME"]], check=True, env=env
    )
    restored = f"jicai_restore_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", *conn_args, restored], check=True, env=env)
    try:
        subprocess.run(
            ["pg_restore", *conn_args, "--no-owner", "-d", restored, str(dump)],
            check=True,
            env=env,
        )
        connection.close()
        connection.settings_dict["NAME"] = restored
        try:
            round_ = Round.objects.get(code="T-BACKUP-1")
            round_close_bidding(round_=round_, by=None)
            opening = open_bids(round_=Round.objects.get(pk=round_.pk), by=None)
            opened = {
                o.bid_id: (o.receipt_hash, f"{o.unit_price:.4f}", o.validity)
                for o in OpenedBid.objects.filter(opening=opening)
            }
            report = opening.log_report
        finally:
            connection.close()
            connection.settings_dict["NAME"] = original["NAME"]
    finally:
        subprocess.run(["dropdb", *conn_args, "--if-exists", restored], check=True, env=env)

    assert opened == {
        bid_id: (receipt_hash, price, OpenedBid.Validity.VALID)
        for bid_id, (receipt_hash, price) in receipts.items()
    }
    # The bid log verifies: the head published at close is the head recomputed from the
    # restored rows, and no bid is reported.
    assert (report["findings"], report["tampered_bids"]) == ([], [])
    assert report["recomputed_root"] == report["closed_root"] != ""
    assert report["recomputed_size"] == report["closed_size"] == 2

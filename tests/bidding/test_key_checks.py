"""Key configuration checked before serving; a missing round key is an error (issue 13, 4)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils.translation import override

from bidding.checks import TAG, require_keys
from bidding.models import BidVersion, OpeningOfficial, RoundCustody
from bidding.services import bid_submit
from tests.bidding.conftest import World

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db
D = Decimal


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _bid(world: World) -> None:
    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=D("1.5000"),
        annual_capacity=1000,
        by=world.bidder,
    )


def _ids() -> list[str]:
    return [m.id for m in run_checks(tags=[TAG]) if m.is_serious()]


def test_the_configured_key_passes(world: World) -> None:
    _bid(world)
    assert _ids() == []
    require_keys()


@pytest.mark.parametrize("text", ["abc", "", base64.b64encode(b"x" * 16).decode(), "not base64!"])
def test_a_malformed_key_is_refused_saying_why(settings, text: str) -> None:
    settings.JICAI_MASTER_KEY = text
    messages = [m for m in run_checks(tags=[TAG]) if m.is_serious()]
    assert [m.id for m in messages] == ["bidding.E001"]
    assert "JICAI_MASTER_KEY is malformed" in messages[0].msg
    with pytest.raises(ImproperlyConfigured, match=r"bidding\.E001"):
        require_keys()
    with pytest.raises(SystemCheckError, match="malformed"):
        call_command("check", "--deploy")


def test_a_well_formed_key_that_did_not_wrap_the_stored_keys_is_refused(
    world: World, settings
) -> None:
    _bid(world)
    stored = OpeningOfficial.objects.values_list("master_key_fingerprint", flat=True)[0]
    settings.JICAI_MASTER_KEY = _key()
    messages = [m for m in run_checks(tags=[TAG]) if m.is_serious()]
    assert [m.id for m in messages] == ["bidding.E002"]
    assert stored in messages[0].msg and world.round.code in messages[0].msg
    assert "does not match the keys already stored" in messages[0].msg
    with pytest.raises(SystemCheckError, match="does not match"):
        call_command("check")


def test_a_deleted_round_key_is_an_error_never_a_new_key(world: World) -> None:
    _bid(world)
    public_key = bytes(RoundCustody.objects.get().public_key)
    RoundCustody.objects.update(public_key=b"", key_generated_at=None)
    with override("en"), pytest.raises(ValidationError, match="sealing key is missing") as caught:
        bid_submit(
            round_item=world.round_item,
            specification=world.spec40,
            product=world.bidder_40,
            unit_price=D("2.5000"),
            annual_capacity=1000,
            by=world.bidder,
        )
    assert caught.value.code == "round_key_missing"
    assert bytes(RoundCustody.objects.get().public_key) == b""
    assert BidVersion.objects.count() == 1
    # Nor does a deleted key row come back as a new key.
    OpeningOfficial.objects.all().delete()
    RoundCustody.objects.all().delete()
    with override("en"), pytest.raises(ValidationError, match="sealing key is missing"):
        bid_submit(
            round_item=world.round_item,
            specification=world.spec40,
            product=world.bidder_40,
            unit_price=D("2.5000"),
            annual_capacity=1000,
            by=world.bidder,
        )
    assert not RoundCustody.objects.exists()
    assert public_key  # the original key is simply gone: restoring it is the way back


def test_gunicorn_refuses_to_start_with_a_malformed_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="off",
        DJANGO_SECRET_KEY="x" * 50,
        JICAI_MASTER_KEY="abc",
    )
    out = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "bidding.E001: JICAI_MASTER_KEY is malformed" in out.stderr


def test_a_celery_worker_does_not_start_with_a_foreign_key(world: World, settings) -> None:
    from celery.signals import worker_init

    from bidding.apps import check_keys_at_worker_start

    # Connected to worker_init (called here directly: on PostgreSQL, Celery's own Django
    # fixup, also on worker_init, closes the test's database connection).
    assert any(key[0] == "jicai-keys" for key, _ in worker_init.receivers)
    _bid(world)
    check_keys_at_worker_start(sender=None)  # the configured key: nothing happens
    settings.JICAI_MASTER_KEY = _key()
    with pytest.raises(SystemExit, match=r"bidding\.E002"):
        check_keys_at_worker_start(sender=None)

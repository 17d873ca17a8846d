"""The master key (from settings, read at call time) and the rounds' wrapped data keys."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bidding import custody, sealing
from bidding.models import BidVersion, OpeningOfficial, RoundCustody, RoundKey
from procurement.models import Round


def master_key() -> bytes:
    """The configured master key; settings are read here, never at import time."""
    return sealing.parse_master_key(settings.JICAI_MASTER_KEY)


def master_key_is_demo() -> bool:
    return bool(getattr(settings, "JICAI_DEMO_MASTER_KEY", None) == settings.JICAI_MASTER_KEY)


logger = logging.getLogger("bidding.services")


class MissingRoundKeyError(sealing.SealingError):
    """A round that already has sealed bids has no key: never silently replaced."""


def stored_key_fingerprints() -> dict[str, set[str]]:
    """Fingerprints of the master keys that wrapped stored keys, with their rounds' codes."""
    found: dict[str, set[str]] = {}
    for fingerprint, code in RoundKey.objects.values_list("master_key_fingerprint", "round__code"):
        found.setdefault(fingerprint, set()).add(code)
    officials = OpeningOfficial.objects.exclude(master_key_fingerprint="")
    for fingerprint, code in officials.values_list(
        "master_key_fingerprint", "custody__round__code"
    ):
        found.setdefault(fingerprint, set()).add(code)
    return found


def round_key_ensure(*, round_: Round) -> bytes:
    """The round's data key, created (and stored wrapped) on first use.

    Only for a round without any sealed bid: if the round has bids but its key row is
    gone, a new key would make every earlier bid unopenable (reported as tampered), so
    that is an error (``MissingRoundKeyError``), never a silent new key.

    Bid transactions hold the round row only in share mode, so two first bids of a round
    may race here: the one-to-one constraint lets exactly one key in, and the other
    transaction reads it.
    """
    stored = RoundKey.objects.filter(round=round_).first()
    key = master_key()
    if stored is None:
        if BidVersion.objects.filter(bid__round=round_).exists():
            raise MissingRoundKeyError(
                f"round {round_.code} has sealed bids but its key is missing: restore the "
                "round's key row from a backup; no new key is created"
            )
        data_key = sealing.generate_key()
        try:
            with transaction.atomic():
                RoundKey.objects.create(
                    round=round_,
                    wrapped_key=sealing.wrap_key(data_key=data_key, master_key=key),
                    master_key_fingerprint=sealing.key_fingerprint(key),
                )
            return data_key
        except IntegrityError:
            # Another first bid of this round created it meanwhile (the one-to-one
            # constraint made us wait for its commit): use that one.
            stored = RoundKey.objects.get(round=round_)
    return _unwrap(stored, key)


def round_key_get(*, round_: Round) -> bytes | None:
    stored = RoundKey.objects.filter(round=round_).first()
    if stored is None:
        return None
    return _unwrap(stored, master_key())


def _unwrap(stored: RoundKey, key: bytes) -> bytes:
    if stored.master_key_fingerprint != sealing.key_fingerprint(key):
        raise sealing.MasterKeyError(
            f"round {stored.round_id}: its data key was wrapped by master key "
            f"{stored.master_key_fingerprint}, but the configured key is "
            f"{sealing.key_fingerprint(key)}; re-wrap with bidding_rotate_master_key"
        )
    return sealing.unwrap_key(wrapped=bytes(stored.wrapped_key), master_key=key)


def round_keys_rewrap(*, old_master_key: bytes, new_master_key: bytes) -> int:
    """Re-wrap every round data key wrapped by ``old_master_key`` under ``new_master_key``.

    The data keys (and so every ciphertext and receipt) stay the same: rotation touches
    one small row per round. Each row is locked while it is rewritten.
    """
    old_fp = sealing.key_fingerprint(old_master_key)
    new_fp = sealing.key_fingerprint(new_master_key)
    count = 0
    for pk in RoundKey.objects.filter(master_key_fingerprint=old_fp).values_list("pk", flat=True):
        with transaction.atomic():
            row = RoundKey.objects.select_for_update().get(pk=pk)
            if row.master_key_fingerprint != old_fp:
                continue
            data_key = sealing.unwrap_key(wrapped=bytes(row.wrapped_key), master_key=old_master_key)
            row.wrapped_key = sealing.wrap_key(data_key=data_key, master_key=new_master_key)
            row.master_key_fingerprint = new_fp
            row.rewrapped_at = timezone.now()
            row.save(update_fields=["wrapped_key", "master_key_fingerprint", "rewrapped_at"])
            count += 1
    return count + _officials_rewrap(old_master_key=old_master_key, new_master_key=new_master_key)


def official_aad(official: OpeningOfficial, what: str) -> bytes:
    """What a master-key-sealed record of an official is bound to (no moving it)."""
    return f"jicai-custody/1|{what}|custody {official.custody_id}|user {official.user_id}".encode()


def _officials_rewrap(*, old_master_key: bytes, new_master_key: bytes) -> int:
    """Re-seal the officials' custody records (and any share held during a ceremony)."""
    old_fp = sealing.key_fingerprint(old_master_key)
    new_fp = sealing.key_fingerprint(new_master_key)
    count = 0
    pks = OpeningOfficial.objects.filter(master_key_fingerprint=old_fp).values_list("pk", flat=True)
    for pk in pks:
        with transaction.atomic():
            row = OpeningOfficial.objects.select_for_update().get(pk=pk)
            if row.master_key_fingerprint != old_fp:
                continue
            for field, what in (("custody_private_sealed", "private"), ("presented_share", "held")):
                value = bytes(getattr(row, field))
                if value:
                    aad = official_aad(row, what)
                    inner = custody.master_open(sealed=value, master_key=old_master_key, aad=aad)
                    setattr(
                        row,
                        field,
                        custody.master_seal(data=inner, master_key=new_master_key, aad=aad),
                    )
            row.master_key_fingerprint = new_fp
            row.save(
                update_fields=[
                    "custody_private_sealed",
                    "presented_share",
                    "master_key_fingerprint",
                ]
            )
            count += 1
    return count


def round_public_key(*, round_: Round) -> bytes:
    """The key bids are sealed to; a clear refusal when the round has none (never a new one)."""
    row = RoundCustody.objects.filter(round=round_).first()
    return round_public_key_checked(
        round_=round_, stored=bytes(row.public_key) if row is not None and row.has_key else None
    )


def round_public_key_checked(*, round_: Round, stored: bytes | None) -> bytes:
    """``stored`` (the round's generated public key, as the bid transaction read it with
    the round row) when it is one; the clear refusal otherwise."""
    if stored is not None and len(stored) == custody.KEY_BYTES:
        return stored
    if BidVersion.objects.filter(bid__round=round_).exists():
        logger.error("round %s: opening key missing although bids are sealed", round_.code)
        raise ValidationError(
            _(
                "Round %(code)s cannot take bids at the moment: its sealing key is missing. "
                "The procurement office must restore it; no bid was stored."
            )
            % {"code": round_.code},
            code="round_key_missing",
        )
    raise ValidationError(
        _(
            "Round %(code)s cannot take bids yet: it has no opening key until all its "
            "opening officials have set their passphrases."
        )
        % {"code": round_.code},
        code="round_key_not_ready",
    )

"""The round's opening key and the opening ceremony (issue 13, item 1).

1. Before bidding, the office designates the round's opening officials (开标人, users of
   the office) and k (``custody_designate``).
2. Each official sets a passphrase (``official_enroll``): the server makes the official's
   custody key pair and keeps its private key only sealed under that passphrase (scrypt)
   and the master key. When the last official has set one, the round's X25519 key pair is
   generated, its private key split k-of-n (Shamir), each share sealed (HPKE) to its
   official's custody key, and the private key dropped (``_generate_round_key``).
3. Bids are sealed to the round's public key (``round_public_key``); a round with no key
   refuses bids with a clear message, and a key that disappears is never replaced.
4. From the opening time, officials present their passphrases (``ceremony_present``). A
   presented share is held sealed under the master key until the k-th presentation; then
   the private key is rebuilt in memory, checked against the public key, the bids are
   opened in that same request, the held shares are erased and the key is dropped. The
   key is never written to the database, the cache, a log or a task message: the opening
   that decrypts runs in the request of the k-th presentation, never in Celery.

A wrong passphrase is refused and recorded (``CeremonyEvent``, kind "refused").
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from bidding import custody
from bidding.keys import master_key, official_aad
from bidding.models import BidVersion, CeremonyEvent, Opening, OpeningOfficial, RoundCustody
from bidding.services.deadline import _when
from bidding.services.opening import round_open_bids
from procurement.models import Round

logger = logging.getLogger("bidding.services")
S = Round.Status
E = CeremonyEvent.Kind


def _scrypt_log2_n() -> int:
    return int(getattr(settings, "JICAI_SCRYPT_LOG2_N", custody.SCRYPT_LOG2_N))


def _share_info(custody_row: RoundCustody, index: int) -> bytes:
    return f"jicai-share/1|round {custody_row.round_id}|share {index}".encode()


def _event(round_: Round, kind: str, user: User | None, note: str = "") -> None:
    CeremonyEvent.objects.create(round=round_, kind=kind, user=user, note=note)


def _office_of(round_: Round, by: User) -> None:
    if getattr(by, "organization_id", None) != round_.office_id:
        raise ValidationError(
            _("Only the procurement office of round %(code)s can do this.") % {"code": round_.code},
            code="not_office",
        )


# --- designation and passphrases -----------------------------------------------------------


def custody_designate(
    *, round_: Round, officials: Sequence[User], threshold: int, by: User
) -> RoundCustody:
    """Designate the round's opening officials and how many of them open (k of n)."""
    _office_of(round_, by)
    n = len(officials)
    if len({u.pk for u in officials}) != n:
        raise ValidationError(_("Each official can be designated only once."), code="duplicate")
    if any(u.organization_id != round_.office_id for u in officials):
        raise ValidationError(
            _("Opening officials must be users of the procurement office."), code="not_office"
        )
    if not 2 <= threshold <= n:
        raise ValidationError(
            _("Choose at least 2 officials needed to open, and no more than the %(n)s designated.")
            % {"n": n},
            code="threshold",
        )
    if round_.status not in {S.DRAFT, S.DEMAND_OPEN, S.DEMAND_CLOSED, S.BIDDING_OPEN}:
        raise ValidationError(
            _("Round %(code)s is %(status)s: its opening officials can no longer change.")
            % {"code": round_.code, "status": round_.get_status_display()},
            code="wrong_status",
        )
    with transaction.atomic():
        if RoundCustody.objects.select_for_update().filter(round=round_).exists():
            raise ValidationError(
                _("The opening officials of round %(code)s are already designated.")
                % {"code": round_.code},
                code="already_designated",
            )
        row = RoundCustody.objects.create(round=round_, threshold=threshold, designated_by=by)
        OpeningOfficial.objects.bulk_create(
            [
                OpeningOfficial(custody=row, user=user, share_index=i)
                for i, user in enumerate(officials, start=1)
            ]
        )
        _event(round_, E.DESIGNATED, by, f"{threshold} of {n}")
    return row


@sensitive_variables()  # no passphrase or key in a traceback's local variables
def official_enroll(*, round_: Round, user: User, passphrase: str) -> RoundCustody:
    """The official sets the passphrase that protects their share. When the last official
    of the round has set one, the round's key is generated, split and dropped."""
    if len(passphrase) < custody.MIN_PASSPHRASE_LENGTH:
        raise ValidationError(
            {
                "passphrase": _("The passphrase must have at least %(n)s characters.")
                % {"n": custody.MIN_PASSPHRASE_LENGTH}
            },
            code="short",
        )
    key = master_key()
    with transaction.atomic():
        row = RoundCustody.objects.select_for_update().filter(round=round_).first()
        official = _official(row, user)
        if official.enrolled_at is not None:
            raise ValidationError(
                _("You have already set your passphrase for round %(code)s; it cannot be changed.")
                % {"code": round_.code},
                code="already_enrolled",
            )
        own = custody.generate_private_key()
        envelope = custody.passphrase_seal(
            secret=custody.private_bytes(own),
            passphrase=passphrase,
            aad=official_aad(official, "private"),
            log2_n=_scrypt_log2_n(),
        )
        official.custody_public_key = custody.public_bytes(own)
        official.custody_private_sealed = custody.master_seal(
            data=envelope, master_key=key, aad=official_aad(official, "private")
        )
        official.master_key_fingerprint = _fingerprint(key)
        official.enrolled_at = timezone.now()
        official.save()
        _event(round_, E.ENROLLED, user, f"share {official.share_index}")
        assert row is not None
        if not row.officials.filter(enrolled_at__isnull=True).exists():
            _generate_round_key(row)
    return row


def _fingerprint(key: bytes) -> str:
    from bidding import sealing

    return sealing.key_fingerprint(key)


@sensitive_variables()
def _generate_round_key(row: RoundCustody) -> None:
    """Make the round's key pair, seal one share to each official, drop the private key."""
    if row.has_key:
        return
    if BidVersion.objects.filter(bid__round_id=row.round_id).exists():
        raise ValidationError(_("This round already has sealed bids."), code="has_bids")
    officials = list(row.officials.order_by("share_index"))
    private = custody.generate_private_key()
    shares = custody.split_private_key(private, threshold=row.threshold, count=len(officials))
    for official, share in zip(officials, shares, strict=True):
        assert official.share_index == share.index
        official.sealed_share = custody.hpke_seal(
            plaintext=share.data,
            public_key=bytes(official.custody_public_key),
            info=_share_info(row, share.index),
        )
        official.save(update_fields=["sealed_share"])
    row.public_key = custody.public_bytes(private)
    row.key_generated_at = timezone.now()
    row.save(update_fields=["public_key", "key_generated_at"])
    del private, shares  # the only copies; Python cannot wipe memory, so they are let go
    _event(row.round, E.KEY_GENERATED, None, f"{row.threshold} of {len(officials)}")
    logger.info("round %s: opening key generated and split", row.round_id)


def _official(row: RoundCustody | None, user: User) -> OpeningOfficial:
    official = None
    if row is not None:
        official = row.officials.select_related("custody__round").filter(user=user).first()
    if official is None:
        raise ValidationError(
            _("You are not an opening official of this round."), code="not_official"
        )
    return official


# --- the ceremony ----------------------------------------------------------------------------


@dataclass
class CeremonyState:
    custody: RoundCustody | None
    officials: list[OpeningOfficial]
    threshold: int
    presented: int
    opening: Opening | None

    @property
    def needed(self) -> int:
        return max(self.threshold - self.presented, 0)

    @property
    def enrolled_all(self) -> bool:
        return bool(self.officials) and all(o.enrolled_at for o in self.officials)


def ceremony_state(*, round_: Round) -> CeremonyState:
    row = RoundCustody.objects.filter(round=round_).first()
    officials = list(row.officials.select_related("user")) if row else []
    return CeremonyState(
        custody=row,
        officials=officials,
        threshold=row.threshold if row else 0,
        presented=sum(o.presented_at is not None for o in officials),
        opening=Opening.objects.filter(round=round_).first(),
    )


@dataclass
class Presentation:
    opening: Opening | None  # set when this presentation opened the bids
    needed: int  # how many more officials must present


@sensitive_variables()
def official_share(*, official: OpeningOfficial, passphrase: str, by: User | None) -> custody.Share:
    """Open an official's share with their passphrase; a wrong one is refused and recorded."""
    row = official.custody
    aad = official_aad(official, "private")
    envelope = custody.master_open(
        sealed=bytes(official.custody_private_sealed), master_key=master_key(), aad=aad
    )
    try:
        own = custody.passphrase_open(envelope=envelope, passphrase=passphrase, aad=aad)
    except custody.WrongPassphraseError:
        _event(row.round, E.REFUSED, by, f"share {official.share_index}")
        logger.warning(
            "round %s: wrong passphrase for share %s", row.round_id, official.share_index
        )
        raise ValidationError(
            {
                "passphrase": _(
                    "This passphrase does not open your share. The refused attempt is "
                    "recorded in the ceremony log."
                )
            },
            code="wrong_passphrase",
        ) from None
    try:
        data = custody.hpke_open(
            ciphertext=bytes(official.sealed_share),
            private_key=custody.private_key_from(own),
            info=_share_info(row, official.share_index),
        )
    except custody.CustodyError:
        logger.error("round %s: share %s is damaged", row.round_id, official.share_index)
        raise ValidationError(
            _(
                "Your passphrase is right but your stored share is damaged; the other "
                "officials can still open the round if enough of them are present."
            ),
            code="damaged_share",
        ) from None
    return custody.Share(index=official.share_index, data=data)


@sensitive_variables()
def custody_rebuild(*, row: RoundCustody, shares: list[custody.Share]) -> X25519PrivateKey:
    """The round's private key from at least k shares, checked against its public key."""
    if len(shares) < row.threshold:
        raise ValidationError(
            _("%(k)s shares are needed to open; %(m)s presented.")
            % {"k": row.threshold, "m": len(shares)},
            code="not_enough_shares",
        )
    try:
        return custody.combine_shares(shares, public_key=bytes(row.public_key))
    except custody.CustodyError:
        logger.error("round %s: the presented shares do not rebuild the key", row.round_id)
        raise ValidationError(
            _("The presented shares do not rebuild the round's key; the bids stay sealed."),
            code="bad_shares",
        ) from None


@sensitive_variables()
def ceremony_present(
    *, round_: Round, user: User, passphrase: str, now: datetime.datetime | None = None
) -> Presentation:
    """An official presents their share at the opening ceremony (see the module docstring)."""
    now = now or timezone.now()
    row = RoundCustody.objects.filter(round=round_).first()
    official = _official(row, user)
    assert row is not None
    _require_presentable(round_, row, now)
    if official.presented_at is not None:
        raise ValidationError(
            _("You have already presented your share; waiting for other officials."),
            code="already_presented",
        )
    share = official_share(official=official, passphrase=passphrase, by=user)
    key = master_key()
    with transaction.atomic():
        row = RoundCustody.objects.select_for_update().get(pk=row.pk)
        officials = list(row.officials.all())
        me = next(o for o in officials if o.pk == official.pk)
        if me.presented_at is not None:
            raise ValidationError(
                _("You have already presented your share; waiting for other officials."),
                code="already_presented",
            )
        held = [
            custody.Share(
                index=o.share_index,
                data=custody.master_open(
                    sealed=bytes(o.presented_share),
                    master_key=key,
                    aad=official_aad(o, "held"),
                ),
            )
            for o in officials
            if o.presented_at is not None and bytes(o.presented_share)
        ]
        me.presented_at = now
        if len(held) + 1 < row.threshold:
            me.presented_share = custody.master_seal(
                data=share.data, master_key=key, aad=official_aad(me, "held")
            )
            me.save(update_fields=["presented_share", "presented_at"])
            _event(round_, E.PRESENTED, user, f"share {me.share_index}")
            needed = row.threshold - len(held) - 1
            logger.info(
                "round %s: share %s presented, %s more needed", round_.code, me.share_index, needed
            )
            return Presentation(opening=None, needed=needed)
        me.save(update_fields=["presented_at"])
        _event(round_, E.PRESENTED, user, f"share {me.share_index}")
        private = custody_rebuild(row=row, shares=[*held, share])
        opening = round_open_bids(
            round_=round_,
            by=user,
            private_key=private,
            now=now,
            trigger=Opening.Trigger.CEREMONY,
        )
        del private
        # The held shares served their purpose: erase them (presented_at stays as record).
        OpeningOfficial.objects.filter(custody=row).update(presented_share=b"")
        _event(round_, E.OPENED, user, f"{len(held) + 1} of {len(officials)} shares")
    return Presentation(opening=opening, needed=0)


def _require_presentable(round_: Round, row: RoundCustody, now: datetime.datetime) -> None:
    if Opening.objects.filter(round=round_).exists():
        raise ValidationError(
            _("The bids of round %(code)s have already been opened.") % {"code": round_.code},
            code="already_opened",
        )
    if not row.has_key:
        raise ValidationError(
            _("Round %(code)s has no opening key: there is nothing to open.")
            % {"code": round_.code},
            code="no_key",
        )
    if now < round_.opening_at:
        raise ValidationError(
            _("Officials can present their shares from the opening time, %(when)s.")
            % {"when": _when(round_.opening_at)},
            code="too_early",
        )
    if round_.status not in {S.BIDDING_OPEN, S.BIDDING_CLOSED}:
        raise ValidationError(
            _("Round %(code)s is %(status)s: its bids cannot be opened.")
            % {"code": round_.code, "status": round_.get_status_display()},
            code="wrong_status",
        )


def needed_message(needed: int) -> str:
    return ngettext(
        "The opening waits: %(n)s more official must present their share.",
        "The opening waits: %(n)s more officials must present their shares.",
        needed,
    ) % {"n": needed}

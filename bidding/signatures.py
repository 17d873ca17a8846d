"""Signed bids (docs/signatures.md): what a bidder signs, the check before sealing, the
check at the opening.

A bid version is signed over its **canonical content** before it is sealed: the round,
the bidder's social credit code, the item, the specification, the product, the version
number it will become, the unit price (yuan, four decimals) and the annual capacity, as
canonical JSON (sorted keys, no spaces, UTF-8: ``bidding.sealing.canonical_json``). The
bidder's browser (or API client) signs those bytes with its own key; the server verifies
the signature against the user's registered key before anything is written, stores it
with the version and puts its digest and key fingerprint on the receipt, whose hash the
bid log entry records. At the opening the content is rebuilt from the decrypted terms and
the signature verified again: a bid altered after it was signed no longer verifies.

Query cost: nothing when the round does not require signatures and the request carries
none (the requirement is a column of the round row the bid transaction reads anyway);
one query, the key by its fingerprint, when a signature is checked.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import SigningKey, User
from accounts.signing import SignatureInput, signature_check, signature_valid
from bidding import sealing
from procurement.models import Round

BID_SIGNATURE_FORMAT = "jicai-bid-signature/1"


def signatures_required(*, round_: Round) -> bool:
    """Whether ``round_`` requires signed bids and contract confirmations (its own
    setting, or ``JICAI_SIGNATURES_REQUIRED``). No query: a column of the round row."""
    if round_.signatures_required is None:
        return bool(settings.JICAI_SIGNATURES_REQUIRED)
    return bool(round_.signatures_required)


@sensitive_variables()  # no price in a traceback's local variables
def bid_signed_content(
    *,
    round_code: str,
    manufacturer_code: str,
    item_code: str,
    specification_code: str,
    product_code: str | None,
    version: int,
    unit_price: Decimal,
    annual_capacity: int,
) -> bytes:
    """The bytes a bidder signs for one version of one bid."""
    return sealing.canonical_json(
        {
            "format": BID_SIGNATURE_FORMAT,
            "round": round_code,
            "manufacturer": manufacturer_code,
            "item": item_code,
            "specification": specification_code,
            "product": product_code,
            "version": version,
            "unit_price": sealing.price_text(unit_price),
            "annual_capacity": sealing.capacity_text(annual_capacity),
        }
    )


@dataclass(frozen=True)
class BidSignature:
    """A verified signature, ready to be stored with the version it signs."""

    key: SigningKey
    value: bytes

    def receipt_section(self) -> dict[str, str]:
        return receipt_section(fingerprint=self.key.fingerprint, value=self.value)


def receipt_section(*, fingerprint: str, value: bytes) -> dict[str, str]:
    """The receipt's ``signature`` section (covered by the receipt hash, so by the bid log
    entry): the key's fingerprint and the SHA-256 of the signature."""
    return {"key": fingerprint, "sha256": hashlib.sha256(value).hexdigest()}


def signature_missing() -> ValidationError:
    """The refusal of an unsigned bid version in a round that requires signatures."""
    return ValidationError(
        _(
            "This round requires every bid to be signed with your registered signing "
            "key. Register a key on the Signing keys page, then sign and seal again."
        ),
        code="signature_required",
    )


@sensitive_variables()  # no price in a traceback's local variables
def bid_signature_check(
    *,
    round_: Round,
    by: User,
    content: bytes,
    signature: SignatureInput | None,
) -> BidSignature | None:
    """Before sealing: the verified signature of ``content`` (None when the round does not
    require one and none was sent). A missing or bad signature is refused with a clear
    message and nothing is written (the caller's transaction rolls back)."""
    if signature is None:
        if signatures_required(round_=round_):
            raise signature_missing()
        return None
    key = signature_check(signature=signature, user=by, message=content, at=timezone.now())
    return BidSignature(key=key, value=signature.value)


@sensitive_variables()  # no price in a traceback's local variables
def opened_signature_status(
    *,
    signature: bytes,
    key: SigningKey | None,
    content: bytes | None,
) -> str:
    """At the opening: ``valid``, ``absent`` or ``invalid`` for one opened version
    (``content`` None: the terms could not be decrypted, so nothing can verify)."""
    from bidding.models import OpenedBid

    if not signature or key is None:
        return OpenedBid.Signature.ABSENT
    if content is None:
        return OpenedBid.Signature.INVALID
    if signature_valid(spki_der=bytes(key.public_key), message=content, signature=signature):
        return OpenedBid.Signature.VALID
    return OpenedBid.Signature.INVALID


@sensitive_variables()  # no price in a traceback's local variables
def version_signature_check(
    *,
    round_: Round,
    manufacturer_code: str,
    item_code: str,
    specification_code: str,
    product_code: str | None,
    version: int,
    unit_price: Decimal,
    annual_capacity: int,
    by: User,
    signature: SignatureInput | None,
) -> BidSignature | None:
    """``bid_signature_check`` of the content of the version about to be sealed."""
    if signature is None and not signatures_required(round_=round_):
        return None  # no query, no work: the round does not ask for signatures
    content = bid_signed_content(
        round_code=round_.code,
        manufacturer_code=manufacturer_code,
        item_code=item_code,
        specification_code=specification_code,
        product_code=product_code,
        version=version,
        unit_price=unit_price,
        annual_capacity=annual_capacity,
    )
    return bid_signature_check(round_=round_, by=by, content=content, signature=signature)


# --- the bid sheet's confirmation page (the browser signs there) ---------------------------


@dataclass
class SheetSigning:
    """What the confirmation page needs to have the browser sign each line: whether the
    round requires it, the user's usable key fingerprints, and per line (by form prefix)
    the base64 of the bytes to sign."""

    required: bool
    keys: list[str]
    contents: dict[str, str]


def line_content(*, round_: Round, manufacturer_code: str, change: Any) -> bytes:
    """The content of a bid sheet line (``bidding.forms.SheetLine``) about to be sealed."""
    from bidding.services.terms import product_code

    line = change.line
    bid = change.form.row.bid
    version = 1 if bid is None else bid.current_version + 1
    return bid_signed_content(
        round_code=round_.code,
        manufacturer_code=manufacturer_code,
        item_code=line.round_item.item.code,
        specification_code=line.specification.code,
        product_code=product_code(line.product),
        version=version,
        unit_price=line.unit_price,
        annual_capacity=line.annual_capacity,
    )


def sheet_signing(*, round_: Round, user: User, changes: list[Any]) -> SheetSigning:
    organization = user.organization
    assert organization is not None
    now = timezone.now()
    keys = [
        k.fingerprint
        for k in SigningKey.objects.filter(
            user=user, revoked_at__isnull=True, valid_from__lte=now, valid_until__gte=now
        )
    ]
    contents = {}
    for change in changes:
        encoded = base64.b64encode(
            line_content(
                round_=round_, manufacturer_code=organization.social_credit_code, change=change
            )
        ).decode("ascii")
        contents[change.form.prefix] = encoded
        change.sign_content = encoded  # read by the confirmation page's template
    return SheetSigning(required=signatures_required(round_=round_), keys=keys, contents=contents)


def sheet_signed_lines(*, data: Mapping[str, Any], changes: list[Any]) -> list[Any]:
    """The sheet's lines with the signatures the confirmation page posted (``signature-``
    plus the line's form prefix, and the one ``signing_key``); a line without one stays
    unsigned (the service refuses it if the round requires signatures)."""
    key = str(data.get("signing_key", "")).strip()
    lines = []
    for change in changes:
        value = str(data.get(f"signature-{change.form.prefix}", "")).strip()
        signature = SignatureInput.parse(key=key, value=value) if key and value else None
        lines.append(replace(change.line, signature=signature))
    return lines

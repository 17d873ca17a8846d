"""Signed contract confirmations (docs/signatures.md).

Each party signs the contract's **canonical content** when it confirms: the contract
number, the round, both parties' social credit codes, the contract version, the total and
every line of that version (item, province, agreed volume, unit price, amount, term,
dates), with the signing party named, as canonical JSON (``bidding.sealing.canonical_json``).
The content is rebuilt from the database rows, never taken from the client, so a
signature verifies only if the party signed exactly what the platform holds; and a
contract changed afterwards no longer verifies (the PDF says so, and so does
``manage.py verify_contract_signatures``).
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import SigningKey, User
from accounts.signing import SignatureInput, signature_check, signature_valid
from bidding.sealing import canonical_json
from bidding.signatures import signatures_required
from contracts.models import Contract, ContractLine, ContractSignature

CONTRACT_SIGNATURE_FORMAT = "jicai-contract-signature/1"
VALID, INVALID, ABSENT = "valid", "invalid", "absent"


def contract_signed_content(*, contract: Contract, party: str, version: int | None = None) -> bytes:
    """The bytes ``party`` signs to confirm ``contract`` as of ``version`` (current: None)."""
    version = contract.current_version if version is None else version
    lines = (
        ContractLine.objects.filter(contract=contract, version=version)
        .select_related("round_item__item", "region")
        .order_by("round_item__item__code", "pk")
    )
    return canonical_json(
        {
            "format": CONTRACT_SIGNATURE_FORMAT,
            "contract": contract.number,
            "round": contract.round.code,
            "hospital": contract.hospital.social_credit_code,
            "manufacturer": contract.manufacturer.social_credit_code,
            "party": party,
            "version": version,
            "total": f"{contract.total:.2f}",
            "lines": [  # type: ignore[dict-item]
                {
                    "item": line.round_item.item.code,
                    "region": line.region.code,
                    "quantity": str(line.quantity),
                    "unit_price": f"{line.unit_price:.6f}",
                    "amount": f"{line.amount:.2f}",
                    "term_years": line.term_years,
                    "starts_on": line.starts_on.isoformat(),
                    "ends_on": line.ends_on.isoformat(),
                }
                for line in lines
            ],
        }
    )


def party_of(*, contract: Contract, user: User) -> str | None:
    if user.organization_id == contract.hospital_id:
        return ContractSignature.Party.HOSPITAL
    if user.organization_id == contract.manufacturer_id:
        return ContractSignature.Party.MANUFACTURER
    return None


def confirmation_signature_check(
    *,
    contract: Contract,
    by: User,
    signature: SignatureInput | None,
    at: datetime.datetime,
) -> ContractSignature | None:
    """Before a confirmation is written: the verified signature, unsaved (None when the
    round does not require one and none was sent). Refused with a clear message otherwise;
    the caller's transaction then writes nothing."""
    party = party_of(contract=contract, user=by)
    if party is None:
        return None  # contract_confirm refuses non-parties itself
    if signature is None:
        if signatures_required(round_=contract.round):
            raise ValidationError(
                _(
                    "This round requires contract confirmations to be signed with your "
                    "registered signing key. Register a key on the Signing keys page, then "
                    "sign and confirm again."
                ),
                code="signature_required",
            )
        return None
    content = contract_signed_content(contract=contract, party=party)
    key = signature_check(signature=signature, user=by, message=content, at=at)
    return ContractSignature(
        contract=contract,
        party=party,
        version=contract.current_version,
        content=content,
        signature=signature.value,
        signing_key=key,
        signed_by=by,
        signed_at=at,
    )


@dataclass(frozen=True)
class SignatureCheck:
    """One party's signature block, verified: for the PDF, the page and the command."""

    party: str
    status: str  # valid / invalid / absent
    signer: str
    signed_at: datetime.datetime | None
    fingerprint: str
    short_fingerprint: str
    version: int | None
    reason: str

    @property
    def grouped_fingerprint(self) -> str:
        """The whole fingerprint in groups of four hex digits (wraps in a narrow cell)."""
        return " ".join(self.fingerprint[i : i + 4] for i in range(0, len(self.fingerprint), 4))


def contract_signatures_verify(*, contract: Contract) -> list[SignatureCheck]:
    """Each party's latest signature, verified over the content rebuilt from the database
    now (a contract or signature changed after signing verifies as invalid)."""
    latest: dict[str, ContractSignature] = {}
    for row in ContractSignature.objects.filter(contract=contract).select_related(
        "signing_key", "signed_by"
    ):
        latest[row.party] = row  # ordered by version: the last one wins
    checks = []
    for party in ContractSignature.Party.values:
        found = latest.get(party)
        if found is None:
            checks.append(SignatureCheck(party, ABSENT, "", None, "", "", None, ""))
            continue
        rebuilt = contract_signed_content(contract=contract, party=party, version=found.version)
        reason = ""
        if rebuilt != bytes(found.content):
            reason = "content_changed"
        elif not signature_valid(
            spki_der=bytes(found.signing_key.public_key),
            message=rebuilt,
            signature=bytes(found.signature),
        ):
            reason = "signature_mismatch"
        checks.append(
            SignatureCheck(
                party=party,
                status=INVALID if reason else VALID,
                signer=found.signed_by.get_username(),
                signed_at=found.signed_at,
                fingerprint=found.signing_key.fingerprint,
                short_fingerprint=found.signing_key.short_fingerprint,
                version=found.version,
                reason=reason,
            )
        )
    return checks


@dataclass(frozen=True)
class ConfirmSigning:
    """What the contract page's confirm form needs to have the browser sign: whether the
    round requires it, the user's usable key fingerprints, the base64 of the content."""

    required: bool
    keys: list[str]
    content: str


def confirm_signing(*, contract: Contract, user: User) -> ConfirmSigning | None:
    party = party_of(contract=contract, user=user)
    if party is None:
        return None
    now = timezone.now()
    keys = list(
        SigningKey.objects.filter(
            user=user, revoked_at__isnull=True, valid_from__lte=now, valid_until__gte=now
        ).values_list("fingerprint", flat=True)
    )
    content = base64.b64encode(contract_signed_content(contract=contract, party=party))
    return ConfirmSigning(
        required=signatures_required(round_=contract.round),
        keys=keys,
        content=content.decode("ascii"),
    )


def posted_signature(data: Any) -> SignatureInput | None:
    """The signature a confirm form posted (``signing_key`` and ``signature``), if any."""
    key = str(data.get("signing_key", "")).strip()
    value = str(data.get("signature", "")).strip()
    if not key or not value:
        return None
    return SignatureInput.parse(key=key, value=value)

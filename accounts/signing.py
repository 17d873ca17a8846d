"""Signing keys and signature checks (docs/signatures.md).

A user who signs bids or contract confirmations registers a public key: one generated in
the browser with WebCrypto (ECDSA P-256; the private key stays on the user's device), or
the key of an X.509 certificate the organization uploads, whose chain is verified against
the trust anchors named by the setting ``JICAI_SIGNING_TRUST_ANCHORS`` with the
``cryptography`` package's X.509 verifier. Every signature is ECDSA P-256 with SHA-256
over canonical bytes the signed thing defines (``bidding.signatures``,
``contracts.signatures``); WebCrypto's raw ``r || s`` form and DER are both accepted.

Nothing here implements a cryptographic primitive: keys, signatures and certificate paths
are all checked by ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, SigningKey, User

RAW_SIGNATURE_BYTES = 64  # WebCrypto's ECDSA P-256 signature: r and s, 32 bytes each
MAX_SIGNATURE_BYTES = 80  # a DER P-256 signature is at most 72 bytes
SIGNING_KINDS = (Organization.Kind.MANUFACTURER, Organization.Kind.HOSPITAL)


class SigningError(ValueError):
    """A key, certificate or signature that cannot be used (the message is for people)."""


# --- pure checks --------------------------------------------------------------------------


def fingerprint_of(spki_der: bytes) -> str:
    """A key's fingerprint: SHA-256 (hex) of its DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der).hexdigest()


def _p256(key: object) -> ec.EllipticCurvePublicKey:
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningError(_("Only ECDSA P-256 keys are accepted."))
    return key


def spki_of(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_parse(text: str) -> bytes:
    """The DER SubjectPublicKeyInfo of a P-256 public key given as PEM or as base64 of DER
    (what WebCrypto's ``exportKey("spki", ...)`` gives)."""
    text = (text or "").strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
        raise SigningError(_("The public key could not be read.")) from None
    return spki_of(_p256(key))


def signature_der(signature: bytes) -> bytes:
    """DER form of an ECDSA signature given raw (WebCrypto's ``r || s``) or already DER."""
    if len(signature) == RAW_SIGNATURE_BYTES:
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        return encode_dss_signature(r, s)
    return signature


def signature_valid(*, spki_der: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid ECDSA P-256 / SHA-256 signature of ``message``."""
    if not signature or len(signature) > MAX_SIGNATURE_BYTES:
        return False
    try:
        key = _p256(serialization.load_der_public_key(spki_der))
        key.verify(signature_der(signature), message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, SigningError, ValueError):
        return False
    return True


def signature_decode(value: str) -> bytes:
    """A signature as sent (base64, standard or URL-safe alphabet)."""
    text = (value or "").strip()
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        raise SigningError(_("The signature is not valid base64.")) from None
    if not raw or len(raw) > MAX_SIGNATURE_BYTES:
        raise SigningError(_("The signature has the wrong length."))
    return raw


def trust_anchors() -> list[x509.Certificate]:
    """The root certificates of the CAs whose certificates may sign (PEM bundle named by
    ``JICAI_SIGNING_TRUST_ANCHORS``; none configured, no certificate is accepted)."""
    path = getattr(settings, "JICAI_SIGNING_TRUST_ANCHORS", "")
    if not path:
        return []
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def certificate_chain_verify(
    *, certificate_pem: str, chain_pem: str = "", at: datetime.datetime
) -> x509.Certificate:
    """The leaf certificate of ``certificate_pem`` once its path to a configured trust
    anchor verifies at ``at`` (signatures, validity periods, CA constraints: the
    ``cryptography`` verifier, with any end-entity extensions allowed because signing
    certificates carry no server or client name). Raises SigningError otherwise."""
    try:
        leaf = x509.load_pem_x509_certificate(certificate_pem.strip().encode("ascii"))
        intermediates = (
            x509.load_pem_x509_certificates(chain_pem.strip().encode("ascii"))
            if chain_pem.strip()
            else []
        )
    except (ValueError, UnicodeEncodeError):
        raise SigningError(_("The certificate could not be read (PEM expected).")) from None
    _p256(leaf.public_key())
    if at < leaf.not_valid_before_utc or at > leaf.not_valid_after_utc:
        raise SigningError(
            _("The certificate is not valid now: it is valid from %(start)s to %(end)s.")
            % {
                "start": leaf.not_valid_before_utc.date().isoformat(),
                "end": leaf.not_valid_after_utc.date().isoformat(),
            }
        )
    anchors = trust_anchors()
    if not anchors:
        raise SigningError(_("No trust anchors are configured: certificates cannot be accepted."))
    verifier = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(at)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, intermediates)
    except VerificationError:
        raise SigningError(
            _("The certificate does not chain to a trusted certification authority.")
        ) from None
    return leaf


# --- services -----------------------------------------------------------------------------


def _signer_organization(user: User) -> Organization:
    organization = user.organization
    if organization is None or organization.kind not in SIGNING_KINDS:
        raise ValidationError(
            _("Only manufacturer and hospital users register signing keys."), code="not_signer"
        )
    return organization


def _key_create(*, user: User, name: str, spki: bytes, **fields: object) -> SigningKey:
    organization = _signer_organization(user)
    name = (name or "").strip()[:100] or _("Signing key")
    fingerprint = fingerprint_of(spki)
    if SigningKey.objects.filter(fingerprint=fingerprint).exists():
        raise ValidationError(_("This key is already registered."), code="key_exists")
    with transaction.atomic():
        return SigningKey.objects.create(
            user=user,
            organization=organization,
            name=name,
            public_key=spki,
            fingerprint=fingerprint,
            **fields,
        )


def signing_key_register_browser(
    *, user: User, name: str, public_key: str, now: datetime.datetime | None = None
) -> SigningKey:
    """Register a public key generated in the user's browser; valid for
    ``JICAI_SIGNING_KEY_DAYS`` days from now."""
    now = now or timezone.now()
    try:
        spki = public_key_parse(public_key)
    except SigningError as exc:
        raise ValidationError(str(exc), code="bad_key") from None
    days = int(getattr(settings, "JICAI_SIGNING_KEY_DAYS", 730))
    return _key_create(
        user=user,
        name=name,
        spki=spki,
        kind=SigningKey.Kind.BROWSER,
        valid_from=now,
        valid_until=now + datetime.timedelta(days=days),
    )


def signing_key_register_certificate(
    *,
    user: User,
    name: str,
    certificate_pem: str,
    chain_pem: str = "",
    now: datetime.datetime | None = None,
) -> SigningKey:
    """Register the key of an X.509 certificate whose chain verifies against the trust
    anchors now; the key is valid as long as the certificate."""
    now = now or timezone.now()
    try:
        leaf = certificate_chain_verify(
            certificate_pem=certificate_pem, chain_pem=chain_pem, at=now
        )
    except SigningError as exc:
        raise ValidationError(str(exc), code="bad_certificate") from None
    return _key_create(
        user=user,
        name=name,
        spki=spki_of(_p256(leaf.public_key())),
        kind=SigningKey.Kind.CERTIFICATE,
        certificate=leaf.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        subject=leaf.subject.rfc4514_string()[:300],
        valid_from=leaf.not_valid_before_utc,
        valid_until=leaf.not_valid_after_utc,
    )


def signing_key_revoke(*, key: SigningKey, by: User, reason: str = "") -> SigningKey:
    """Revoke ``key`` (its owner, or a user of its organization): it signs nothing after
    now; what it signed before stays verifiable."""
    if by.organization_id != key.organization_id:
        raise ValidationError(_("This key belongs to another organization."), code="not_owner")
    SigningKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=(reason or "").strip()[:200]
    )
    key.refresh_from_db()
    return key


def signing_keys_of(*, user: User) -> list[SigningKey]:
    return list(SigningKey.objects.filter(user=user))


@dataclass(frozen=True)
class SignatureInput:
    """A signature as submitted: the key's fingerprint and the signature bytes."""

    key: str
    value: bytes

    @classmethod
    def parse(cls, *, key: str, value: str) -> SignatureInput:
        key = (key or "").strip().lower().replace(" ", "").replace(":", "")
        try:
            raw = signature_decode(value)
        except SigningError as exc:
            raise ValidationError(str(exc), code="bad_signature") from None
        return cls(key=key, value=raw)


def signature_check(
    *, signature: SignatureInput, user: User, message: bytes, at: datetime.datetime
) -> SigningKey:
    """The user's key that made ``signature`` over ``message``, valid and not revoked at
    ``at``; a ValidationError saying why otherwise. One query (the key by fingerprint)."""
    key = SigningKey.objects.filter(fingerprint=signature.key).first()
    if key is None or key.user_id != user.pk:
        raise ValidationError(
            _("The signing key %(key)s is not one of your registered keys.")
            % {"key": signature.key[:16]},
            code="unknown_key",
        )
    if key.revoked_at is not None and key.revoked_at <= at:
        raise ValidationError(
            _("The signing key %(key)s was revoked.") % {"key": key.short_fingerprint},
            code="key_revoked",
        )
    if not key.valid_from <= at <= key.valid_until:
        raise ValidationError(
            _("The signing key %(key)s is not valid now (valid until %(until)s).")
            % {"key": key.short_fingerprint, "until": key.valid_until.date().isoformat()},
            code="key_expired",
        )
    if not signature_valid(
        spki_der=bytes(key.public_key), message=message, signature=signature.value
    ):
        raise ValidationError(
            _(
                "The signature does not verify with key %(key)s: it was not made over this "
                "content with this key. Nothing was saved."
            )
            % {"key": key.short_fingerprint},
            code="bad_signature",
        )
    return key

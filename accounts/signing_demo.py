"""Demo signing keys (``seed_demo`` only; docs/signatures.md, "The demo").

The demo data are built through the real services, which verify signatures; so each demo
manufacturer and hospital user gets a key derived from its user name, and the demo's
sealed bids and contract confirmations are signed with it. These private keys are
**public** (anyone can derive them from this file), like the demo passwords: they exist
only so the demo rounds show signatures working. A demo user signing in a browser
registers its own key on the Signing keys page.
"""

from __future__ import annotations

import datetime
import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from accounts.models import SigningKey, User
from accounts.signing import SignatureInput, fingerprint_of, spki_of

DEMO_KEY_NAME = "Demo key (public: demo data only)"
# The order of the P-256 group: a derived scalar must lie in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def demo_private_key(username: str) -> ec.EllipticCurvePrivateKey:
    seed = hashlib.sha256(f"jicai-demo-signing-key:{username}".encode()).digest()
    scalar = int.from_bytes(seed, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def demo_signing_key(user: User) -> SigningKey:
    """The user's demo key, registered once (idempotent)."""
    spki = spki_of(demo_private_key(user.username).public_key())
    now = timezone.now()
    key, _created = SigningKey.objects.get_or_create(
        fingerprint=fingerprint_of(spki),
        defaults={
            "user": user,
            "organization_id": user.organization_id,
            "kind": SigningKey.Kind.BROWSER,
            "name": DEMO_KEY_NAME,
            "public_key": spki,
            "valid_from": now - datetime.timedelta(days=400),
            "valid_until": now + datetime.timedelta(days=3650),
        },
    )
    return key


def demo_sign(user: User, content: bytes) -> SignatureInput:
    """The user's demo signature of ``content`` (DER form)."""
    key = demo_signing_key(user)
    signature = demo_private_key(user.username).sign(content, ec.ECDSA(hashes.SHA256()))
    return SignatureInput(key=key.fingerprint, value=signature)

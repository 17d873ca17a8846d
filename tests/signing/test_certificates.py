"""X.509 signing certificates: a chain to a configured trust anchor is accepted (and its
key signs bids); an untrusted chain, an expired certificate, a non-P-256 key and no
configured anchors are refused with a clear reason, nothing registered."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.models import SigningKey
from accounts.signing import signing_key_register_certificate
from bidding.models import BidVersion
from bidding.services import bid_submit
from procurement.models import Round
from tests.bidding.conftest import World
from tests.signing.keys import Authority, BrowserKey, authority
from tests.signing.test_bids import content

D = Decimal


@pytest.fixture
def trusted(settings, tmp_path: Path) -> Authority:  # type: ignore[no-untyped-def]
    ca = authority("Jicai test CA")
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(ca.pem)
    settings.JICAI_SIGNING_TRUST_ANCHORS = str(anchors)
    return ca


def test_a_certificate_chaining_to_a_trust_anchor_is_accepted_and_signs_bids(
    world: World, trusted: Authority
) -> None:
    private, pem = trusted.issue("Maker tender department")
    key = signing_key_register_certificate(user=world.bidder, name="CA", certificate_pem=pem)
    assert key.kind == SigningKey.Kind.CERTIFICATE
    assert key.subject == "CN=Maker tender department"
    Round.objects.filter(pk=world.round.pk).update(signatures_required=True)
    world.round.refresh_from_db()
    signer = BrowserKey(private=private, key=key)
    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=D("1.5000"),
        annual_capacity=1000,
        by=world.bidder,
        signature=signer.sign(
            content(world, product=world.bidder_20, price="1.5000", capacity=1000, version=1)
        ),
    )
    assert BidVersion.objects.get().signing_key == key


def test_an_intermediate_ca_in_the_chain_is_followed(world: World, trusted: Authority) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    now = datetime.datetime.now(datetime.UTC)
    middle_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Intermediate")])
    middle = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(trusted.certificate.subject)
        .public_key(middle_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=900))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(trusted.private.public_key()),
            critical=False,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(middle_key.public_key()), critical=False
        )
        .sign(trusted.private, hashes.SHA256())
    )
    issuer = Authority(private=middle_key, certificate=middle)
    _private, pem = issuer.issue("Maker via intermediate")
    chain = middle.public_bytes(serialization.Encoding.PEM).decode("ascii")
    with pytest.raises(ValidationError):  # without the intermediate: no path
        signing_key_register_certificate(user=world.bidder, name="x", certificate_pem=pem)
    key = signing_key_register_certificate(
        user=world.bidder, name="x", certificate_pem=pem, chain_pem=chain
    )
    assert key.kind == SigningKey.Kind.CERTIFICATE


def test_an_untrusted_certificate_is_refused(world: World, trusted: Authority) -> None:
    _private, pem = authority("Somebody else's CA").issue("Impostor")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        signing_key_register_certificate(user=world.bidder, name="x", certificate_pem=pem)
    assert refused.value.messages == [
        "The certificate does not chain to a trusted certification authority."
    ]
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused_zh:
        signing_key_register_certificate(user=world.bidder, name="x", certificate_pem=pem)
    assert refused_zh.value.messages == ["该证书不能链接到受信任的电子认证服务机构（CA）。"]
    assert not SigningKey.objects.exists()


def test_an_expired_certificate_is_refused(world: World, trusted: Authority) -> None:
    now = datetime.datetime.now(datetime.UTC)
    _private, pem = trusted.issue(
        "Expired",
        not_before=now - datetime.timedelta(days=400),
        not_after=now - datetime.timedelta(days=1),
    )
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        signing_key_register_certificate(user=world.bidder, name="x", certificate_pem=pem)
    start = (now - datetime.timedelta(days=400)).date().isoformat()
    end = (now - datetime.timedelta(days=1)).date().isoformat()
    assert refused.value.messages == [
        f"The certificate is not valid now: it is valid from {start} to {end}."
    ]
    assert not SigningKey.objects.exists()


def test_without_trust_anchors_no_certificate_is_accepted(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.JICAI_SIGNING_TRUST_ANCHORS = ""
    _private, pem = authority().issue("Maker")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        signing_key_register_certificate(user=world.bidder, name="x", certificate_pem=pem)
    assert refused.value.messages == [
        "No trust anchors are configured: certificates cannot be accepted."
    ]


def test_garbage_is_not_a_certificate(world: World, trusted: Authority) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        signing_key_register_certificate(
            user=world.bidder, name="x", certificate_pem="-----BEGIN CERTIFICATE-----\nxx"
        )
    assert refused.value.messages == ["The certificate could not be read (PEM expected)."]

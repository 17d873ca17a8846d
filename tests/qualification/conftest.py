"""Helpers for the qualification tests: a drug round in bidding (the bidding tests' small
world) that requires qualification, and approved documents made through the services."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from accounts.models import Organization, User
from catalog.models import Product
from qualification.demo import specimen_pdf
from qualification.models import DocumentKind, QualificationDocument, RoundQualificationRule
from qualification.services import DocumentDraft, document_review, document_upload
from tests.bidding.conftest import World, build_world

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings: object, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]
    yield tmp_path


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def pdf_file(name: str = "licence.pdf", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, specimen_pdf() if content is None else content)


def today() -> datetime.date:
    return timezone.localdate()


def upload(
    user: User,
    kind: str,
    *,
    product: Product | None = None,
    valid_from: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    number: str = "",
) -> QualificationDocument:
    return document_upload(
        draft=DocumentDraft(
            kind=kind,
            number=number or f"{kind}-{QualificationDocument.objects.count() + 1}",
            issuer="State Administration for Market Regulation",
            valid_from=valid_from or today() - datetime.timedelta(days=365),
            valid_until=valid_until or today() + datetime.timedelta(days=365),
            product=product,
        ),
        file=pdf_file(),
        by=user,
    )


def approve(document: QualificationDocument, office: User) -> QualificationDocument:
    return document_review(document=document, action="approved", note="", by=office)


def qualify(
    user: User,
    office: User,
    products: list[Product],
    *,
    until: datetime.date | None = None,
) -> None:
    """Approved documents for the organization and each product, valid until ``until``."""
    approve(upload(user, DocumentKind.BUSINESS_LICENCE, valid_until=until), office)
    approve(upload(user, DocumentKind.PRODUCTION_LICENCE), office)
    for product in products:
        approve(upload(user, DocumentKind.DRUG_REGISTRATION, product=product), office)
        approve(upload(user, DocumentKind.CONSISTENCY_EVALUATION, product=product), office)


@pytest.fixture
def world(db: None) -> World:
    """The bidding tests' world; its round requires qualification."""
    built = build_world()
    RoundQualificationRule.objects.create(round=built.round, required=True)
    return built


def org(user: User) -> Organization:
    assert user.organization is not None
    return user.organization

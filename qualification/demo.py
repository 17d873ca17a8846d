"""Demo data of the qualification app, for ``seed_demo`` (before ``bidding.demo`` seals
the demo bids): every demo manufacturer has approved documents valid for years (business
licence, production licence, and per product its registration certificate and, for
drugs, the consistency-evaluation approval or originator status), with their history;
maker01 also has a GMP certificate expiring within 30 days (the office's warning list).
All point at one specimen PDF kept in the default storage."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from typing import TextIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import Organization, User
from catalog.models import Product, ProductKind
from qualification.models import DocumentKind, DocumentReview, QualificationDocument

SPECIMEN_NAME = "qualification/demo/specimen.pdf"


def specimen_pdf() -> bytes:
    """A one-page PDF saying it is a specimen (hand-built, valid cross-reference table)."""
    text = b"BT /F1 18 Tf 72 760 Td (Jicai demo: specimen qualification document) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _specimen() -> tuple[str, str, int]:
    content = specimen_pdf()
    if not default_storage.exists(SPECIMEN_NAME):
        default_storage.save(SPECIMEN_NAME, ContentFile(content))
    return SPECIMEN_NAME, hashlib.sha256(content).hexdigest(), len(content)


@dataclass(frozen=True)
class _Context:
    organization: Organization
    by: User
    office: User
    specimen: tuple[str, str, int]


def _approved(
    context: _Context,
    *,
    kind: str,
    number: str,
    issuer: str,
    valid_from: datetime.date,
    valid_until: datetime.date,
    product: Product | None = None,
) -> bool:
    organization, by, office = context.organization, context.by, context.office
    if QualificationDocument.objects.filter(
        organization=organization, kind=kind, number=number
    ).exists():
        return False
    name, sha256, size = context.specimen
    now = timezone.now()
    document = QualificationDocument.objects.create(
        organization=organization,
        kind=kind,
        product=product,
        number=number,
        issuer=issuer,
        valid_from=valid_from,
        valid_until=valid_until,
        file=name,
        content_type="application/pdf",
        size=size,
        sha256=sha256,
        status=QualificationDocument.Status.APPROVED,
        uploaded_by=by,
        uploaded_at=now - datetime.timedelta(days=10),
    )
    DocumentReview.objects.bulk_create(
        [
            DocumentReview(
                document=document,
                action=DocumentReview.Action.SUBMITTED,
                by=by,
                at=now - datetime.timedelta(days=10),
                sha256=sha256,
            ),
            DocumentReview(
                document=document,
                action=DocumentReview.Action.APPROVED,
                by=office,
                at=now - datetime.timedelta(days=9),
                sha256=sha256,
            ),
        ]
    )
    return True


def load(*, stdout: TextIO) -> None:
    office = User.objects.filter(username="office").first()
    if office is None:
        return
    specimen = _specimen()
    today = timezone.localdate()
    since, until = today - datetime.timedelta(days=730), today + datetime.timedelta(days=1095)
    created = 0
    makers = User.objects.filter(
        username__startswith="maker", organization__kind=Organization.Kind.MANUFACTURER
    ).select_related("organization")
    for user in makers.order_by("username"):
        organization = user.organization
        assert organization is not None
        common = _Context(organization, user, office, specimen)
        created += _approved(
            common,
            kind=DocumentKind.BUSINESS_LICENCE,
            number=organization.social_credit_code,
            issuer="市场监督管理局（演示）",
            valid_from=since,
            valid_until=until,
        )
        created += _approved(
            common,
            kind=DocumentKind.PRODUCTION_LICENCE,
            number=f"PL-{organization.social_credit_code[-8:]}",
            issuer="省药品监督管理局（演示）",
            valid_from=since,
            valid_until=until,
        )
        for product in Product.objects.filter(manufacturer=organization).order_by("pk"):
            drug = product.kind == ProductKind.DRUG
            created += _approved(
                common,
                kind=DocumentKind.DRUG_REGISTRATION if drug else DocumentKind.DEVICE_REGISTRATION,
                number=(product.approval_number or product.registration_number or f"R{product.pk}"),
                issuer="国家药品监督管理局（演示）",
                valid_from=since,
                valid_until=until,
                product=product,
            )
            if drug:
                created += _approved(
                    common,
                    kind=DocumentKind.ORIGINATOR
                    if product.is_originator
                    else DocumentKind.CONSISTENCY_EVALUATION,
                    number=f"CE-{product.pk:05d}",
                    issuer="国家药品监督管理局药品审评中心（演示）",
                    valid_from=since,
                    valid_until=until,
                    product=product,
                )
        if user.username == "maker01":
            created += _approved(
                common,
                kind=DocumentKind.GMP,
                number="GMP-DEMO-0001",
                issuer="省药品监督管理局（演示）",
                valid_from=today - datetime.timedelta(days=1800),
                valid_until=today + datetime.timedelta(days=20),
            )
    stdout.write(f"qualification: {created} approved demo documents\n")

"""Uploading qualification documents (limits, types, nothing written on a refusal), the
office's review with its history, resubmission, the expiry warnings and who sees a file."""

from __future__ import annotations

import datetime
import html
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import Organization
from qualification.models import DocumentKind, DocumentReview, QualificationDocument
from qualification.services import (
    DocumentDraft,
    document_resubmit,
    document_review,
    document_upload,
)
from tests.bidding.conftest import World
from tests.factories import user_of
from tests.qualification.conftest import PNG, approve, pdf_file, today, upload

pytestmark = pytest.mark.django_db


def _client(user: object) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _form(kind: str = DocumentKind.BUSINESS_LICENCE, **extra: object) -> dict[str, object]:
    return {
        "kind": kind,
        "number": "91110000MA01ABCD1X",
        "issuer": "Beijing market regulation",
        "valid_from": "2025-01-01",
        "valid_until": "2030-12-31",
        **extra,
    }


def _stored(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()]


def test_a_manufacturer_uploads_a_document_from_its_page(world: World, _media: Path) -> None:
    response = _client(world.bidder).post(
        reverse("qualification:documents"), {**_form(), "file": pdf_file()}
    )
    assert response.status_code == 302
    document = QualificationDocument.objects.get()
    assert (document.status, document.organization) == ("submitted", world.bidder.organization)
    assert document.content_type == "application/pdf"
    assert _stored(_media) == [Path(document.file.path)]
    history = list(document.reviews.values_list("action", "by__username"))
    assert history == [("submitted", world.bidder.username)]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("licence.exe", b"%PDF-1.4 x", "The file must be a PDF, PNG or JPEG"),
        ("licence.pdf", PNG, "The file's content is not a PDF file"),
        ("licence.png", b"%PDF-1.4", "The file's content is not a PNG file"),
        ("licence.pdf", b"", "The submitted file is empty."),
    ],
)
def test_a_file_of_the_wrong_type_is_refused_and_nothing_written(
    world: World, _media: Path, name: str, content: bytes, message: str
) -> None:
    response = _client(world.bidder).post(
        reverse("qualification:documents"), {**_form(), "file": pdf_file(name, content)}
    )
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert not QualificationDocument.objects.exists()
    assert _stored(_media) == []


@override_settings(JICAI_QUALIFICATION_MAX_BYTES=2048)
def test_a_file_above_the_limit_is_refused_while_reading(world: World, _media: Path) -> None:
    big = b"%PDF-1.4\n" + b"0" * 4096
    with pytest.raises(ValidationError) as exc:
        upload_big = pdf_file("big.pdf", big)
        upload_big.size = None  # type: ignore[assignment]  # the size is not trusted: read
        document_upload(
            draft=DocumentDraft(
                kind=DocumentKind.BUSINESS_LICENCE,
                number="1",
                issuer="x",
                valid_from=today(),
                valid_until=today(),
            ),
            file=upload_big,
            by=world.bidder,
        )
    assert exc.value.code == "file_size"
    response = _client(world.bidder).post(
        reverse("qualification:documents"), {**_form(), "file": pdf_file("big.pdf", big)}
    )
    assert response.status_code == 400
    assert "The file is larger than" in html.unescape(response.content.decode())
    assert not QualificationDocument.objects.exists()
    assert _stored(_media) == []


def test_bad_fields_are_refused_by_field(world: World) -> None:
    client = _client(world.bidder)
    url = reverse("qualification:documents")
    response = client.post(
        url,
        {**_form(DocumentKind.DRUG_REGISTRATION, valid_until="2024-01-01"), "file": pdf_file()},
    )
    body = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert "This document is about one product: choose it." in body
    assert "A document cannot expire before it is valid." in body
    rival_product = world.rival_20.pk
    response = client.post(
        url, {**_form(DocumentKind.DRUG_REGISTRATION, product=rival_product), "file": pdf_file()}
    )
    assert response.status_code == 400  # another manufacturer's product is not offered
    assert not QualificationDocument.objects.exists()


def test_review_history_records_who_did_what_and_when(world: World) -> None:
    document = upload(world.bidder, DocumentKind.GMP)
    with pytest.raises(ValidationError) as exc:
        document_review(document=document, action="rejected", note="  ", by=world.office)
    assert exc.value.messages == ["Say why the document is rejected, or what more is needed."]
    with pytest.raises(ValidationError):
        document_review(document=document, action="approved", note="", by=world.bidder)
    document_review(
        document=document, action="more_requested", note="The scan is cut off.", by=world.office
    )
    with pytest.raises(ValidationError) as exc:
        approve(document, world.office)  # not waiting for review any more
    assert exc.value.code == "not_submitted"
    document_resubmit(
        document=document,
        draft=DocumentDraft(
            kind=document.kind,
            number="GMP-2",
            issuer="Provincial MPA",
            valid_from=today(),
            valid_until=today() + datetime.timedelta(days=700),
        ),
        file=pdf_file("again.png", PNG),
        by=world.bidder,
    )
    approve(document, world.office)
    document.refresh_from_db()
    assert (document.status, document.number, document.content_type) == (
        "approved",
        "GMP-2",
        "image/png",
    )
    steps = list(document.reviews.order_by("at", "pk").values_list("action", "by", "note"))
    assert steps == [
        ("submitted", world.bidder.pk, ""),
        ("more_requested", world.office.pk, "The scan is cut off."),
        ("resubmitted", world.bidder.pk, ""),
        ("approved", world.office.pk, ""),
    ]
    with pytest.raises(ValidationError) as exc:
        document_resubmit(
            document=document,
            draft=DocumentDraft(
                kind=document.kind, number="3", issuer="x", valid_from=today(), valid_until=today()
            ),
            file=pdf_file(),
            by=world.bidder,
        )
    assert exc.value.code == "not_resubmittable"
    # The history is on the document's page, for its organization and the office.
    for user in (world.bidder, world.office):
        page = _client(user).get(reverse("qualification:document", args=[document.pk]))
        assert page.status_code == 200
        assert "The scan is cut off." in page.content.decode()


def test_the_office_reviews_from_the_page(world: World) -> None:
    document = upload(world.bidder, DocumentKind.BUSINESS_LICENCE)
    client = _client(world.office)
    url = reverse("qualification:review", args=[document.pk])
    refused = client.post(url, {"action": "rejected", "note": ""})
    assert refused.status_code == 400
    assert "Say why the document is rejected" in html.unescape(refused.content.decode())
    response = client.post(url, {"action": "rejected", "note": "Expired copy"})
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.status == "rejected"
    assert DocumentReview.objects.filter(document=document, action="rejected").count() == 1
    assert _client(world.bidder).post(url, {"action": "approved"}).status_code == 403


def test_a_file_is_seen_by_its_organization_and_the_office_only(world: World) -> None:
    document = upload(world.bidder, DocumentKind.BUSINESS_LICENCE)
    url = reverse("qualification:document-file", args=[document.pk])
    for user in (world.bidder, world.office):
        response = _client(user).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"%PDF-")  # type: ignore[attr-defined]
        assert response["X-Content-Type-Options"] == "nosniff"
    for user in (world.rival, world.hospital):
        assert _client(user).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the sign-in page


def test_the_office_page_warns_of_documents_expiring_within_30_days(world: World) -> None:
    soon = approve(
        upload(world.bidder, DocumentKind.GMP, valid_until=today() + datetime.timedelta(days=30)),
        world.office,
    )
    later = approve(
        upload(world.bidder, DocumentKind.GMP, valid_until=today() + datetime.timedelta(days=31)),
        world.office,
    )
    waiting = upload(world.rival, DocumentKind.GMP, valid_until=today() + datetime.timedelta(2))
    expired = approve(
        upload(
            world.rival,
            DocumentKind.GMP,
            valid_from=today() - datetime.timedelta(days=90),
            valid_until=today() - datetime.timedelta(days=1),
        ),
        world.office,
    )
    from qualification.selectors import documents_expiring

    assert list(documents_expiring()) == [soon]
    body = _client(world.office).get(reverse("qualification:office")).content.decode()
    assert f"GMP certificate {soon.number}" in body
    assert later.number not in body.split("expiring within 30 days")[1].split("</section>")[0]
    assert f"GMP certificate {waiting.number}" in body  # in the review queue
    assert expired.number not in body


def test_a_hospital_uploads_its_licences_only(world: World) -> None:
    document = upload(world.hospital, DocumentKind.PRACTICE_LICENCE)
    assert document.organization.kind == Organization.Kind.HOSPITAL
    with pytest.raises(ValidationError) as exc:
        upload(world.hospital, DocumentKind.GMP)
    assert "A hospital uploads its licences and authorisation letters only." in exc.value.messages


def test_an_authorisation_letter_names_a_user_of_the_organization(world: World) -> None:
    colleague = user_of(Organization.Kind.MANUFACTURER)
    with pytest.raises(ValidationError) as exc:
        document_upload(
            draft=DocumentDraft(
                kind=DocumentKind.AUTHORISATION_LETTER,
                number="AL-1",
                issuer="Board",
                valid_from=today(),
                valid_until=today(),
                user=colleague,
            ),
            file=pdf_file(),
            by=world.bidder,
        )
    assert exc.value.message_dict == {"user": ["Choose a user of your own organization."]}
    letter = document_upload(
        draft=DocumentDraft(
            kind=DocumentKind.AUTHORISATION_LETTER,
            number="AL-1",
            issuer="Board",
            valid_from=today(),
            valid_until=today(),
            user=world.bidder,
        ),
        file=pdf_file(),
        by=world.bidder,
    )
    assert letter.user == world.bidder

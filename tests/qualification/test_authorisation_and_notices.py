"""The authorisation letter (授权委托书) a round may require of the user who seals a bid,
and the notifications of the office's reviews and of documents about to expire."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification
from bidding.models import BidVersion
from bidding.services import bid_submit
from procurement.models import Round
from qualification.models import DocumentKind, RoundQualificationRule
from qualification.notices import qualification_expiry_check
from qualification.services import (
    DocumentDraft,
    document_resubmit,
    document_review,
    document_upload,
    round_requirements_set,
)
from tests.bidding.conftest import World
from tests.qualification.conftest import approve, org, pdf_file, qualify, today, upload

D = Decimal


def _seal(world: World) -> None:
    bid_submit(
        round_item=world.round_item,
        specification=world.spec20,
        product=world.bidder_20,
        unit_price=D("1.5000"),
        annual_capacity=1000,
        by=world.bidder,
    )


def _letter(world: World, *, until: datetime.date | None = None):  # type: ignore[no-untyped-def]
    return document_upload(
        draft=DocumentDraft(
            kind=DocumentKind.AUTHORISATION_LETTER,
            number="SQ-2026-001",
            issuer="Manufacturer's legal representative",
            valid_from=today() - datetime.timedelta(days=10),
            valid_until=until or today() + datetime.timedelta(days=300),
            user=world.bidder,
        ),
        file=pdf_file(),
        by=world.bidder,
    )


def test_a_round_requiring_authorisation_refuses_a_user_without_a_letter(world: World) -> None:
    qualify(world.bidder, world.office, [world.bidder_20])
    RoundQualificationRule.objects.filter(round=world.round).update(authorisation_required=True)
    with pytest.raises(ValidationError) as refused:
        _seal(world)
    assert refused.value.code == "authorisation_missing"
    assert refused.value.messages == [
        "This round requires an approved authorisation letter for the user who seals bids: "
        f"{world.bidder.username} has none valid on {today().isoformat()}. Upload it on "
        "Qualification documents."
    ]
    letter = _letter(world)
    with pytest.raises(ValidationError):  # uploaded, not yet approved
        _seal(world)
    approve(letter, world.office)
    _seal(world)
    assert BidVersion.objects.count() == 1


def test_without_the_requirement_no_letter_is_needed(world: World) -> None:
    qualify(world.bidder, world.office, [world.bidder_20])
    _seal(world)
    assert BidVersion.objects.count() == 1


def test_the_office_switches_the_requirements_before_bidding_only(world: World) -> None:
    draft = Round.objects.get(pk=world.round.pk)
    Round.objects.filter(pk=draft.pk).update(status=Round.Status.DRAFT)
    round_requirements_set(round_=draft, by=world.office, authorisation=True, signatures=True)
    draft.refresh_from_db()
    assert draft.signatures_required is True
    assert RoundQualificationRule.objects.get(round=draft).authorisation_required
    Round.objects.filter(pk=draft.pk).update(status=Round.Status.BIDDING_OPEN)
    with pytest.raises(ValidationError) as refused:
        round_requirements_set(round_=draft, by=world.office, signatures=False)
    assert refused.value.code == "too_late"
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.bidder)
    response = client.post(
        reverse("qualification:round-requirements", args=[draft.code]), {"signatures": "0"}
    )
    assert response.status_code == 403


def test_review_decisions_are_notified_and_done_when_resubmitted(world: World) -> None:
    document = upload(world.bidder, DocumentKind.BUSINESS_LICENCE)
    document_review(
        document=document, action="more_requested", note="Scan it in colour.", by=world.office
    )
    notice = Notification.objects.get(
        organization=org(world.bidder), kind=Notification.Kind.QUALIFICATION_REVIEWED
    )
    assert notice.kind == Notification.Kind.QUALIFICATION_REVIEWED
    assert notice.done_at is None
    with translation.override("en"):
        assert notice.subject_text == (
            f"Qualification document {document.number}: more information requested"
        )
        assert "Scan it in colour." in notice.body_text
    with translation.override("zh-hans"):
        assert "补充" in notice.subject_text
    document_resubmit(
        document=document,
        draft=DocumentDraft(
            kind=document.kind,
            number=document.number,
            issuer=document.issuer,
            valid_from=document.valid_from,
            valid_until=document.valid_until,
        ),
        file=pdf_file(),
        by=world.bidder,
    )
    notice.refresh_from_db()
    assert notice.done_at is not None
    approve(document, world.office)
    approved = (
        Notification.objects.filter(kind=Notification.Kind.QUALIFICATION_REVIEWED)
        .order_by("pk")
        .last()
    )
    assert approved is not None
    with translation.override("en"):
        assert approved.subject_text == f"Qualification document {document.number} approved"


def test_expiry_warnings_once_per_document_and_done_when_renewed(world: World) -> None:
    expiring = approve(
        upload(
            world.bidder,
            DocumentKind.BUSINESS_LICENCE,
            valid_until=today() + datetime.timedelta(days=10),
        ),
        world.office,
    )
    approve(upload(world.bidder, DocumentKind.PRODUCTION_LICENCE), world.office)  # a year left
    now = timezone.now()
    assert qualification_expiry_check(now=now) == 1
    assert qualification_expiry_check(now=now) == 0  # never twice
    warning = Notification.objects.get(kind=Notification.Kind.QUALIFICATION_EXPIRING)
    with translation.override("en"):
        assert warning.subject_text == (
            f"Qualification document {expiring.number} expires on "
            f"{expiring.valid_until.isoformat()}"
        )
    assert warning.done_at is None
    approve(upload(world.bidder, DocumentKind.BUSINESS_LICENCE), world.office)  # the renewal
    warning.refresh_from_db()
    assert warning.done_at is not None

"""Clarification Q&A: manufacturers ask until the cutoff, the office answers, the answer is
published to every bidder and on the public page, and nobody but the office learns who
asked."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, Organization, User
from procurement.models import RoundTransition
from tender.models import Clarification
from tender.services import clarification_answer, clarification_ask
from tests.factories import api_token_for, user_of
from tests.tender.conftest import Published, client_for, move_deadline

pytestmark = pytest.mark.django_db

QUESTION = "20mg规格的最高有效申报价是否含税？"
EDITED = "20mg规格的最高有效申报价是否含税？（已编辑）"
ANSWER = "含税，且包含配送费用。"


def _ask(published: Published, text: str = QUESTION) -> Clarification:
    return clarification_ask(
        round_=published.round, by=published.maker, question=text, round_item=published.atv
    )


def test_a_manufacturer_asks_and_the_office_publishes_the_answer(published: Published) -> None:
    question = _ask(published)
    assert question.status == Clarification.Status.PENDING and question.number is None
    answered = clarification_answer(clarification=question, by=published.office, answer=ANSWER)
    assert (answered.status, answered.number) == (Clarification.Status.ANSWERED, 1)
    assert answered.published_question == QUESTION
    second = clarification_answer(
        clarification=_ask(published, "另一个问题"), by=published.office, answer="答复"
    )
    assert second.number == 2
    notes = list(
        RoundTransition.objects.filter(round=published.round)
        .order_by("id")
        .values_list("note", flat=True)
    )
    assert f"question {question.pk} received" in notes
    assert f"question {question.pk} answered: clarification No. 1 published" in notes


def test_every_holder_and_the_asker_are_notified(published: Published) -> None:
    outsider = user_of(Organization.Kind.MANUFACTURER)  # no product of the round's items
    question = clarification_ask(round_=published.round, by=outsider, question=QUESTION)
    office_told = Notification.objects.get(kind=Notification.Kind.QUESTION_RECEIVED)
    assert office_told.organization_id == published.office.organization_id
    clarification_answer(clarification=question, by=published.office, answer=ANSWER)
    told = Notification.objects.filter(kind=Notification.Kind.CLARIFICATION_PUBLISHED)
    assert set(told.values_list("organization_id", flat=True)) == {
        published.maker.organization_id,
        published.rival.organization_id,
        outsider.organization_id,
    }


def test_questions_stop_at_the_cutoff_before_the_deadline(published: Published) -> None:
    round_ = move_deadline(published.round, days=9)  # the cutoff (10 days) has passed
    with pytest.raises(ValidationError) as excinfo:
        _ask(published)
    cutoff = timezone.localtime(round_.bid_deadline - datetime.timedelta(days=10))
    assert excinfo.value.messages == [
        f"Questions on round {round_.code} were accepted until "
        f"{cutoff:%Y-%m-%d %H:%M}, 10 days before the bid deadline."
    ]


def test_only_a_manufacturer_asks_and_only_the_rounds_office_answers(
    published: Published,
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        clarification_ask(round_=published.round, by=published.hospital, question=QUESTION)
    assert excinfo.value.messages == ["Only a manufacturer asks questions on a round's documents."]
    question = _ask(published)
    with pytest.raises(ValidationError) as excinfo:
        clarification_answer(clarification=question, by=user_of("office"), answer=ANSWER)
    assert excinfo.value.messages == ["Only the round's procurement office answers its questions."]


def test_an_answer_is_published_once(published: Published) -> None:
    question = _ask(published)
    clarification_answer(clarification=question, by=published.office, answer=ANSWER)
    with pytest.raises(ValidationError) as excinfo:
        clarification_answer(clarification=question, by=published.office, answer="再次")
    assert excinfo.value.messages == ["This question has already been answered; reload the page."]


def test_the_manufacturer_asks_through_its_page(published: Published) -> None:
    client = client_for(published.maker)
    url = reverse("tender:questions", args=[published.round.code])
    response = client.post(url, {"question": QUESTION, "round_item": published.atv.pk})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert QUESTION in page and "Waiting for an answer" in page
    empty = client.post(url, {"question": " "})
    assert empty.status_code == 400


def test_the_office_answers_through_its_page_in_its_own_words(published: Published) -> None:
    question = _ask(published)
    client = client_for(published.office)
    url = reverse("tender:answer", args=[published.round.code, question.pk])
    page = client.get(url).content.decode()
    assert published.maker.organization.name_en in page  # the office knows who asked
    response = client.post(url, {"published_question": EDITED, "answer": ANSWER})
    assert response.status_code == 302
    public = client_for(None).get(reverse("tender:round", args=[published.round.code]))
    text = public.content.decode()
    assert EDITED in text and ANSWER in text
    assert "Clarification No. 1" in text


# --- anonymity -----------------------------------------------------------------------------


def _asker_marks(user: User) -> list[str]:
    organization = user.organization
    assert organization is not None
    return [
        organization.name,
        organization.name_en,
        organization.social_credit_code,
        user.username,
    ]


def _responses(published: Published, question: Clarification, who: User | None) -> dict[str, str]:
    """Every response of the tender app, page and API, a user gets about the round."""
    code = published.round.code
    client = client_for(who)
    api = Client()
    if who is not None:
        token = api_token_for(who)
        api.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    paths = {
        "public page": reverse("tender:round", args=[code]),
        "public page (zh)": reverse("tender:round", args=[code]),
        "questions page": reverse("tender:questions", args=[code]),
        "answer page": reverse("tender:answer", args=[code, question.pk]),
        "round page": reverse("procurement:round", args=[code]),
        "notifications": reverse("contracts:notifications"),
    }
    texts = {name: client.get(path).content.decode() for name, path in paths.items()}
    texts["public page (zh)"] = (
        client_for(who, "zh-hans").get(paths["public page"]).content.decode()
    )
    for name in ("api-round-clarifications", "api-my-clarifications", "api-round-document"):
        texts[name] = api.get(reverse(name, args=[code])).content.decode()
    return texts


def test_nobody_but_the_office_learns_who_asked(published: Published) -> None:
    question = _ask(published)
    clarification_answer(clarification=question, by=published.office, answer=ANSWER)
    pending = _ask(published, "第二个问题：包装规格？")
    marks = _asker_marks(published.maker)
    others = {
        "anonymous": None,
        "rival manufacturer": published.rival,
        "hospital": published.hospital,
        "another office": user_of("office"),
    }
    leaks = []
    for who, user in others.items():
        for name, text in _responses(published, question, user).items():
            leaks += [f"{who} / {name}: {mark}" for mark in marks if mark in text]
            if "第二个问题" in text:
                leaks.append(f"{who} / {name}: the unanswered question")
    assert leaks == []
    # Emails and in-app notices to the other holders name no asker either.
    for message in mail.outbox:
        assert not any(mark in message.body + message.subject for mark in marks)
    for notice in Notification.objects.exclude(organization=published.office.organization):
        text = notice.subject_text + notice.body_text + json.dumps(notice.params)
        assert not any(mark in text for mark in marks)
    # The office sees who asked, on its questions page and the answer page.
    office = _responses(published, pending, published.office)
    assert published.maker.organization.name_en in office["questions page"]
    assert published.maker.organization.name_en in office["answer page"]


def test_the_published_api_rows_hold_no_asker_field(published: Published) -> None:
    question = _ask(published)
    clarification_answer(clarification=question, by=published.office, answer=ANSWER)
    rows = Client().get(reverse("api-round-clarifications", args=[published.round.code])).json()
    assert rows == [
        {
            "number": 1,
            "item_code": "D-ATV-OS",
            "question": QUESTION,
            "answer": ANSWER,
            "answered_at": rows[0]["answered_at"],
        }
    ]


def test_a_manufacturer_asks_through_the_api(published: Published) -> None:
    token = api_token_for(published.maker)
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    url = reverse("api-round-clarifications", args=[published.round.code])
    response = api.post(
        url, {"question": QUESTION, "item_code": "D-ATV-OS"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    hospital_token = api_token_for(published.hospital)
    refused = Client(HTTP_AUTHORIZATION=f"Token {hospital_token}").post(
        url, {"question": QUESTION}, content_type="application/json"
    )
    assert refused.status_code == 403
    office_token = api_token_for(published.office)
    answered = Client(HTTP_AUTHORIZATION=f"Token {office_token}").post(
        reverse("api-clarification-answer", args=[published.round.code, response.json()["id"]]),
        {"answer": ANSWER},
        content_type="application/json",
    )
    assert answered.status_code == 200, answered.content
    assert answered.json()["number"] == 1

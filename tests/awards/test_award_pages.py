"""Award pages: roles, evaluation from the browser, objections, finalization, results."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification, Organization
from awards import services
from awards.models import AuditEntry, BidResult, EvaluationRun, Objection
from procurement.models import Round
from tests.awards.factories import OpenedRound, opened_round
from tests.factories import TEST_PASSWORD, user_of

pytestmark = pytest.mark.django_db


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _evaluated(django_capture_on_commit_callbacks) -> tuple[OpenedRound, EvaluationRun]:
    built = opened_round()
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    run.refresh_from_db()
    return built, run


def _in_objection_period(django_capture_on_commit_callbacks) -> tuple[OpenedRound, EvaluationRun]:
    """Published with the default objection period (3 days), which is running."""
    built = opened_round(objection_days=None)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office)
    run.refresh_from_db()
    services.objection_period_open(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    return built, run


def test_office_pages_are_for_the_rounds_own_office_only(
    django_capture_on_commit_callbacks,
) -> None:
    built, run = _evaluated(django_capture_on_commit_callbacks)
    urls = [
        reverse("awards:round", args=[built.round.pk]),
        reverse("awards:run", args=[run.pk]),
        reverse("awards:run-progress", args=[run.pk]),
    ]
    other_office = user_of(Organization.Kind.OFFICE)
    for url in urls:
        assert client_for(built.office).get(url).status_code == 200
        assert client_for(other_office).get(url).status_code == 404
        assert client_for(built.hospitals[0]).get(url).status_code == 403
        assert client_for(built.makers[0]).get(url).status_code == 403
        response = client_for().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    for name in ("awards:evaluate", "awards:finalize", "awards:objection-period"):
        url = reverse(name, args=[built.round.pk])
        assert client_for(built.hospitals[0]).post(url).status_code == 403
        assert client_for(built.makers[0]).post(url).status_code == 403
        assert client_for(other_office).post(url).status_code == 404


def test_office_evaluates_and_sees_the_result_with_exact_totals(
    django_capture_on_commit_callbacks,
) -> None:
    built = opened_round()
    client = client_for(built.office)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("awards:evaluate", args=[built.round.pk]))
    run = EvaluationRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("awards:run", args=[run.pk])
    page = client.get(response["Location"]).content.decode()
    assert "1,400.00" in page  # total cost, to the cent, with a thousands separator
    assert "0.1000" in page and "0.1500" in page
    assert "3.00 times the lowest price 0.1000, above the limit of 1.8 times" in page
    assert "Official" in page


def test_progress_partial_polls_while_queued_and_reloads_when_done(
    django_capture_on_commit_callbacks,
) -> None:
    built = opened_round()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = services.evaluation_request(round_=built.round, by=built.office)
    client = client_for(built.office)
    url = reverse("awards:run-progress", args=[run.pk])
    queued = client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in queued.content.decode()
    assert "Waiting for a worker" in queued.content.decode()
    assert "HX-Refresh" not in queued
    callbacks[0]()
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    assert "hx-trigger" not in done.content.decode()


def test_results_are_public_only_once_published(django_capture_on_commit_callbacks) -> None:
    built, _ = _evaluated(django_capture_on_commit_callbacks)
    url = reverse("awards:results", args=[built.round.pk])
    assert client_for().get(url).status_code == 404
    services.objection_period_open(round_=built.round, by=built.office)
    page = client_for().get(url).content.decode()
    assert "Proposed winners of round T-2026-D1" in page
    assert "1,400.00" in page


def test_finalizing_is_refused_while_an_objection_is_open(
    django_capture_on_commit_callbacks,
) -> None:
    built, run = _in_objection_period(django_capture_on_commit_callbacks)
    rival = built.makers[3]  # the bid at 0.3000 that lost
    response = client_for(rival).post(
        reverse("awards:objection-new", args=[built.round.pk]),
        {"round_item": built.round_item.pk, "text": "The winner at 0.1000 cannot supply."},
    )
    assert response.status_code == 302
    objection = Objection.objects.get()
    assert objection.organization == rival.organization

    office = client_for(built.office)
    response = office.post(reverse("awards:finalize", args=[built.round.pk]), follow=True)
    assert (
        "1 objection(s) are still open: answer every objection before finalizing."
        in response.content.decode()
    )
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.OBJECTION

    office.post(
        reverse("awards:objection-answer", args=[objection.pk]),
        {"decision": "dismiss", "answer": "The winner declared enough capacity."},
    )
    objection.refresh_from_db()
    assert objection.status == Objection.Status.DISMISSED
    built.hospitals[0].email = "pharmacy@example.org"
    built.hospitals[0].language = "en"  # e-mails go out in the reader's language
    built.hospitals[0].save()
    # Every objection answered, but the period runs: refused with its end.
    office.post(reverse("awards:finalize", args=[built.round.pk]))
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.OBJECTION
    # The period has passed (moved back, no real waiting).
    Round.objects.filter(pk=built.round.pk).update(
        objection_ends_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        office.post(reverse("awards:finalize", args=[built.round.pk]))
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.AWARDED
    entry = AuditEntry.objects.get(action="award_finalized")
    assert entry.by == built.office and entry.detail["run"] == run.pk
    assert Notification.objects.filter(
        organization=built.hospitals[0].organization, kind="results_published"
    ).exists()
    assert [m.to for m in mail.outbox] == [["pharmacy@example.org"]]
    assert mail.outbox[0].subject == "Award results of round T-2026-D1 published"
    page = client_for().get(reverse("awards:results", args=[built.round.pk])).content.decode()
    assert "Award results of round T-2026-D1" in page
    # Irreversible: a second finalization is refused, nothing else moves.
    response = office.post(reverse("awards:finalize", args=[built.round.pk]), follow=True)
    assert "only a round in its objection period can be finalized" in response.content.decode()


def test_an_upheld_objection_excludes_the_bid_and_reruns(
    django_capture_on_commit_callbacks,
) -> None:
    built, first = _in_objection_period(django_capture_on_commit_callbacks)
    objection = services.objection_file(
        round_=built.round,
        round_item_id=built.round_item.pk,
        by=built.hospitals[0],
        text="The cheapest product failed a quality inspection.",
    )
    cheapest = built.bids[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(built.office).post(
            reverse("awards:objection-answer", args=[objection.pk]),
            {"decision": "uphold", "answer": "Confirmed.", "excluded_bid": cheapest.pk},
        )
    assert response.status_code == 302
    second = EvaluationRun.objects.get(is_official=True)
    assert second.pk != first.pk and second.input_hash != first.input_hash
    assert second.exclusions == [cheapest.pk]
    excluded = BidResult.objects.get(run=second, opened_bid=cheapest)
    assert excluded.outcome == "invalid"
    assert "excluded after an upheld objection" in excluded.reason
    assert excluded.reason_parts == [{"code": "excluded_by_objection", "params": {}}]
    built.round.refresh_from_db()
    assert built.round.status == Round.Status.EVALUATED
    # 0.1500, 0.1900 remain within 1.8x of 0.15 (0.19 = 1.27x); 0.3000 = 2.00x but cuts 40%.
    winners = set(
        BidResult.objects.filter(run=second, outcome="won").values_list("opened_bid", flat=True)
    )
    assert winners == {built.bids[1].pk, built.bids[2].pk}


def test_uphold_needs_a_bid(django_capture_on_commit_callbacks) -> None:
    built, _ = _in_objection_period(django_capture_on_commit_callbacks)
    objection = services.objection_file(
        round_=built.round, round_item_id=built.round_item.pk, by=built.makers[4], text="x"
    )
    response = client_for(built.office).post(
        reverse("awards:objection-answer", args=[objection.pk]),
        {"decision": "uphold", "answer": "Yes."},
    )
    assert response.status_code == 400
    assert "Choose the bid to exclude when upholding." in response.content.decode()


def test_objections_only_in_the_objection_period(django_capture_on_commit_callbacks) -> None:
    from django.core.exceptions import ValidationError

    built, _ = _evaluated(django_capture_on_commit_callbacks)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.objection_file(
            round_=built.round, round_item_id=built.round_item.pk, by=built.makers[0], text="x"
        )
    assert exc.value.messages == ["Objections to round T-2026-D1 are not accepted now."]


def test_each_party_sees_only_its_own_objections_and_allocations(
    django_capture_on_commit_callbacks,
) -> None:
    built, _ = _in_objection_period(django_capture_on_commit_callbacks)
    services.objection_file(
        round_=built.round,
        round_item_id=built.round_item.pk,
        by=built.makers[3],
        text="Secret grounds of maker 3",
    )
    own = client_for(built.makers[3]).get(reverse("awards:objections")).content.decode()
    rival = client_for(built.makers[0]).get(reverse("awards:objections")).content.decode()
    hospital = client_for(built.hospitals[0]).get(reverse("awards:objections")).content.decode()
    office = client_for(built.office).get(reverse("awards:objections")).content.decode()
    assert "Secret grounds of maker 3" in own and "Secret grounds of maker 3" in office
    assert "Secret grounds of maker 3" not in rival
    assert "Secret grounds of maker 3" not in hospital

    beijing_a, beijing_b, _ = built.hospitals
    page = client_for(beijing_a).get(reverse("awards:mine")).content.decode()
    assert "4,200" in page and "2,800" not in page and "7,000" not in page
    page = client_for(beijing_b).get(reverse("awards:mine")).content.decode()
    assert "2,800" in page and "4,200" not in page
    winner = client_for(built.makers[0]).get(reverse("awards:mine")).content.decode()
    assert "4,200" in winner and "7,000" in winner
    loser = client_for(built.makers[3]).get(reverse("awards:mine")).content.decode()
    assert "4,200" not in loser and "Lost" in loser
    assert client_for(built.office).get(reverse("awards:mine")).status_code == 403
    assert client_for().get(reverse("awards:mine")).status_code == 302


def test_an_objection_carries_an_attachment(
    django_capture_on_commit_callbacks, tmp_path, settings
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    built, _ = _in_objection_period(django_capture_on_commit_callbacks)
    url = reverse("awards:objection-new", args=[built.round.pk])
    refused = client_for(built.makers[3]).post(
        url,
        {
            "round_item": built.round_item.pk,
            "text": "See the attached inspection report.",
            "attachment": SimpleUploadedFile("report.exe", b"MZ", content_type="application/x"),
        },
    )
    assert refused.status_code == 400
    assert "Attach a PDF, PNG or JPEG file." in refused.content.decode()
    assert Objection.objects.count() == 0
    client_for(built.makers[3]).post(
        url,
        {
            "round_item": built.round_item.pk,
            "text": "See the attached inspection report.",
            "attachment": SimpleUploadedFile(
                "report.pdf", b"%PDF-1.4 test", content_type="application/pdf"
            ),
        },
    )
    objection = Objection.objects.get()
    assert objection.attachment.read() == b"%PDF-1.4 test"
    page = (
        client_for(built.office)
        .get(reverse("awards:objection-answer", args=[objection.pk]))
        .content.decode()
    )
    assert objection.attachment.url in page


def test_notifications_are_listed_for_the_organization_only(
    django_capture_on_commit_callbacks,
) -> None:
    built, _ = _in_objection_period(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.award_finalize(
            round_=built.round, by=built.office, now=built.round.objection_ends_at
        )
    url = reverse("contracts:notifications")
    page = client_for(built.hospitals[0]).get(url).content.decode()
    assert "Award results of round T-2026-D1 published" in page
    assert "New" in page
    assert "New" not in client_for(built.hospitals[0]).get(url).content.decode()  # now read
    assert "Award results" not in client_for(built.office).get(url).content.decode()
    outsider = user_of(Organization.Kind.HOSPITAL)
    assert "Award results" not in client_for(outsider).get(url).content.decode()


def test_a_run_overtaken_by_a_later_exclusion_never_becomes_official(
    django_capture_on_commit_callbacks,
) -> None:
    built, _ = _in_objection_period(django_capture_on_commit_callbacks)
    one = services.objection_file(
        round_=built.round, round_item_id=built.round_item.pk, by=built.makers[3], text="a"
    )
    two = services.objection_file(
        round_=built.round, round_item_id=built.round_item.pk, by=built.makers[4], text="b"
    )
    with django_capture_on_commit_callbacks(execute=False) as queued_a:
        run_a = services.objection_uphold(
            objection=one, by=built.office, answer="yes", excluded_bid_id=built.bids[0].pk
        )
    with django_capture_on_commit_callbacks(execute=False) as queued_b:
        run_b = services.objection_uphold(
            objection=two, by=built.office, answer="yes", excluded_bid_id=built.bids[1].pk
        )
    assert run_a.pk != run_b.pk
    for callback in queued_b + queued_a:  # the later run finishes first
        callback()
    run_a.refresh_from_db()
    run_b.refresh_from_db()
    assert run_a.status == run_b.status == EvaluationRun.Status.DONE
    assert run_b.is_official and not run_a.is_official
    assert sorted(run_b.exclusions) == sorted([built.bids[0].pk, built.bids[1].pk])


def test_only_the_rounds_bidders_and_hospitals_may_object(
    django_capture_on_commit_callbacks,
) -> None:
    from django.core.exceptions import ValidationError

    from accounts.models import Region

    built, _ = _in_objection_period(django_capture_on_commit_callbacks)
    outside = Region.objects.exclude(pk__in=built.round.regions.all()).first()
    assert outside is not None
    strangers = [
        user_of(Organization.Kind.MANUFACTURER),  # bid nowhere in this round
        user_of(Organization.Kind.HOSPITAL, region=outside),  # a province outside the round
    ]
    for stranger in strangers:
        with translation.override("en"), pytest.raises(ValidationError) as exc:
            services.objection_file(
                round_=built.round, round_item_id=built.round_item.pk, by=stranger, text="x"
            )
        assert exc.value.messages == [
            "Only the manufacturers that bid in round T-2026-D1 and the hospitals of its "
            "provinces can object to its results."
        ]
        page = client_for(stranger).post(
            reverse("awards:objection-new", args=[built.round.pk]),
            {"round_item": built.round_item.pk, "text": "x"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert page.status_code in (200, 400)
        assert "Only the manufacturers that bid in round" in page.content.decode()
    assert not Objection.objects.exists()
    for party in (built.makers[0], built.hospitals[0]):
        services.objection_file(
            round_=built.round, round_item_id=built.round_item.pk, by=party, text="grounds"
        )
    assert Objection.objects.count() == 2

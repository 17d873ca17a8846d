"""Amendments: the only way a published round's prices and times change; the minimum
notice before the bid deadline; the numbered notice with every change old -> new."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from procurement.models import Ceiling, Round, RoundTransition
from tender.models import Amendment, ProcurementDocumentVersion
from tender.services import AmendmentDraft, amendment_preview, amendment_publish
from tests.tender.conftest import Published, client_for, move_deadline

pytestmark = pytest.mark.django_db
D = Decimal


def _ceiling(published: Published, price: str) -> AmendmentDraft:
    return AmendmentDraft(
        reason="最高有效申报价调整",
        reason_en="The ceiling of 20 mg is corrected.",
        ceilings={(published.atv.pk, published.atv20.pk): D(price)},
    )


def test_an_amendment_two_days_before_the_deadline_extends_it_to_the_minimum(
    published: Published,
) -> None:
    round_ = move_deadline(published.round, days=2)
    old_deadline, old_opening = round_.bid_deadline, round_.opening_at
    now = timezone.now()

    amendment = amendment_publish(
        round_=round_, by=published.office, draft=_ceiling(published, "2.2000"), now=now
    )

    round_.refresh_from_db()
    # 15 days (the rule set's amendment_notice_days, 实施条例 Art. 21) after publication,
    # at the next whole minute.
    minimum = now + datetime.timedelta(days=15)
    assert minimum <= round_.bid_deadline < minimum + datetime.timedelta(minutes=1)
    assert round_.bid_deadline.second == 0
    # The opening keeps its hour after the deadline; the order holds.
    assert round_.opening_at - round_.bid_deadline == old_opening - old_deadline
    assert round_.opening_at < round_.objection_ends_at
    # The notice says so: the ceiling (material) and the moved deadline (by the rules).
    lines = {(c.kind, c.field): c for c in amendment.changes.all()}
    ceiling = lines[("ceiling", "")]
    assert (ceiling.old_value, ceiling.new_value, ceiling.material) == ("2.5000", "2.2000", True)
    deadline = lines[("timetable", "bid_deadline")]
    assert deadline.automatic and not deadline.material
    assert deadline.new_value == timezone.localtime(round_.bid_deadline).strftime("%Y-%m-%d %H:%M")
    assert amendment.material
    assert Ceiling.objects.get(round_item=published.atv, specification=published.atv20)
    assert Ceiling.objects.get(
        round_item=published.atv, specification=published.atv20
    ).max_valid_bid_price == D("2.2000")


def test_an_amendment_with_time_enough_left_keeps_the_deadline(published: Published) -> None:
    round_ = published.refresh()
    before = round_.bid_deadline
    assert before - timezone.now() > datetime.timedelta(days=15)
    amendment = amendment_publish(
        round_=round_, by=published.office, draft=_ceiling(published, "2.3000")
    )
    round_.refresh_from_db()
    assert round_.bid_deadline == before
    assert [c.kind for c in amendment.changes.all()] == ["ceiling"]


def test_a_reference_price_is_not_material_and_moves_no_deadline(published: Published) -> None:
    round_ = move_deadline(published.round, days=2)
    before = round_.bid_deadline
    amendment = amendment_publish(
        round_=round_,
        by=published.office,
        draft=AmendmentDraft(reason="参考价更正", reference_prices={published.atv.pk: D("6.5")}),
    )
    round_.refresh_from_db()
    assert round_.bid_deadline == before
    assert not amendment.material
    change = amendment.changes.get()
    assert (change.old_value, change.new_value, change.material) == ("7.0000", "6.5000", False)


def test_a_later_contract_start_is_material_for_every_item(published: Published) -> None:
    round_ = published.refresh()
    later = round_.contract_starts_on + datetime.timedelta(days=30)
    amendment = amendment_publish(
        round_=round_,
        by=published.office,
        draft=AmendmentDraft(reason="合同起始日推迟", timetable={"contract_starts_on": later}),
    )
    change = amendment.changes.get()
    assert change.material and change.round_item is None
    assert change.new_value == later.isoformat()


def test_notices_are_numbered_and_each_publishes_the_next_version(published: Published) -> None:
    round_ = published.refresh()
    first = amendment_publish(round_=round_, by=published.office, draft=_ceiling(published, "2.2"))
    second = amendment_publish(round_=round_, by=published.office, draft=_ceiling(published, "2.1"))
    assert (first.number, second.number) == (1, 2)
    versions = list(
        ProcurementDocumentVersion.objects.filter(round=round_)
        .order_by("number")
        .values_list("number", "amendment__number")
    )
    assert versions == [(1, None), (2, 1), (3, 2)]
    # Each version keeps what it published: v1 the first ceiling, v3 the last.
    v1, v2, v3 = ProcurementDocumentVersion.objects.filter(round=round_).order_by("number")

    def atv20(version: ProcurementDocumentVersion) -> str:
        item = next(i for i in version.content["items"] if i["code"] == "D-ATV-OS")
        return next(s["ceiling"] for s in item["specifications"] if s["code"] == "20MG")

    assert (atv20(v1), atv20(v2), atv20(v3)) == ("2.5000", "2.2000", "2.1000")
    assert [n["number"] for n in v3.content["amendments"]] == [1, 2]
    assert v1.content["amendments"] == []
    assert len({v1.content_sha256, v2.content_sha256, v3.content_sha256}) == 3
    # The second notice reads old -> new from the first one's value.
    change = second.changes.get()
    assert (change.old_value, change.new_value) == ("2.2000", "2.1000")


def test_the_history_records_each_amendment(published: Published) -> None:
    round_ = published.refresh()
    amendment_publish(round_=round_, by=published.office, draft=_ceiling(published, "2.2"))
    note = RoundTransition.objects.filter(round=round_).latest("id").note
    assert note == "amendment No. 1: D-ATV-OS 20MG ceiling: 2.5000 -> 2.2000"


def test_nothing_to_change_and_no_reason_are_refused(published: Published) -> None:
    round_ = published.refresh()
    with pytest.raises(ValidationError) as excinfo:
        amendment_publish(round_=round_, by=published.office, draft=_ceiling(published, "2.5000"))
    assert excinfo.value.messages == ["Nothing changes: give at least one new value."]
    with pytest.raises(ValidationError) as excinfo:
        amendment_publish(
            round_=round_,
            by=published.office,
            draft=AmendmentDraft(
                reason=" ", ceilings={(published.atv.pk, published.atv20.pk): D(2)}
            ),
        )
    assert excinfo.value.messages == ["Say why the documents change: the reason is published."]
    assert not Amendment.objects.exists()


def test_an_amendment_cannot_bring_the_deadline_forward(published: Published) -> None:
    round_ = published.refresh()
    with pytest.raises(ValidationError) as excinfo:
        amendment_publish(
            round_=round_,
            by=published.office,
            draft=AmendmentDraft(
                reason="提前截止",
                timetable={"bid_deadline": round_.bid_deadline - datetime.timedelta(days=1)},
            ),
        )
    assert excinfo.value.messages == [
        "While bidding is open the bid deadline can only be extended, not brought forward."
    ]
    assert not Amendment.objects.exists()


def test_prices_change_by_amendment_only_before_the_deadline(published: Published) -> None:
    round_ = published.refresh()
    Round.objects.filter(pk=round_.pk).update(status=Round.Status.BIDDING_CLOSED)
    round_.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        amendment_publish(round_=round_, by=published.office, draft=_ceiling(published, "2.2"))
    assert excinfo.value.messages == [
        "Prices change by amendment only while bidding is open, before the bid deadline; "
        f"round {round_.code} is Bidding closed."
    ]


def test_before_publication_an_amendment_is_refused(db: None) -> None:
    from tests.factories import user_of
    from tests.procurement.factories import make_round

    office = user_of("office")
    round_ = make_round(office=office, open_demand=True)
    with pytest.raises(ValidationError) as excinfo:
        amendment_publish(
            round_=round_,
            by=office,
            draft=AmendmentDraft(reason="x", reference_prices={round_.items.get().pk: D(1)}),
        )
    assert excinfo.value.messages == [
        f"The procurement document of round {round_.code} is not published yet (it is when "
        "bidding opens): change its ceilings and timetable directly."
    ]


def test_the_preview_shows_the_changes_and_writes_nothing(published: Published) -> None:
    round_ = move_deadline(published.round, days=2)
    before = round_.bid_deadline
    preview = amendment_preview(
        round_=round_, by=published.office, draft=_ceiling(published, "2.2000")
    )
    assert preview.number == 1 and preview.material and preview.extended
    assert preview.notice_days == 15
    assert (preview.lines[0].old, preview.lines[0].new) == ("2.5000", "2.2000")
    assert preview.lines[0].what == "D-ATV-OS Drug D-ATV-OS · 20mg: Maximum valid bid price"
    assert preview.bid_deadline > before
    round_.refresh_from_db()
    assert round_.bid_deadline == before
    assert not Amendment.objects.exists()
    assert ProcurementDocumentVersion.objects.filter(round=round_).count() == 1
    assert Ceiling.objects.get(
        round_item=published.atv, specification=published.atv20
    ).max_valid_bid_price == D("2.5000")


def test_holders_are_told_and_affected_bidders_asked_to_reconfirm(published: Published) -> None:
    round_ = published.refresh()
    amendment = amendment_publish(
        round_=round_, by=published.office, draft=_ceiling(published, "2.2")
    )
    told = Notification.objects.filter(kind=Notification.Kind.AMENDMENT_PUBLISHED)
    assert set(told.values_list("organization_id", flat=True)) == {
        published.maker.organization_id,
        published.rival.organization_id,
    }
    notice = told.first()
    assert notice is not None
    assert notice.url == reverse("tender:notice", args=[round_.code, amendment.number])
    assert (
        notice.subject_text == f"Round {round_.code}: amendment No. 1 to the procurement document"
    )
    # Both hold a product of ATV 20 mg (the default provider: possible bidders).
    reconfirm = Notification.objects.filter(kind=Notification.Kind.BID_RECONFIRM)
    assert reconfirm.count() == 2


def _only_the_rival(*, round_item_id: int, specification_id: int | None) -> set[int]:
    from accounts.models import Organization

    return set(Organization.objects.filter(name="对手制药有限公司").values_list("pk", flat=True))


@override_settings(JICAI_TENDER_BIDDERS="tests.tender.test_amendments._only_the_rival")
def test_the_bidders_provider_names_who_must_reconfirm(published: Published) -> None:
    round_ = published.refresh()
    amendment_publish(round_=round_, by=published.office, draft=_ceiling(published, "2.2"))
    reconfirm = Notification.objects.filter(kind=Notification.Kind.BID_RECONFIRM)
    assert list(reconfirm.values_list("organization_id", flat=True)) == [
        published.rival.organization_id
    ]


def test_a_clo_ceiling_asks_only_the_clo_holder_to_reconfirm(published: Published) -> None:
    round_ = published.refresh()
    amendment_publish(
        round_=round_,
        by=published.office,
        draft=AmendmentDraft(
            reason="氯吡格雷最高有效申报价调整",
            ceilings={(published.clo.pk, published.clo75.pk): D("3.0")},
        ),
    )
    reconfirm = Notification.objects.filter(kind=Notification.Kind.BID_RECONFIRM)
    assert list(reconfirm.values_list("organization_id", flat=True)) == [
        published.maker.organization_id
    ]


def test_the_office_publishes_an_amendment_through_its_page(published: Published) -> None:
    round_ = move_deadline(published.round, days=2)
    client = client_for(published.office)
    url = reverse("tender:amend", args=[round_.code])
    page = client.get(url)
    assert page.status_code == 200
    field = f"ceil-{published.atv.pk}-{published.atv20.pk}"
    form = {
        "reason": "最高有效申报价调整",
        "reason_en": "Ceiling corrected",
        "bid_deadline": timezone.localtime(round_.bid_deadline).strftime("%Y-%m-%dT%H:%M"),
        "opening_at": timezone.localtime(round_.opening_at).strftime("%Y-%m-%dT%H:%M"),
        "contract_starts_on": round_.contract_starts_on.isoformat(),
        field: "2.2000",
        f"ref-{published.atv.pk}": "7.0000",
        f"ceil-{published.atv.pk}-{published.atv10.pk}": "2.5000",
        f"ref-{published.clo.pk}": "7.0000",
        f"ceil-{published.clo.pk}-{published.clo75.pk}": "2.5000",
    }
    preview = client.post(url, {**form, "action": "preview"})
    body = preview.content.decode()
    assert preview.status_code == 200, body
    assert "Preview of amendment No. 1" in body
    assert "2.5000" in body and "2.2000" in body
    assert "The bid deadline moves to" in body
    assert not Amendment.objects.exists()
    published_response = client.post(url, {**form, "action": "publish"})
    assert published_response.status_code == 302
    assert published_response["Location"] == reverse("tender:notice", args=[round_.code, 1])
    # The ceiling, and the times the minimum notice moved (the objection period ended a
    # week after the old deadline, before the new opening).
    changes = Amendment.objects.get().changes.order_by("position")
    assert [(c.kind, c.field, c.automatic) for c in changes] == [
        ("ceiling", "", False),
        ("timetable", "bid_deadline", True),
        ("timetable", "objection_ends_at", True),
        ("timetable", "opening_at", True),
    ]


@pytest.mark.parametrize("who", ["hospital", "maker", "other office", "anonymous"])
def test_only_the_rounds_office_amends(published: Published, who: str) -> None:
    from tests.factories import user_of

    users = {
        "hospital": published.hospital,
        "maker": published.maker,
        "other office": user_of("office"),
        "anonymous": None,
    }
    response = client_for(users[who]).post(
        reverse("tender:amend", args=[published.round.code]),
        {"reason": "x", "action": "publish"},
    )
    assert response.status_code == {"hospital": 403, "maker": 403, "other office": 404}.get(
        who, 302
    )
    assert not Amendment.objects.exists()


def test_times_an_amendment_does_not_move_are_refused(published: Published) -> None:
    round_ = published.refresh()
    with pytest.raises(ValidationError) as excinfo:
        amendment_publish(
            round_=round_,
            by=published.office,
            draft=AmendmentDraft(
                reason="需求申报截止",
                timetable={"demand_closes_at": round_.demand_closes_at, "bogus": 1},  # type: ignore[dict-item]
            ),
        )
    assert excinfo.value.messages == [
        "These times are not changed by an amendment: bogus, demand_closes_at."
    ]

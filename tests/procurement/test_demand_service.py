"""demand_declare: the one validation behind the web table, the upload and the API."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from common.uploads import RowsRefused
from procurement.models import DemandChange, DemandDeclaration, Round
from procurement.services import (
    DemandLine,
    demand_declare,
    demand_remove,
    round_close_demand,
)
from tests.factories import user_of
from tests.procurement.factories import (
    consumable_item,
    drug_item,
    hospital_user,
    make_round,
    stent_product,
)

pytestmark = pytest.mark.django_db

WEB = DemandChange.Channel.WEB


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def declare(user, round_, *lines, channel=WEB):
    return demand_declare(
        hospital=user.organization, round_=round_, lines=list(lines), channel=channel, by=user
    )


def test_hospital_declares_and_changes_a_line_keeping_history() -> None:
    round_ = make_round(open_demand=True)
    hospital = hospital_user()
    outcome = declare(hospital, round_, DemandLine("D-ATV-OS", "1200", specification_code="10MG"))
    assert (outcome.created, outcome.changed) == (1, 0)
    outcome = declare(hospital, round_, DemandLine("d-atv-os", 1500, specification_code="10mg"))
    assert (outcome.created, outcome.changed, outcome.unchanged) == (0, 1, 0)
    outcome = declare(hospital, round_, DemandLine("D-ATV-OS", "1,500", specification_code="10MG"))
    assert (outcome.created, outcome.changed, outcome.unchanged) == (0, 0, 1)
    declaration = DemandDeclaration.objects.get()
    assert declaration.quantity == 1500
    history = list(
        DemandChange.objects.order_by("id").values_list("old_quantity", "new_quantity", "by")
    )
    assert history == [(None, 1200, hospital.pk), (1200, 1500, hospital.pk)]


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("-5", "Line 1, quantity: “-5” is negative; it must be greater than zero."),
        ("0", "Line 1, quantity: must be greater than zero."),
        ("2.5", "Line 1, quantity: “2.5” is not a whole number."),
        ("lots", "Line 1, quantity: “lots” is not a number."),
    ],
)
def test_bad_quantities_are_refused_with_the_line_and_nothing_is_written(quantity, message) -> None:
    round_ = make_round(open_demand=True)
    hospital = hospital_user()
    with pytest.raises(RowsRefused) as refused:
        declare(
            hospital,
            round_,
            DemandLine("D-ATV-OS", "10", specification_code="20MG"),
            DemandLine("D-ATV-OS", quantity, specification_code="10MG"),
        )
    assert [e.row for e in refused.value.row_errors] == [2]
    assert refused.value.messages == [message.replace("Line 1", "Line 2")]
    assert not DemandDeclaration.objects.exists()
    assert not DemandChange.objects.exists()


def test_unknown_item_and_specification_are_refused() -> None:
    round_ = make_round(open_demand=True)
    hospital = hospital_user()
    with pytest.raises(RowsRefused) as refused:
        declare(
            hospital,
            round_,
            DemandLine("D-NOPE", "10", specification_code="10MG"),
            DemandLine("D-ATV-OS", "10", specification_code="99MG"),
        )
    assert refused.value.messages == [
        "Line 1, item_code: item code “D-NOPE” is not in round R-2026-1.",
        "Line 2, specification_code: “99MG” is not a specification of item D-ATV-OS.",
    ]


def test_duplicate_lines_are_refused() -> None:
    round_ = make_round(open_demand=True)
    hospital = hospital_user()
    with pytest.raises(RowsRefused) as refused:
        declare(
            hospital,
            round_,
            DemandLine("D-ATV-OS", "10", specification_code="10MG"),
            DemandLine("D-ATV-OS", "12", specification_code="10mg"),
        )
    assert refused.value.messages == [
        "Line 2: duplicate of row 1 (same item_code, specification_code)."
    ]


def test_hospital_cannot_declare_for_another_hospital() -> None:
    round_ = make_round(open_demand=True)
    hospital = hospital_user()
    other = hospital_user()
    own = hospital.organization.social_credit_code
    with pytest.raises(RowsRefused) as refused:
        declare(
            hospital,
            round_,
            DemandLine("D-ATV-OS", "10", specification_code="10MG", hospital_code=own),
            DemandLine(
                "D-ATV-OS",
                "10",
                specification_code="20MG",
                hospital_code=other.organization.social_credit_code,
            ),
        )
    assert refused.value.messages == [
        f"Line 2, hospital_code: “{other.organization.social_credit_code}” is not your "
        f"hospital's code ({own}); a hospital declares only for itself."
    ]
    assert not DemandDeclaration.objects.exists()


def test_hospital_cannot_declare_after_close() -> None:
    round_ = make_round(open_demand=True)
    hospital = hospital_user()
    declare(hospital, round_, DemandLine("D-ATV-OS", "10", specification_code="10MG"))
    round_close_demand(round_=round_, by=None)
    with pytest.raises(ValidationError) as refused:
        declare(hospital, round_, DemandLine("D-ATV-OS", "20", specification_code="10MG"))
    assert refused.value.messages == [
        "Demand declaration for round R-2026-1 is not open: the round is “Demand declaration "
        "closed”."
    ]
    assert DemandDeclaration.objects.get().quantity == 10


def test_declaration_after_the_deadline_is_refused_even_before_the_sweep_runs() -> None:
    round_ = make_round(open_demand=True)
    hospital = hospital_user()
    later = round_.demand_closes_at + datetime.timedelta(minutes=1)
    with pytest.raises(ValidationError) as refused:
        demand_declare(
            hospital=hospital.organization,
            round_=round_,
            lines=[DemandLine("D-ATV-OS", "20", specification_code="10MG")],
            channel=WEB,
            by=hospital,
            now=later,
        )
    local = timezone.localtime(round_.demand_closes_at).strftime("%Y-%m-%d %H:%M")
    assert refused.value.messages == [
        f"Demand declaration for round R-2026-1 closed at {local}; changes are no longer accepted."
    ]


def test_draft_round_refuses_demand() -> None:
    round_ = make_round(open_demand=False)
    with pytest.raises(ValidationError) as refused:
        declare(hospital_user(), round_, DemandLine("D-ATV-OS", "20", specification_code="10MG"))
    assert refused.value.messages == [
        "Demand declaration for round R-2026-1 is not open: the round is “Draft”."
    ]


def test_hospital_outside_the_region_scope_is_refused() -> None:
    round_ = make_round(open_demand=True, regions=("11",))
    with pytest.raises(ValidationError) as refused:
        declare(hospital_user("44"), round_, DemandLine("D-ATV-OS", "1", specification_code="10MG"))
    assert refused.value.messages == [
        "Your hospital's province (Guangdong) is outside the region scope of round R-2026-1."
    ]


def test_removing_a_line_keeps_its_history_and_only_own_lines() -> None:
    round_ = make_round(open_demand=True)
    hospital, other = hospital_user(), hospital_user()
    declare(hospital, round_, DemandLine("D-ATV-OS", "10", specification_code="10MG"))
    declaration = DemandDeclaration.objects.get()
    with pytest.raises(ValidationError) as refused:
        demand_remove(
            hospital=other.organization,
            round_=round_,
            declaration_id=declaration.pk,
            channel=WEB,
            by=other,
        )
    assert refused.value.messages == ["This line is not among your hospital's declarations."]
    demand_remove(
        hospital=hospital.organization,
        round_=round_,
        declaration_id=declaration.pk,
        channel=WEB,
        by=hospital,
    )
    assert not DemandDeclaration.objects.exists()
    assert DemandChange.objects.order_by("-id").values_list("old_quantity", "new_quantity")[0] == (
        10,
        None,
    )


def test_consumables_are_declared_per_product() -> None:
    office = user_of("office")
    item = consumable_item()
    maker = user_of("manufacturer").organization
    product = stent_product(item, maker, "国械注准20203130001", "A-1")
    round_ = make_round(office=office, kind=Round.Kind.CONSUMABLES, items=[item], open_demand=True)
    hospital = hospital_user()
    declare(
        hospital,
        round_,
        DemandLine("C-STENT", "300", registration_number="国械注准20203130001", model_number="A-1"),
    )
    assert DemandDeclaration.objects.get().product == product
    with pytest.raises(RowsRefused) as refused:
        declare(hospital, round_, DemandLine("C-STENT", "3", registration_number="X-1"))
    assert refused.value.messages == [
        "Line 1, registration_number: no product of item C-STENT has registration number "
        "“X-1” and model “”."
    ]


def test_two_items_and_specifications_in_one_submission() -> None:
    round_ = make_round(open_demand=True, items=[drug_item(), drug_item("D-CLO-OS", ("75MG",))])
    hospital = hospital_user()
    outcome = declare(
        hospital,
        round_,
        DemandLine("D-ATV-OS", "10", specification_code="10MG"),
        DemandLine("D-ATV-OS", "20", specification_code="20MG"),
        DemandLine("D-CLO-OS", "30", specification_code="75MG"),
    )
    assert outcome.created == 3
    assert sorted(DemandDeclaration.objects.values_list("quantity", flat=True)) == [10, 20, 30]


def test_declared_hospitals_and_specifications_stay_protected_without_database_constraints() -> (
    None
):
    from django.db.models import ProtectedError

    round_ = make_round(open_demand=True)
    hospital = hospital_user()
    declare(hospital, round_, DemandLine("D-ATV-OS", "10", specification_code="10MG"))
    declaration = DemandDeclaration.objects.get()
    with pytest.raises(ProtectedError):
        declaration.hospital.delete()
    with pytest.raises(ProtectedError):
        declaration.specification.delete()
    assert DemandDeclaration.objects.filter(pk=declaration.pk).exists()

"""Access checks of the report selectors, status by status and party by party."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Organization
from procurement.models import Round
from reports import selectors
from tests.factories import user_of
from tests.reports.factories import small_awarded_round

pytestmark = pytest.mark.django_db

FINAL = ["awarded", "contracted", "in_execution", "closed"]
NOT_FINAL = ["draft", "bids_opened", "evaluated", "objection", "cancelled"]


@pytest.fixture
def built():
    return small_awarded_round(code="R-SEL-1")


def _status(built, status: str) -> None:
    Round.objects.filter(pk=built.round.pk).update(status=status)


@pytest.mark.parametrize("status", FINAL)
def test_the_public_reads_a_final_award(built, status) -> None:
    _status(built, status)
    round_, run = selectors.round_get_public(round_id=built.round.pk)
    assert round_.pk == built.round.pk and run.pk == built.run.pk
    assert list(selectors.round_list_public()) == [round_]


@pytest.mark.parametrize("status", NOT_FINAL)
def test_the_public_reads_nothing_before_the_award_is_final(built, status) -> None:
    _status(built, status)
    with pytest.raises(Http404):
        selectors.round_get_public(round_id=built.round.pk)
    assert not selectors.round_list_public().exists()
    with pytest.raises(Http404):
        selectors.round_get_for_open_data(user=None, round_id=built.round.pk)
    with pytest.raises(Http404):
        selectors.round_get_for_party(user=built.hospitals["11"], round_id=built.round.pk)


@pytest.mark.parametrize(
    ("status", "allowed"),
    [("bids_opened", False), ("evaluated", True), ("objection", True), ("awarded", True)],
)
def test_the_office_sees_its_own_round_from_the_evaluation_on(built, status, allowed) -> None:
    _status(built, status)
    if allowed:
        assert (
            selectors.round_get_for_office(user=built.office, round_id=built.round.pk)[0]
            == built.round
        )
    else:
        with pytest.raises(Http404):
            selectors.round_get_for_office(user=built.office, round_id=built.round.pk)
    with pytest.raises(Http404):
        selectors.round_get_for_office(
            user=user_of(Organization.Kind.OFFICE), round_id=built.round.pk
        )
    # open data: the own office from the opening on, nobody else before the award is final
    assert selectors.round_get_for_open_data(user=built.office, round_id=built.round.pk)
    if status != "awarded":
        for outsider in (built.hospitals["11"], built.makers["齐鲁制药有限公司"]):
            with pytest.raises(Http404):
                selectors.round_get_for_open_data(user=outsider, round_id=built.round.pk)


def test_parties_reach_only_rounds_they_take_part_in(built) -> None:
    _round, _run, org = selectors.round_get_for_party(
        user=built.hospitals["11"], round_id=built.round.pk
    )
    assert org == built.hospitals["11"].organization
    loser = built.makers["辉瑞制药有限公司"]
    assert (
        selectors.round_get_for_party(user=loser, round_id=built.round.pk)[2] == loser.organization
    )
    with pytest.raises(Http404):  # a hospital of the round's provinces without allocation
        selectors.round_get_for_party(user=built.hospitals["44"], round_id=built.round.pk)
    with pytest.raises(Http404):
        selectors.round_get_for_party(
            user=user_of(Organization.Kind.MANUFACTURER), round_id=built.round.pk
        )
    with pytest.raises(PermissionDenied):
        selectors.round_get_for_party(user=built.office, round_id=built.round.pk)

"""Consumables: a hospital moves its losing products' volume to winners of its choice.

The round (the optimiser's joints example, docs/optimiser.md): one hip item, four bids,
B1 1,000 yuan (capacity 70 sets), B2 1,200, B3 2,000, B4 1,500. Beijing: H1 declares
60 sets of B1's product and 40 of B3's; H2 50 of B4's. Shanghai: H3 30 of B2's, H4 20
of B3's. Under the joints rule (groups A and B, 1.8 x the group's lowest) B3 loses:
winners B1, B2, B4. H1 has 40 sets of lost volume, H4 20.

Without choices the lost volume goes by the minimum-cost default: B1 has 10 sets of
capacity left, then B2 (1,200) is the cheapest. H1 choosing B4 moves its 40 sets to B4.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Organization, Region, User
from awards import problem, services
from awards.models import (
    AuditEntry,
    EvaluationRun,
    HospitalAllocation,
    LostVolumeChoice,
    ProvinceAllocation,
)
from awards.selectors import provisional_rounds
from awards.services import reassignment
from bidding.models import Bid, BidVersion, OpenedBid, Opening
from catalog.models import BiddingUnit, ProcurementItem, Product, ProductKind, Specification
from contracts import services as contract_services
from procurement.models import Ceiling, DemandDeclaration, Round, RoundItem, RuleSet
from procurement.services import rule_set_load_presets
from tests.factories import user_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are asserted in English (pages choose their language per request)."""
    with translation.override("en"):
        yield


CHOICE = "hospital's choice for a losing product"
DEFAULT = "minimum-cost default"
INTENDED = "hospital's intended volume"


@dataclass
class JointsRound:
    round: Round
    office: User
    round_item: RoundItem
    bids: dict[str, OpenedBid] = field(default_factory=dict)
    makers: dict[str, User] = field(default_factory=dict)
    hospitals: dict[str, User] = field(default_factory=dict)


BIDS = (("B1", "1000.0000", 70), ("B2", "1200.0000", None), ("B3", "2000.0000", None))
BIDS += (("B4", "1500.0000", None),)
DECLARED = (("H1", "11", "B1", 60), ("H1", "11", "B3", 40), ("H2", "11", "B4", 50))
DECLARED += (("H3", "31", "B2", 30), ("H4", "31", "B3", 20))


def joints_round(code: str = "T-2026-C1", *, objection_days: int | None = 0) -> JointsRound:
    """The joints round. ``objection_days``: its rule set's objection period (0: a
    rehearsal, finalized right after publication; ``None``: the default, 3 days; the
    period itself is tested in test_objection_period.py)."""
    rule_set_load_presets()
    RuleSet.objects.filter(name="consumables-joints", version=1).update(
        periods={} if objection_days is None else {"objection_days": objection_days}
    )
    office = user_of(Organization.Kind.OFFICE)
    now = timezone.now()
    round_ = Round.objects.create(
        code=code,
        name="测试耗材集采",
        name_en="Test consumables round",
        kind=Round.Kind.CONSUMABLES,
        status=Round.Status.BIDS_OPENED,
        office=office.organization,
        rule_set=RuleSet.objects.get(name="consumables-joints", version=1),
        demand_opens_at=now - datetime.timedelta(days=30),
        demand_closes_at=now - datetime.timedelta(days=20),
        bid_deadline=now - datetime.timedelta(days=2),
        opening_at=now - datetime.timedelta(days=1),
        objection_ends_at=now + datetime.timedelta(days=7),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
    )
    regions = {c: Region.objects.get(code=c) for c in ("11", "31")}
    round_.regions.set(regions.values())
    item = ProcurementItem.objects.create(
        code=f"HIP-{code}",
        kind=ProductKind.CONSUMABLE,
        name="髋关节 陶瓷-聚乙烯",
        name_en="Hip, ceramic-on-polyethylene",
        bidding_unit=BiddingUnit.HIP_CERAMIC_PE,
        unit_of_count="套",
        unit_of_count_en="set",
    )
    spec = Specification.objects.create(
        item=item, code="std", label="标准型", pack_count=1, is_representative=True
    )
    round_item = RoundItem.objects.create(round=round_, item=item)
    ceiling = Decimal("5000.0000")
    Ceiling.objects.create(round_item=round_item, specification=spec, max_valid_bid_price=ceiling)
    built = JointsRound(round=round_, office=office, round_item=round_item)
    opening = Opening.objects.create(
        round=round_, opened_at=now, trigger=Opening.Trigger.OFFICE, opened_by=office
    )
    products: dict[str, Product] = {}
    for n, (name, price, capacity) in enumerate(BIDS, start=1):
        maker = user_of(Organization.Kind.MANUFACTURER, name=f"{name} 医疗器械有限公司")
        built.makers[name] = maker
        product = Product.objects.create(
            kind=ProductKind.CONSUMABLE,
            manufacturer=maker.organization,
            item=item,
            specification=spec,
            name=f"{name} 髋关节假体",
            registration_number=f"国械注准2026{code}{n:03d}",
        )
        products[name] = product
        bid = Bid.objects.create(
            round=round_, round_item=round_item, specification=spec, manufacturer=maker.organization
        )
        receipt = hashlib.sha256(f"{code}-{name}".encode()).hexdigest()
        version = BidVersion.objects.create(
            bid=bid,
            number=1,
            action=BidVersion.Action.SUBMIT,
            product=product,
            nonce=b"n" * 12,
            ciphertext=b"sealed",
            receipt_hash=receipt,
            server_time=now,
            submitted_by=maker,
            manufacturer=maker.organization,
        )
        built.bids[name] = OpenedBid.objects.create(
            opening=opening,
            bid=bid,
            version=version,
            round_item=round_item,
            manufacturer=maker.organization,
            specification=spec,
            product=product,
            unit_price=Decimal(price),
            annual_capacity=capacity,
            unit_comparable_price=Decimal(price),
            max_valid_bid_price=ceiling,
            validity=OpenedBid.Validity.VALID,
            reasons=[],
            receipt_hash=receipt,
        )
    for hospital, region, bid_name, quantity in DECLARED:
        if hospital not in built.hospitals:
            built.hospitals[hospital] = user_of(
                Organization.Kind.HOSPITAL, region=regions[region], name=f"{hospital} 人民医院"
            )
        DemandDeclaration.objects.create(
            round_item=round_item,
            hospital=built.hospitals[hospital].organization,
            product=products[bid_name],
            quantity=quantity,
        )
    return built


def published(capture, code: str = "T-2026-C1", objection_days: int | None = 0) -> JointsRound:
    """The joints round evaluated and published for objections."""
    built = joints_round(code, objection_days=objection_days)
    with capture(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    return built


def finalize(capture, built: JointsRound) -> None:
    """Finalized once the objection period has passed (no real waiting)."""
    built.round.refresh_from_db()
    now = max(timezone.now(), built.round.objection_ends_at)
    with capture(execute=True):
        services.award_finalize(round_=built.round, by=built.office, now=now)
    built.round.refresh_from_db()


def allocations(built: JointsRound) -> dict[tuple[str, str, str], int]:
    run = EvaluationRun.objects.get(round=built.round, is_official=True).source_run
    names = {b.pk: name for name, b in built.bids.items()}
    return {
        (a.region.code, names[a.opened_bid_id], a.source): a.quantity
        for a in ProvinceAllocation.objects.filter(run=run).select_related("region")
    }


def hospital_rows(built: JointsRound, hospital: str) -> dict[str, int]:
    run = EvaluationRun.objects.get(round=built.round, is_official=True).source_run
    names = {b.pk: name for name, b in built.bids.items()}
    org = built.hospitals[hospital].organization
    return {
        names[h.opened_bid_id]: h.quantity
        for h in HospitalAllocation.objects.filter(run=run, hospital=org)
    }


def choose(built: JointsRound, hospital: str, *names: str) -> list[LostVolumeChoice]:
    return reassignment.lost_volume_choice_set(
        round_=built.round,
        round_item_id=built.round_item.pk,
        by=built.hospitals[hospital],
        opened_bid_ids=[built.bids[n].pk for n in names],
    )


# --- the service ----------------------------------------------------------------------------


def test_a_hospital_sees_its_lost_volume_and_the_winners_by_price(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks)
    (item,) = reassignment.lost_volume_items(
        round_=built.round, hospital=built.hospitals["H1"].organization
    )
    assert (item.declared, item.lost) == (100, 40)
    assert [(p.quantity, p.won) for p in item.products] == [(60, True), (40, False)]
    assert [(w.opened_bid_id, w.award_price) for w in item.winners] == [
        (built.bids["B1"].pk, Decimal("1000.0000")),
        (built.bids["B2"].pk, Decimal("1200.0000")),
        (built.bids["B4"].pk, Decimal("1500.0000")),
    ]
    # H2 and H3 declared winners only: nothing to choose.
    for name in ("H2", "H3"):
        org = built.hospitals[name].organization
        assert reassignment.lost_volume_items(round_=built.round, hospital=org) == []


def test_a_choice_is_stored_in_order_and_replaced(django_capture_on_commit_callbacks) -> None:
    built = published(django_capture_on_commit_callbacks)
    choose(built, "H1", "B4", "B2")
    choose(built, "H1", "B2")
    rows = LostVolumeChoice.objects.filter(hospital=built.hospitals["H1"].organization)
    assert [(r.rank, r.opened_bid_id) for r in rows] == [(1, built.bids["B2"].pk)]
    assert problem.lost_volume_preferences(round_=built.round) == {
        (built.round_item.pk, built.hospitals["H1"].organization.pk): (built.bids["B2"].pk,)
    }
    assert AuditEntry.objects.filter(action="lost_volume_choice_set").count() == 2
    choose(built, "H1")
    assert not rows.all().exists()


def test_a_hospital_cannot_choose_a_bid_that_did_not_win(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError) as exc:
        choose(built, "H1", "B3")
    assert exc.value.messages == ["Choose among the winners of this item."]
    with pytest.raises(ValidationError) as exc:
        choose(built, "H1", "B4", "B4")
    assert exc.value.messages == ["A winner can be chosen only once."]
    assert not LostVolumeChoice.objects.exists()


def declare_unbid_product(built: JointsRound, hospital: str, quantity: int) -> Product:
    """``hospital`` also declares ``quantity`` sets of a product nobody bid."""
    unbid = Product.objects.create(
        kind=ProductKind.CONSUMABLE,
        manufacturer=built.makers["B1"].organization,
        item=built.round_item.item,
        specification=built.bids["B1"].specification,
        name="未投标髋关节假体",
        registration_number="国械注准2026UNBID",
    )
    DemandDeclaration.objects.create(
        round_item=built.round_item,
        hospital=built.hospitals[hospital].organization,
        product=unbid,
        quantity=quantity,
    )
    return unbid


def test_a_product_nobody_bid_moves_only_its_own_volume_as_the_optimiser_does(
    django_capture_on_commit_callbacks,
) -> None:
    built = joints_round()
    declare_unbid_product(built, "H3", 5)
    h3 = built.hospitals["H3"].organization
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    # Before any choice: H3's 30 sets of the winning B2 stay with B2, its 5 unbid sets go
    # by the minimum-cost default (B1 has 10 sets of capacity left and is the cheapest).
    assert hospital_rows(built, "H3") == {"B2": 30, "B1": 5}
    (item,) = reassignment.lost_volume_items(round_=built.round, hospital=h3)
    assert (item.declared, item.lost) == (35, 5)
    assert [(p.quantity, p.won, p.was_bid, p.moves) for p in item.products] == [
        (30, True, True, 0),
        (5, False, False, 5),
    ]
    choose(built, "H3", "B4")
    finalize(django_capture_on_commit_callbacks, built)
    assert hospital_rows(built, "H3") == {"B2": 30, "B4": 5}
    assert allocations(built)[("31", "B2", INTENDED)] == 30
    assert allocations(built)[("31", "B4", CHOICE)] == 5


def test_the_problem_keeps_the_bid_products_volumes_beside_an_unbid_product(
    django_capture_on_commit_callbacks,
) -> None:
    from awards.problem import problem_build
    from procurement.optimiser import problem_from_dict, problem_to_dict
    from procurement.optimiser.model import BrandVolume

    built = joints_round()
    before = problem_build(round_=built.round, rule_set=built.round.rule_set).problem
    unbid = declare_unbid_product(built, "H1", 20)
    built_problem = problem_build(round_=built.round, rule_set=built.round.rule_set).problem
    h1 = f"H{built.hospitals['H1'].organization.pk}"
    (hospital,) = [h for d in built_problem.items[0].demand for h in d.hospitals if h.id == h1]
    assert hospital.quantity == 120
    assert hospital.brand_volumes == (
        BrandVolume(f"B{built.bids['B1'].pk}", 60),
        BrandVolume(f"B{built.bids['B3'].pk}", 40),
        BrandVolume(None, 20, f"P{unbid.pk}"),
    )
    # The JSON format reads it back to the same demand and the same hash.
    reparsed = problem_from_dict(problem_to_dict(built_problem))
    assert reparsed.input_hash == built_problem.input_hash
    assert reparsed.items == built_problem.items
    # The hash covers the unbid volume.
    assert built_problem.input_hash != before.input_hash
    DemandDeclaration.objects.filter(product=unbid).update(quantity=21)
    changed = problem_build(round_=built.round, rule_set=built.round.rule_set).problem
    assert changed.input_hash != built_problem.input_hash


def test_a_hospital_without_lost_volume_cannot_choose(django_capture_on_commit_callbacks) -> None:
    built = published(django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError) as exc:
        choose(built, "H2", "B1")
    assert exc.value.messages == ["Your hospital has no volume of a losing product on this item."]
    with pytest.raises(ValidationError) as exc:
        reassignment.lost_volume_choice_set(
            round_=built.round,
            round_item_id=built.round_item.pk,
            by=built.makers["B1"],
            opened_bid_ids=[built.bids["B1"].pk],
        )
    assert exc.value.messages == ["Only a hospital can choose winners for its lost volume."]


def test_choices_are_refused_before_publication_and_after_finalizing(
    django_capture_on_commit_callbacks,
) -> None:
    built = joints_round()
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        choose(built, "H1", "B4")
    assert exc.value.messages == [
        "Round T-2026-C1 is Evaluated (proposed winners): winners for lost volume can be "
        "chosen only while the proposed winners are published for objections."
    ]
    services.objection_period_open(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    finalize(django_capture_on_commit_callbacks, built)
    with pytest.raises(ValidationError) as exc:
        choose(built, "H1", "B4")
    assert exc.value.messages == [
        "The award of round T-2026-C1 has been finalized: choices closed when the office "
        "finalized it, and the final allocation uses the choices made before."
    ]


# --- end to end: the choice reaches the final allocation --------------------------------------


def test_without_a_choice_the_lost_volume_goes_by_minimum_cost(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks)
    proposed = EvaluationRun.objects.get(round=built.round, is_official=True)
    finalize(django_capture_on_commit_callbacks, built)
    # Nobody chose: no second run, the proposed run is final.
    assert EvaluationRun.objects.get(round=built.round, is_official=True) == proposed
    assert not EvaluationRun.objects.filter(is_hospital_choice=True).exists()
    # 60 lost sets: B1's remaining 10 sets of capacity, then B2 (both provinces cost the
    # same, so which province gets B1's 10 is the solver's tie).
    by_bid: dict[tuple[str, str], int] = {}
    for (_region, bid, source), quantity in allocations(built).items():
        by_bid[(bid, source)] = by_bid.get((bid, source), 0) + quantity
    assert by_bid == {
        ("B1", INTENDED): 60,
        ("B4", INTENDED): 50,
        ("B2", INTENDED): 30,
        ("B1", DEFAULT): 10,
        ("B2", DEFAULT): 50,
    }
    h1 = hospital_rows(built, "H1")
    assert sum(h1.values()) == 100 and "B4" not in h1
    assert contract_services.contracts_generate_blocker(round_=built.round) == ""


def test_the_hospitals_choice_drives_the_final_allocation(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks)
    proposed = EvaluationRun.objects.get(round=built.round, is_official=True)
    choose(built, "H1", "B4", "B2")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.award_finalize(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    # Until the choice run has finished, contracts wait and the allocation is provisional.
    run = EvaluationRun.objects.get(is_hospital_choice=True)
    assert run.status == EvaluationRun.Status.QUEUED
    assert contract_services.contracts_generate_blocker(round_=built.round) == (
        "The hospitals' choices for the volume of losing products are being applied; "
        "contracts can be drawn up when that run has finished."
    )
    assert built.round.pk in provisional_rounds(round_ids=[built.round.pk])
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.DONE and run.is_official
    assert run.input_hash and run.input_hash != proposed.input_hash  # the choices are input
    assert run.same_as is None
    proposed.refresh_from_db()
    assert not proposed.is_official
    assert built.round.status == Round.Status.AWARDED
    assert allocations(built) == {
        ("11", "B1", INTENDED): 60,
        ("11", "B4", INTENDED): 50,
        ("11", "B4", CHOICE): 40,  # H1's choice, though B1 and B2 are cheaper
        ("31", "B2", INTENDED): 30,
        ("31", "B1", DEFAULT): 10,  # H4 chose nobody: minimum cost within capacity
        ("31", "B2", DEFAULT): 10,
    }
    assert hospital_rows(built, "H1") == {"B1": 60, "B4": 40}
    assert hospital_rows(built, "H4") == {"B1": 10, "B2": 10}
    assert contract_services.contracts_generate_blocker(round_=built.round) == ""
    assert built.round.pk not in provisional_rounds(round_ids=[built.round.pk])
    audit = AuditEntry.objects.get(action="lost_volume_choices_applied")
    assert audit.detail == {"run": run.pk, "hospitals": 1, "proposed_run": proposed.pk}


def test_a_choice_survives_an_upheld_objection_and_skips_a_bid_it_excluded(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks, objection_days=None)
    choose(built, "H1", "B4", "B2")
    objection = services.objection_file(
        round_=built.round,
        round_item_id=built.round_item.pk,
        by=built.makers["B3"],
        text="B4 的注册证已过期。",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.objection_uphold(
            objection=objection,
            by=built.office,
            answer="Upheld: the registration had expired.",
            excluded_bid_id=built.bids["B4"].pk,
        )
    services.objection_period_open(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    (item,) = reassignment.lost_volume_items(
        round_=built.round, hospital=built.hospitals["H1"].organization
    )
    assert built.bids["B4"].pk not in [w.opened_bid_id for w in item.winners]
    assert item.chosen == [built.bids["B4"].pk, built.bids["B2"].pk]  # kept as made
    finalize(django_capture_on_commit_callbacks, built)
    run = EvaluationRun.objects.get(round=built.round, is_official=True)
    assert run.is_hospital_choice and run.status == EvaluationRun.Status.DONE
    # B4 no longer wins: H1's lost volume goes to its next preference.
    assert item.lost == 40
    assert hospital_rows(built, "H1") == {"B1": 60, "B2": 40}
    assert allocations(built)[("11", "B2", CHOICE)] == 40


def test_the_choice_run_refuses_to_change_the_winners(django_capture_on_commit_callbacks) -> None:
    built = published(django_capture_on_commit_callbacks)
    choose(built, "H1", "B4")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.award_finalize(round_=built.round, by=built.office)
    # A winner's price changes behind the platform's back before the run is solved (its
    # unit comparable price too: the ranking uses the figure the opening stored).
    OpenedBid.objects.filter(pk=built.bids["B4"].pk).update(
        unit_price=Decimal("1400.0000"), unit_comparable_price=Decimal("1400.0000")
    )
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    run = EvaluationRun.objects.get(is_hospital_choice=True)
    assert run.status == EvaluationRun.Status.FAILED
    assert run.error == "The hospitals' choices would change the winners."
    assert not run.is_official
    built.round.refresh_from_db()
    assert contract_services.contracts_generate_blocker(round_=built.round) == (
        "Applying the hospitals' choices for the volume of losing products failed; run it "
        "again from its run page, then draw up the contracts."
    )


def test_a_drug_round_queues_no_choice_run(django_capture_on_commit_callbacks) -> None:
    from tests.awards.factories import awarded_round

    built = awarded_round(django_capture_on_commit_callbacks)
    assert not EvaluationRun.objects.filter(round=built.round, is_hospital_choice=True).exists()
    assert reassignment.lost_volume_choice_summary(round_=built.round) is None


def test_an_optimised_award_takes_no_choices(django_capture_on_commit_callbacks) -> None:
    built = joints_round()
    Round.objects.filter(pk=built.round.pk).update(
        rule_set=RuleSet.objects.get(name="optimised-award", version=1)
    )
    built.round.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    h1 = built.hospitals["H1"].organization
    assert reassignment.lost_volume_items(round_=built.round, hospital=h1) == []
    assert reassignment.choice_window_blocker(round_=built.round) == (
        "Round T-2026-C1 is awarded under the rule set Optimised award v1, which allocates "
        "all volume by its own optimisation: hospitals do not choose winners for lost volume."
    )
    assert reassignment.lost_volume_choice_summary(round_=built.round) is None
    with pytest.raises(ValidationError):
        choose(built, "H1", "B4")
    finalize(django_capture_on_commit_callbacks, built)
    assert not EvaluationRun.objects.filter(is_hospital_choice=True).exists()


def test_the_office_summary_counts_the_hospitals_that_chose(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks)
    summary = reassignment.lost_volume_choice_summary(round_=built.round)
    assert summary is not None
    assert (summary.hospitals_with_lost_volume, summary.hospitals_chosen) == (2, 0)
    choose(built, "H4", "B2")
    summary = reassignment.lost_volume_choice_summary(round_=built.round)
    assert summary is not None
    assert (summary.hospitals_with_lost_volume, summary.hospitals_chosen) == (2, 1)
    page = (
        _client(built.office)
        .get(reverse("awards:round", args=[built.round.pk]), HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert "1 of 2 hospitals with volume of a losing product have chosen their winners." in page


def test_the_problem_carries_the_choices_and_its_hash_covers_them(
    django_capture_on_commit_callbacks,
) -> None:
    from awards.problem import problem_build

    built = published(django_capture_on_commit_callbacks)
    choose(built, "H1", "B4", "B2")
    plain = problem_build(round_=built.round, rule_set=built.round.rule_set).problem
    chosen = problem_build(
        round_=built.round,
        rule_set=built.round.rule_set,
        reassign_to=problem.lost_volume_preferences(round_=built.round),
    ).problem
    h1 = f"H{built.hospitals['H1'].organization.pk}"
    targets = {h.id: h.reassign_to for d in chosen.items[0].demand for h in d.hospitals}
    assert targets[h1] == (f"B{built.bids['B4'].pk}", f"B{built.bids['B2'].pk}")
    assert all(not h.reassign_to for d in plain.items[0].demand for h in d.hospitals)
    assert plain.input_hash != chosen.input_hash


# --- the pages ------------------------------------------------------------------------------


def _client(user: User, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _url(built: JointsRound) -> str:
    return reverse("awards:lost-volume", args=[built.round.pk])


def test_the_page_is_for_hospitals_only(django_capture_on_commit_callbacks, client) -> None:
    built = published(django_capture_on_commit_callbacks)
    response = client.get(_url(built))
    assert response.status_code == 302 and "/login" in response["Location"]
    for user in (built.office, built.makers["B1"]):
        assert _client(user).get(_url(built)).status_code == 403
    assert _client(built.hospitals["H1"]).get(_url(built)).status_code == 200
    # Another hospital of the round sees only its own (no lost volume), never H1's.
    other = _client(built.hospitals["H2"]).get(_url(built)).content.decode()
    assert "nothing to choose" in other and "B3 髋关节假体" not in other


def test_the_page_shows_the_lost_volume_winners_and_the_default(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks)
    page = _client(built.hospitals["H1"]).get(_url(built), HTTP_ACCEPT_LANGUAGE="en")
    page = page.content.decode()
    assert "Lost volume: 40 of the 100 you declared (unit of count: set)." in page
    assert "1,500.0000" in page and "1,200.0000" in page
    assert "No choice: the minimum-cost default applies." in page
    label = f'<label for="id_item-{built.round_item.pk}-preference_1">Preference 1</label>'
    assert label in page
    assert (
        "<legend>Winners to receive your lost volume of 40 (set), in order of preference</legend>"
        in page
    )
    chinese = _client(built.hospitals["H1"], "zh-hans").get(_url(built)).content.decode()
    assert "最低成本" in chinese


def test_the_page_shows_an_unbid_products_volume_as_lost_and_the_winning_one_as_kept(
    django_capture_on_commit_callbacks,
) -> None:
    built = joints_round()
    declare_unbid_product(built, "H3", 5)
    with django_capture_on_commit_callbacks(execute=True):
        services.evaluation_request(round_=built.round, by=built.office)
    services.objection_period_open(round_=built.round, by=built.office)
    built.round.refresh_from_db()
    page = _client(built.hospitals["H3"]).get(_url(built)).content.decode()
    assert "Lost volume: 5 of the 35 you declared (unit of count: set)." in page
    rows = [
        re.sub(r"<[^>]+>", "|", row).replace("\n", "")
        for row in page.split("<caption>The products you declared</caption>")[1]
        .split("</tbody>")[0]
        .split("<tr>")[2:]
    ]
    cells = [[c.strip() for c in row.split("|") if c.strip()] for row in rows]
    # Product, intended volume, result, lost volume (the manufacturer column left out).
    assert [[c[0], *c[2:]] for c in cells] == [
        ["B2 髋关节假体", "30 set", "Won", "0 set"],
        ["未投标髋关节假体", "5 set", "Not bid: its volume is lost", "5 set"],
    ]
    assert (
        "<legend>Winners to receive your lost volume of 5 (set), in order of preference</legend>"
        in page
    )


def test_a_hospital_orders_the_winners_on_the_page(django_capture_on_commit_callbacks) -> None:
    built = published(django_capture_on_commit_callbacks)
    prefix = f"item-{built.round_item.pk}"
    response = _client(built.hospitals["H1"]).post(
        _url(built),
        {
            "round_item": built.round_item.pk,
            f"{prefix}-preference_1": built.bids["B4"].pk,
            f"{prefix}-preference_2": built.bids["B1"].pk,
            f"{prefix}-preference_3": "",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"#item-{built.round_item.pk}")
    rows = LostVolumeChoice.objects.filter(hospital=built.hospitals["H1"].organization)
    assert [r.opened_bid_id for r in rows] == [built.bids["B4"].pk, built.bids["B1"].pk]
    response = _client(built.hospitals["H1"]).post(
        _url(built), {"round_item": built.round_item.pk, "clear": "1"}
    )
    assert response.status_code == 302 and not rows.all().exists()


def test_errors_are_shown_next_to_the_field_and_in_the_summary(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks)
    prefix = f"item-{built.round_item.pk}"
    response = _client(built.hospitals["H1"]).post(
        _url(built),
        {
            "round_item": built.round_item.pk,
            f"{prefix}-preference_1": built.bids["B4"].pk,
            f"{prefix}-preference_2": built.bids["B4"].pk,
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert '<div class="error-summary" role="alert"' in page
    assert f'<a href="#id_{prefix}-preference_2">Preference 2: ' in page
    assert (
        f'<div class="field-error" id="id_{prefix}-preference_2_error">'
        "<p>This winner is already preference 1.</p></div>"
    ) in page
    response = _client(built.hospitals["H1"]).post(
        _url(built),
        {"round_item": built.round_item.pk, f"{prefix}-preference_2": built.bids["B4"].pk},
    )
    assert "Choose preference 1 before preference 2." in response.content.decode()
    assert not LostVolumeChoice.objects.exists()


def test_a_hospital_cannot_choose_for_another_hospital_or_a_non_winner(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks)
    prefix = f"item-{built.round_item.pk}"
    # H2 has no lost volume: posting H1's item choice changes nothing, and only its own.
    response = _client(built.hospitals["H2"]).post(
        _url(built),
        {"round_item": built.round_item.pk, f"{prefix}-preference_1": built.bids["B4"].pk},
    )
    assert response.status_code == 400
    assert "Your hospital has no volume of a losing product on this item." in (
        response.content.decode()
    )
    # A losing bid is not among the options.
    response = _client(built.hospitals["H1"]).post(
        _url(built),
        {"round_item": built.round_item.pk, f"{prefix}-preference_1": built.bids["B3"].pk},
    )
    assert response.status_code == 400
    assert not LostVolumeChoice.objects.exists()


def test_after_finalizing_the_page_says_why_choices_are_refused(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks)
    choose(built, "H1", "B4")
    finalize(django_capture_on_commit_callbacks, built)
    prefix = f"item-{built.round_item.pk}"
    page = _client(built.hospitals["H1"]).get(_url(built)).content.decode()
    response = _client(built.hospitals["H1"]).post(
        _url(built),
        {"round_item": built.round_item.pk, f"{prefix}-preference_1": built.bids["B2"].pk},
    )
    refusal = (
        "The award of round T-2026-C1 has been finalized: choices closed when the office "
        "finalized it, and the final allocation uses the choices made before."
    )
    assert refusal in page and "<form" not in page.split("<main")[-1].split("Your choice:")[1]
    assert response.status_code == 400 and refusal in response.content.decode()
    assert [c.opened_bid_id for c in LostVolumeChoice.objects.all()] == [built.bids["B4"].pk]


def test_the_home_panel_links_to_the_page_while_it_is_open(
    django_capture_on_commit_callbacks,
) -> None:
    built = published(django_capture_on_commit_callbacks)
    home_url = reverse("accounts:hospital-home")
    home = _client(built.hospitals["H1"]).get(home_url, HTTP_ACCEPT_LANGUAGE="en")
    home = home.content.decode()
    other = _client(built.hospitals["H2"]).get(home_url).content.decode()
    assert _url(built) in home
    assert "choose the winners for the volume of your 1 item whose product lost" in home
    assert _url(built) not in other
    finalize(django_capture_on_commit_callbacks, built)
    home = _client(built.hospitals["H1"]).get(home_url).content.decode()
    assert _url(built) not in home


def test_a_drug_round_has_no_choice_page(django_capture_on_commit_callbacks) -> None:
    from tests.awards.factories import in_objection_period

    built = in_objection_period(django_capture_on_commit_callbacks)
    url = reverse("awards:lost-volume", args=[built.round.pk])
    assert _client(built.hospitals[0]).get(url).status_code == 404

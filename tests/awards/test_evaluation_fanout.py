"""A round with many items is evaluated in parts (``awards.services.fanout``): one task
per chunk of items, then a merge; it stores what a single task stores, byte for byte, a
redelivered chunk is not solved twice, and the run's page shows "n of m parts"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
from django.test import Client
from django.urls import reverse

from awards import services
from awards.models import (
    BidResult,
    EvaluationPart,
    EvaluationRun,
    HospitalAllocation,
    ItemAward,
    ProvinceAllocation,
)
from awards.services import fanout
from awards.services.comparison import run_problem
from catalog.models import FormGroup, ProcurementItem, ProductKind, Specification
from procurement.models import Ceiling, DemandDeclaration, RoundItem, RuleSet
from procurement.optimiser import result_to_dict, solve
from tests.awards.factories import OpenedRound, opened_bid, opened_round
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

# (price factor, demand factor) of each extra item: prices and volumes differ by item
EXTRA = ((Decimal("1.1"), 2), (Decimal("0.9"), 3), (Decimal("1.3"), 1), (Decimal("0.7"), 5))


def round_with_items(code: str = "T-2026-FAN") -> OpenedRound:
    """``opened_round`` with four more items (other prices and volumes): five in all."""
    built = opened_round(code=code)
    first = built.round_item
    first_spec = Specification.objects.get(item=first.item)
    declarations = list(DemandDeclaration.objects.filter(round_item=first).order_by("pk"))
    prices = [b.unit_price or Decimal(0) for b in built.bids]
    for k, (price_factor, demand_factor) in enumerate(EXTRA, start=1):
        item = ProcurementItem.objects.create(
            code=f"ITEM{k}-{code}",
            kind=ProductKind.DRUG,
            name=f"测试药品 {k}",
            name_en=f"Test drug {k}",
            generic_name=f"测试药品 {k}",
            form_group=FormGroup.ORAL_SOLID,
            unit_of_count="片",
            unit_of_count_en="tablet",
        )
        spec = Specification.objects.create(
            item=item,
            code="10mg",
            label="10 mg x 7",
            strength_value=Decimal("10"),
            strength_unit="mg",
            pack_count=first_spec.pack_count,
            is_representative=True,
        )
        round_item = RoundItem.objects.create(
            round=built.round, item=item, reference_price=Decimal("0.8") * price_factor
        )
        ceiling = (Decimal("0.5000") * price_factor).quantize(Decimal("0.0001"))
        Ceiling.objects.create(
            round_item=round_item, specification=spec, max_valid_bid_price=ceiling
        )
        for d in declarations:
            DemandDeclaration.objects.create(
                round_item=round_item,
                hospital=d.hospital,
                specification=spec,
                quantity=d.quantity * demand_factor,
            )
        for maker, price in zip(built.makers, prices, strict=True):
            opened_bid(
                round_=built.round,
                round_item=round_item,
                specification=spec,
                maker=maker,
                price=str((price * price_factor).quantize(Decimal("0.0001"))),
                ceiling=ceiling,
            )
    return built


def _rows(run: EvaluationRun) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the run stored, without its own keys (id, run)."""

    def values(model: Any, *order: str) -> list[tuple[Any, ...]]:
        fields = [
            f.attname for f in model._meta.concrete_fields if f.attname not in {"id", "run_id"}
        ]
        return list(model.objects.filter(run=run).order_by(*order).values_list(*fields))

    return {
        "items": values(ItemAward, "round_item_id"),
        "bids": values(BidResult, "opened_bid_id"),
        "provinces": values(ProvinceAllocation, "round_item_id", "region_id", "opened_bid_id"),
        "hospitals": values(
            HospitalAllocation, "round_item_id", "region_id", "hospital_id", "opened_bid_id"
        ),
    }


def _document(run: EvaluationRun) -> bytes:
    return orjson.dumps(run.result_document(), option=orjson.OPT_SORT_KEYS)


def _fan_out(settings: Any, chunks: int = 3) -> None:
    settings.AWARDS_FANOUT_MIN_ITEMS = 2
    settings.AWARDS_FANOUT_CHUNKS = chunks


def test_a_fanned_out_run_stores_what_a_single_task_stores(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    built = round_with_items()
    _fan_out(settings)
    with django_capture_on_commit_callbacks(execute=True):
        fanned = services.evaluation_request(round_=built.round, by=built.office)
    fanned.refresh_from_db()
    assert fanned.status == EvaluationRun.Status.DONE, fanned.error
    assert (fanned.parts, fanned.parts_done) == (3, 3)
    parts = EvaluationPart.objects.filter(run=fanned).order_by("index")
    assert [p.items for p in parts] and sum(p.items for p in parts) == 5
    assert all(p.result is not None and p.problem in (b"", memoryview(b"")) for p in parts)
    assert _document(fanned) == orjson.dumps(
        result_to_dict(solve(run_problem(fanned).problem), include_timing=False),
        option=orjson.OPT_SORT_KEYS,
    )

    # The same round evaluated by one task: its own rows (the fanned-out run's input hash
    # is put aside, or the second run would point at the first instead of storing rows).
    EvaluationRun.objects.filter(pk=fanned.pk).update(input_hash="set aside")
    settings.AWARDS_FANOUT_MIN_ITEMS = 0
    with django_capture_on_commit_callbacks(execute=True):
        single = services.evaluation_request(round_=built.round, by=built.office)
    single.refresh_from_db()
    assert single.status == EvaluationRun.Status.DONE and single.same_as_id is None
    assert single.parts == 0
    assert not EvaluationPart.objects.filter(run=single).exists()
    assert _document(single) == _document(fanned)
    rows = _rows(fanned)
    assert len(rows["items"]) == 5 and len(rows["hospitals"]) >= 5
    assert rows == _rows(single)
    assert (fanned.total_cost, fanned.solver_status) == (single.total_cost, single.solver_status)


def test_a_redelivered_chunk_is_counted_once_and_not_solved_again(
    settings: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = round_with_items(code="T-2026-FAN2")
    _fan_out(settings)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run = services.evaluation_request(round_=built.round, by=built.office)
    assert len(queued) == 1
    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(fanout, "_send_parts", lambda run_id, n: sent.append(("parts", (n,))))
    monkeypatch.setattr(fanout, "_send_merge", lambda run_id: sent.append(("merge", ())))
    with django_capture_on_commit_callbacks(execute=True):
        services.storing.evaluation_execute(run_id=run.pk)  # the run's task
    run.refresh_from_db()
    assert (run.status, run.parts, run.parts_done) == ("running", 3, 0)
    assert sent == [("parts", (3,))]

    solved: list[int] = []
    real = fanout.solve_items

    def counted(problem: Any, digits: int) -> Any:
        solved.append(len(problem.items))
        return real(problem, digits)

    monkeypatch.setattr(fanout, "solve_items", counted)
    with django_capture_on_commit_callbacks(execute=True):
        assert fanout.part_execute(run_id=run.pk, index=0) is False
        assert fanout.part_execute(run_id=run.pk, index=0) is False  # redelivered
        run.refresh_from_db()
        assert run.parts_done == 1 and len(solved) == 1
        assert fanout.part_execute(run_id=run.pk, index=2) is False
        assert fanout.merge_execute(run_id=run.pk) is None  # a part missing: nothing
        assert fanout.part_execute(run_id=run.pk, index=1) is True
    assert len(solved) == 3 and sent[1:] == [("merge", ())]
    run.refresh_from_db()
    assert (run.status, run.parts_done, run.progress) == ("running", 3, 60)

    # The page polling the run shows the parts.
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=built.office.username, password=TEST_PASSWORD)
    page = client.get(reverse("awards:run-progress", args=[run.pk]))
    assert b'class="run-parts"' in page.content and b"3 of 3" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        stored = fanout.merge_execute(run_id=run.pk)
        assert stored is not None and stored.status == EvaluationRun.Status.DONE
        assert fanout.merge_execute(run_id=run.pk) is None  # the merge redelivered
        assert fanout.part_execute(run_id=run.pk, index=1) is False  # a late duplicate
    assert len(solved) == 3
    assert HospitalAllocation.objects.filter(run=run).count() == len(
        stored.result_document()["hospital_allocations"]  # type: ignore[arg-type, index]
    )


def test_parts_of_the_same_chunks_are_read_back_in_a_later_run(
    settings: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = round_with_items(code="T-2026-FAN3")
    _fan_out(settings, chunks=2)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.evaluation_request(round_=built.round, by=built.office)
    monkeypatch.setattr(fanout, "solve_items", lambda p, d: pytest.fail("solved again"))
    with django_capture_on_commit_callbacks(execute=True):
        again = services.evaluation_request(round_=built.round, by=built.office)
    again.refresh_from_db()
    assert again.status == EvaluationRun.Status.DONE and again.same_as_id == first.pk
    assert list(
        EvaluationPart.objects.filter(run=again).order_by("index").values_list("reused", flat=True)
    ) == [True, True]


def test_an_optimised_award_is_one_task_whatever_its_items(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    built = round_with_items(code="T-2026-FAN4")
    _fan_out(settings)
    rule_set = RuleSet.objects.get(name="optimised-award", version=1)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.evaluation_request(round_=built.round, by=built.office, rule_set=rule_set)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.DONE, run.error
    assert run.parts == 0 and not EvaluationPart.objects.filter(run=run).exists()
    assert fanout.chunk_count(run_problem(run).problem) == 0

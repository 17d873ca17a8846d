"""On PostgreSQL with a real Celery worker: demand racing the close of the window, a
hospital's concurrent submissions, and the set-based (COPY) write path."""

from __future__ import annotations

import datetime
import itertools
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import override

from config.tasks import run_deadline_checks
from procurement.models import DemandChange, DemandDeclaration, Round
from procurement.services import DemandLine, demand_declare, demand_import
from tests.factories import user_of
from tests.procurement.factories import drug_item, hospital_user, make_round

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HOSPITALS = 16


def test_declarations_racing_the_deadline_sweep_on_a_real_worker(celery_worker: object) -> None:
    office = user_of("office")
    round_ = make_round(office=office, open_demand=True)
    hospitals = [hospital_user() for _ in range(HOSPITALS)]
    # The window closes 1.5 s from now; the sweep runs on the worker as beat would.
    closes = timezone.now() + datetime.timedelta(seconds=1.5)
    Round.objects.filter(pk=round_.pk).update(demand_closes_at=closes)
    round_.refresh_from_db()
    results: dict[int, str] = {}
    barrier = threading.Barrier(HOSPITALS + 1)

    def declare(index: int) -> None:
        user = hospitals[index]
        barrier.wait()
        try:
            for attempt in range(40):
                with override("en"):
                    try:
                        demand_declare(
                            hospital=user.organization,
                            round_=Round.objects.get(pk=round_.pk),
                            lines=[
                                DemandLine("D-ATV-OS", 100 + attempt, specification_code="10MG")
                            ],
                            channel="api",
                            by=user,
                        )
                        results[index] = f"ok {100 + attempt}"
                    except ValidationError as exc:
                        results[index] = results.get(index, "") + " | " + exc.messages[0]
                        return
                threading.Event().wait(0.1)
        finally:
            connection.close()

    def sweep() -> None:
        barrier.wait()
        try:
            while timezone.now() < closes + datetime.timedelta(seconds=1):
                run_deadline_checks.apply_async().get(timeout=30)
                threading.Event().wait(0.2)
        finally:
            connection.close()

    threads = [threading.Thread(target=declare, args=(i,)) for i in range(HOSPITALS)]
    threads.append(threading.Thread(target=sweep))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    round_.refresh_from_db()
    assert round_.status == Round.Status.DEMAND_CLOSED
    closed_at = round_.transitions.get(to_status=Round.Status.DEMAND_CLOSED).at
    # Every hospital was eventually refused, with one of the two closed-window messages.
    for index in range(HOSPITALS):
        assert "Demand declaration for round R-2026-1" in results[index], results[index]
    # Nothing was written after the window closed, and every accepted value is what is stored.
    for declaration in DemandDeclaration.objects.all():
        assert declaration.updated_at <= closed_at
    stored = dict(DemandDeclaration.objects.values_list("hospital__users__pk", "quantity"))
    for index, user in enumerate(hospitals):
        accepted = [p for p in results[index].split(" | ") if p.startswith("ok ")]
        if accepted:
            assert stored[user.pk] == int(accepted[-1].split()[1])
    assert DemandChange.objects.filter(at__gt=closed_at).count() == 0


def test_a_hospitals_concurrent_submissions_never_duplicate_a_line() -> None:
    office = user_of("office")
    round_ = make_round(office=office, open_demand=True)
    user = hospital_user()
    barrier = threading.Barrier(10)
    errors: list[str] = []

    def send(quantity: int) -> None:
        barrier.wait()
        try:
            demand_declare(
                hospital=user.organization,
                round_=Round.objects.get(pk=round_.pk),
                lines=[DemandLine("D-ATV-OS", quantity, specification_code="10MG")],
                channel="web",
                by=user,
            )
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(10 + i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    declaration = DemandDeclaration.objects.get()
    history = list(DemandChange.objects.order_by("id").values_list("old_quantity", "new_quantity"))
    # One unbroken chain: each change starts from the value the previous one left.
    assert history[0][0] is None
    for (_, new), (old, _) in itertools.pairwise(history):
        assert old == new
    assert history[-1][1] == declaration.quantity


def test_collated_import_writes_and_updates_through_copy() -> None:
    office = user_of("office")
    round_ = make_round(
        office=office, items=[drug_item(), drug_item("D-CLO-OS", ("75MG",))], open_demand=True
    )
    a, b = hospital_user("11"), hospital_user("31")
    ca, cb = a.organization.social_credit_code, b.organization.social_credit_code
    first = (
        "医疗机构代码,品种编码,规格编码,年度需求量\n"
        f"{ca},D-ATV-OS,10MG,100\n{ca},D-CLO-OS,75MG,200\n{cb},D-ATV-OS,20MG,300\n"
    ).encode()
    outcome = demand_import(
        round_=round_,
        data=first,
        filename="a.csv",
        max_bytes=10**6,
        hospital=None,
        by=office,
        commit=True,
    )
    assert (outcome.created, outcome.committed) == (3, True)
    second = first.replace(b",200\n", b",250\n")
    outcome = demand_import(
        round_=round_,
        data=second,
        filename="a.csv",
        max_bytes=10**6,
        hospital=None,
        by=office,
        commit=True,
    )
    assert (outcome.created, outcome.changed, outcome.unchanged) == (0, 1, 2)
    assert sorted(DemandDeclaration.objects.values_list("quantity", flat=True)) == [100, 250, 300]
    assert sorted(
        DemandChange.objects.values_list("old_quantity", "new_quantity", "channel", "by"),
        key=lambda r: (r[0] or 0, r[1]),
    ) == [
        (None, 100, "upload", office.pk),
        (None, 200, "upload", office.pk),
        (None, 300, "upload", office.pk),
        (200, 250, "upload", office.pk),
    ]


def test_copied_rows_carry_the_time_channel_and_user_of_the_import() -> None:
    office = user_of("office")
    round_ = make_round(office=office, open_demand=True)
    code = hospital_user("11").organization.social_credit_code
    before = timezone.now()
    demand_import(
        round_=round_,
        data=(
            f"hospital code,item code,specification code,quantity\n{code},D-ATV-OS,10MG,7\n"
        ).encode(),
        filename="t.csv",
        max_bytes=10**6,
        hospital=None,
        by=office,
        commit=True,
    )
    after = timezone.now()
    declaration = DemandDeclaration.objects.get()
    change = DemandChange.objects.get()
    assert before <= declaration.updated_at <= after
    assert before <= change.at <= after
    assert (change.channel, change.by, change.specification.code, change.product) == (
        "upload",
        office,
        "10MG",
        None,
    )
    assert (declaration.specification.code, declaration.product, declaration.quantity) == (
        "10MG",
        None,
        7,
    )


def test_collated_import_runs_on_the_real_worker(celery_worker: object) -> None:
    """Both tasks on the real worker: the check (nothing written), then the commit."""
    import time

    from catalog.models import StoredUpload
    from common.uploads import upload_queue, upload_store
    from procurement.tasks import demand_collated_import_task, demand_collated_preview_task

    office = user_of("office")
    round_ = make_round(office=office, open_demand=True)
    code = hospital_user("11").organization.social_credit_code
    upload = upload_store(
        user=office,
        purpose="demand-collated",
        scope=round_.code,
        filename="w.csv",
        data=(
            f"hospital code,item code,specification code,quantity\n{code},D-ATV-OS,10MG,9\n"
        ).encode(),
        status=StoredUpload.Status.PREVIEW_QUEUED,
    )

    def wait_for(*statuses: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            upload.refresh_from_db()
            if upload.status in statuses:
                return
            time.sleep(0.3)

    demand_collated_preview_task.delay(str(upload.token))
    wait_for(StoredUpload.Status.PREVIEWED, StoredUpload.Status.FAILED)
    assert upload.status == StoredUpload.Status.PREVIEWED, upload.result
    assert upload.result["created"] == 1
    assert not DemandDeclaration.objects.exists()
    assert upload_queue(upload=upload)
    demand_collated_import_task.delay(str(upload.token))
    wait_for(StoredUpload.Status.DONE, StoredUpload.Status.FAILED)
    assert upload.status == StoredUpload.Status.DONE, upload.result
    assert upload.result["created"] == 1
    assert DemandDeclaration.objects.get().quantity == 9

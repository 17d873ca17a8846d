"""Sealed-bid submission through the real HTTP stack, beside a trivial authenticated page.

A fresh PostgreSQL database (``jicai_bench_bidding`` on 127.0.0.1:5432) is created and migrated;
one drug round with 20 items is put in bidding with 40 manufacturers, each owning an
eligible product per item. gunicorn serves the project on a free loopback port with the
2-core production profile (README: ``--workers 3 --threads 2``; production settings: debug
off, a random secret and master key). At 8 and then at 50 concurrent clients (each level
with its own 400 manufacturer x item pairs), the clients:

1. fetch ``/api/v1/me/`` (token auth, one small query: the trivial authenticated page),
   400 times, before the bids and again after them (the baseline is both together);
2. submit 400 sealed bids (``POST /api/v1/bids/`` with an Idempotency-Key), each a new
   manufacturer x item pair: lock the round row, check the deadline, seal (HPKE to the round key),
   store the version and its receipt;
3. revise those 400 bids (a second sealed version each);

then the round is opened (in a process of its own): every bid decrypted, its receipt
recomputed and checked, its unit comparable price computed, the record stored.

Every phase is bounded by a request count and a time limit, so the run stops by itself.
Figures: requests per second and p50/p95 latency per phase, and for each level the bid's
throughput as a share of the trivial page's and its p95 as a multiple of the trivial p95,
against the goals (issue 16: at least 50 %, at most 2x). Loopback only.

Run alone: ``python -m bench.run bidding``.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from bench.common import Row, load

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "jicai_bench_bidding"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
MANUFACTURERS = 40
ITEMS = 20
CLIENT_LEVELS = tuple(int(n) for n in os.environ.get("JICAI_BENCH_CLIENTS", "8,50").split(","))
# The 2-core production profile (README, "In production"); JICAI_BENCH_GUNICORN tries another.
GUNICORN_PROFILE = tuple(
    os.environ.get("JICAI_BENCH_GUNICORN", "--workers 3 --threads 2 --timeout 60").split()
)
THROUGHPUT_GOAL = 0.5  # bids/s at least half the trivial page's requests/s
P95_GOAL = 2.0  # bid p95 at most twice the trivial page's p95
PHASE_TIME_LIMIT = 40.0
ROUND_CODE = "BENCH-BID-1"
OPENER_PASSPHRASE = "bench opener %s phrase"  # noqa: S105 - benchmark data only


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL"}}
    env.update(
        {
            "DATABASE_URL": DATABASE_URL,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "off",
            # Plain HTTP to a local gunicorn: no redirect to HTTPS (production default).
            "DJANGO_SECURE_SSL_REDIRECT": "off",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "JICAI_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _create_database() -> None:
    import psycopg

    with psycopg.connect(
        "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')


def _setup_data() -> dict[str, object]:
    """Runs inside a subprocess with Django configured for the bench database."""
    import datetime
    from decimal import Decimal

    import django

    django.setup()
    from django.utils import timezone

    from accounts.demo import demo_code
    from accounts.models import ApiToken, Organization, Region, User
    from accounts.services import regions_ensure
    from catalog.models import FormGroup, ProductKind
    from catalog.services import item_upsert, product_register, specification_upsert
    from procurement.models import Round, RuleSet
    from procurement.services import (
        round_close_demand,
        round_create,
        round_item_set_prices,
        round_open_bidding,
        round_open_demand,
        rule_set_load_presets,
    )

    regions_ensure()
    region = Region.objects.get(code="11")
    rule_set_load_presets()
    office = Organization.objects.create(
        kind="office",
        name="基准办公室",
        social_credit_code=demo_code("11", "11", 900001),
        region=region,
    )
    specs = []
    items = []
    for i in range(ITEMS):
        item, _ = item_upsert(
            code=f"B-{i:02d}",
            kind=ProductKind.DRUG,
            name=f"基准药品{i}",
            generic_name=f"基准{i}",
            form_group=FormGroup.ORAL_SOLID,
            unit_of_count="片",
        )
        spec, _ = specification_upsert(
            item=item,
            code="10MG",
            label="10mg",
            strength_value=Decimal(10),
            pack_count=7,
            is_representative=True,
        )
        items.append(item)
        specs.append(spec)
    now = timezone.now()
    round_ = round_create(
        office=office,
        code=ROUND_CODE,
        name="基准轮次",
        kind=Round.Kind.DRUGS,
        rule_set=RuleSet.objects.get(name="national-drug-batch-4", version=1),
        regions=[region],
        demand_opens_at=now - datetime.timedelta(days=1),
        demand_closes_at=now + datetime.timedelta(hours=1),
        bid_deadline=now + datetime.timedelta(days=21),  # the rule set's 20 days of bidding
        opening_at=now + datetime.timedelta(days=21, hours=1),
        objection_ends_at=now + datetime.timedelta(days=28),
        contract_starts_on=(now + datetime.timedelta(days=30)).date(),
        items=items,
    )
    for round_item, spec in zip(round_.items.order_by("item__code"), specs, strict=True):
        round_item_set_prices(round_item=round_item, ceilings={spec: Decimal("5.0000")})
    round_open_demand(round_=round_, by=None)
    round_close_demand(round_=round_, by=None)
    # The round's opening officials (2 of 3): their passphrases set, the round key exists.
    from bidding.services import custody_designate, official_enroll

    officials = [
        User.objects.create_user(username=f"bench-opener{i}", organization=office)
        for i in range(1, 4)
    ]
    custody_designate(round_=round_, officials=officials, threshold=2, by=officials[0])
    for i, official in enumerate(officials, 1):
        official_enroll(round_=round_, user=official, passphrase=OPENER_PASSPHRASE % i)
    # The bench's makers hold no qualification documents: the round does not require them
    # (the check itself, two reads per bid, still runs).
    from qualification.services import round_qualification_set

    round_qualification_set(round_=round_, required=False, by=officials[0])
    # Nor signatures: the bench measures the unsigned bid POST (a signature adds one read,
    # the key by its fingerprint, and one ECDSA verification; docs/signatures.md).
    Round.objects.filter(pk=round_.pk).update(signatures_required=False)
    round_open_bidding(round_=round_, by=None)
    makers = []
    for m in range(MANUFACTURERS):
        organization = Organization.objects.create(
            kind="manufacturer",
            name=f"基准制药{m}",
            social_credit_code=demo_code("91", "11", 910000 + m),
            region=region,
        )
        user = User.objects.create_user(username=f"bench{m}", organization=organization)
        products = []
        for i, spec in enumerate(specs):
            product, _ = product_register(
                manufacturer=organization,
                specification=spec,
                name=f"基准{m}-{i}",
                approval_number=f"国药准字H2098{m:02d}{i:02d}",
                is_consistency_evaluated=True,
            )
            products.append(product.pk)
        makers.append(
            {"token": ApiToken.objects.create(user=user, name="bench")[1], "products": products}
        )
    return {"makers": makers, "items": [i.code for i in items]}


def _open_round() -> dict[str, object]:
    """Runs inside a subprocess: move the timetable past the opening and open the bids."""
    import datetime

    import django

    django.setup()
    from django.db.models import F
    from django.utils import timezone

    from accounts.models import User
    from bidding.models import BidVersion
    from bidding.services import ceremony_present
    from procurement.models import Round

    now = timezone.now()
    deadline = now - datetime.timedelta(minutes=2)
    Round.objects.filter(code=ROUND_CODE).update(
        demand_opens_at=deadline - datetime.timedelta(days=3),
        demand_closes_at=deadline - datetime.timedelta(days=1),
        bid_deadline=deadline,
        opening_at=now - datetime.timedelta(minutes=1),
    )
    round_ = Round.objects.get(code=ROUND_CODE)
    started = time.perf_counter()
    read = list(
        BidVersion.objects.filter(bid__round=round_, number=F("bid__current_version"))
        .select_related("product", "bid__round_item__item", "bid__specification")
        .values_list("ciphertext", flat=True)
    )
    read_seconds = time.perf_counter() - started
    first = User.objects.get(username="bench-opener1")
    second = User.objects.get(username="bench-opener2")
    ceremony_present(round_=round_, user=first, passphrase=OPENER_PASSPHRASE % 1)
    # The second presentation: its scrypt, rebuilding the key, decrypting, judging.
    started = time.perf_counter()
    opening = ceremony_present(round_=round_, user=second, passphrase=OPENER_PASSPHRASE % 2).opening
    seconds = time.perf_counter() - started
    assert opening is not None
    return {
        "seconds": seconds,
        "read_seconds": read_seconds,
        "bids": opening.bid_count,
        "valid": opening.valid_count,
        "tampered": opening.tampered_count,
        "read": len(read),
    }


class _Client:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        token: str,
        body: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, float, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        start = time.perf_counter()
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, time.perf_counter() - start, data
        finally:
            connection.close()


def _phase(
    port: int, jobs: list[tuple[str, str, str, dict[str, object] | None]], clients: int
) -> dict:
    """Run ``jobs`` with ``clients`` concurrent clients; bounded by count and time."""
    client = _Client(port)
    latencies: list[float] = []
    failures: list[tuple[int, bytes]] = []
    lock = threading.Lock()
    queue = list(reversed(jobs))
    deadline = time.monotonic() + PHASE_TIME_LIMIT

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                method, path, token, body = queue.pop()
            headers = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}
            status, elapsed, data = client.request(method, path, token, body, headers)
            with lock:
                if status in (200, 201):
                    latencies.append(elapsed)
                else:
                    failures.append((status, data[:200]))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return _summary(latencies, wall) | {
        "failed": len(failures),
        "first_failure": failures[0] if failures else None,
    }


def _summary(latencies: list[float], wall: float) -> dict:
    latencies = sorted(latencies)
    return {
        "latencies": latencies,
        "wall": wall,
        "ok": len(latencies),
        "per_second": len(latencies) / wall if wall else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000 if latencies else float("nan"),
    }


def _wait_for(port: int, process: subprocess.Popen[bytes], token: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            status, _, _ = _Client(port).request("GET", "/api/v1/me/", token)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within 60 s")


def _level(
    port: int, makers: list[dict], items: list[str], level_items: list[int], clients: int
) -> tuple[dict, dict, dict]:
    """One concurrency level: the trivial page, new bids on ``level_items``, their
    revisions, the trivial page again (the baseline is both halves together, so machine
    load that shifted during the level weighs on it as on the bids)."""
    pairs = [(m, i) for i in level_items for m in range(len(makers))]
    me = [("GET", "/api/v1/me/", makers[m]["token"], None) for m, _ in pairs]
    trivial = _phase(port, me, clients)
    submit = _phase(
        port,
        [
            (
                "POST",
                "/api/v1/bids/",
                makers[m]["token"],
                {
                    "round": ROUND_CODE,
                    "item": items[i],
                    "specification": "10MG",
                    "product": makers[m]["products"][i],
                    "unit_price": f"{1 + m / 100:.4f}",
                    "annual_capacity": 1000 + m,
                },
            )
            for m, i in pairs
        ],
        clients,
    )
    # Revisions: the bid ids come from the listing of each manufacturer.
    revise_jobs = []
    wanted = {items[i] for i in level_items}
    for m, maker in enumerate(makers):
        _, _, body = _Client(port).request("GET", "/api/v1/bids/", maker["token"])
        for bid in json.loads(body)["results"]:
            if bid["item"] not in wanted:
                continue
            i = items.index(bid["item"])
            revise_jobs.append(
                (
                    "POST",
                    f"/api/v1/bids/{bid['id']}/revise/",
                    maker["token"],
                    {
                        "product": maker["products"][i],
                        "unit_price": f"{2 + m / 100:.4f}",
                        "annual_capacity": 2000 + m,
                    },
                )
            )
    revise = _phase(port, revise_jobs, clients)
    trivial_after = _phase(port, me, clients)
    trivial = _summary(
        trivial["latencies"] + trivial_after["latencies"],
        trivial["wall"] + trivial_after["wall"],
    )
    return trivial, submit, revise


def run() -> list[Row]:
    env = _environment()
    _create_database()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    setup = subprocess.run(
        [sys.executable, "-m", "bench.bench_bidding", "--setup"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(setup.stdout.strip().splitlines()[-1])
    makers = data["makers"]
    items = data["items"]
    port = _free_port()
    log = (ROOT / "test-artifacts").resolve()
    log.mkdir(exist_ok=True)
    with (log / "bench-bidding-gunicorn.log").open("wb") as log_file:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                *GUNICORN_PROFILE,
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(port, server, makers[0]["token"])
            levels = []
            half = len(items) // len(CLIENT_LEVELS)
            for n, clients in enumerate(CLIENT_LEVELS):
                level_items = list(range(n * half, (n + 1) * half))
                levels.append((clients, _level(port, makers, items, level_items, clients)))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    opened = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bench.bench_bidding", "--open"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    profile = " ".join(GUNICORN_PROFILE[:4])
    rows = []
    for clients, (trivial, submit, revise) in levels:
        note = (
            f"gunicorn {profile}, {clients} concurrent clients, PostgreSQL, one round "
            f"({len(items)} items, {len(makers)} manufacturers); {load()} at the end"
        )
        for label, phase in (("submit (new bid)", submit), ("revise (new version)", revise)):
            failed = (
                f"; {phase['failed']} failed: {phase['first_failure']}" if phase["failed"] else ""
            )
            share = phase["per_second"] / trivial["per_second"] if trivial["per_second"] else 0
            verdict = "met" if share >= THROUGHPUT_GOAL else "NOT met"
            p95_ratio = phase["p95_ms"] / trivial["p95_ms"] if trivial["p95_ms"] else 0
            rows.append(
                Row(
                    benchmark=f"sealed bids over HTTP, {clients} clients",
                    figure=f"{label}: bids/s",
                    value=phase["per_second"],
                    unit="bids/s",
                    baseline="GET /api/v1/me/ (token auth)",
                    baseline_value=trivial["per_second"],
                    baseline_unit="req/s",
                    note=(
                        f"{share:.0%} of the trivial page's throughput (goal >= "
                        f"{THROUGHPUT_GOAL:.0%}: {verdict})"
                        f"; {phase['ok']} bids; {note}{failed}"
                    ),
                )
            )
            for q in ("p50", "p95"):
                rows.append(
                    Row(
                        benchmark=f"sealed bids over HTTP, {clients} clients",
                        figure=f"{label}: {q} latency",
                        value=phase[f"{q}_ms"],
                        unit="ms",
                        baseline=f"GET /api/v1/me/ {q}",
                        baseline_value=trivial[f"{q}_ms"],
                        baseline_unit="ms",
                        note=(
                            f"{p95_ratio:.1f}x the trivial p95 (goal <= {P95_GOAL:g}x: "
                            f"{'met' if p95_ratio <= P95_GOAL else 'NOT met'})"
                            if q == "p95"
                            else ""
                        ),
                    )
                )
    rows.append(
        Row(
            benchmark="sealed bids: the opening",
            figure=f"open {opened['bids']} bids (decrypt, verify receipts, judge, record)",
            value=float(opened["seconds"]),
            unit="s",
            baseline="read the same sealed versions",
            baseline_value=float(opened["read_seconds"]),
            baseline_unit="s",
            note=f"{opened['valid']} valid, {opened['tampered']} tampered; one transaction",
        )
    )
    return rows


if __name__ == "__main__":
    if sys.argv[1:] == ["--setup"]:
        print(json.dumps(_setup_data()))
    elif sys.argv[1:] == ["--open"]:
        print(json.dumps(_open_round()))
    else:
        for row in run():
            print(row)

"""Pages: every page and API list of the three roles on a round carried through to
execution, timed on PostgreSQL (issue 19).

A child process (re)creates ``postgres://postgres@127.0.0.1:5432/jicai_bench_pages``
(override with ``JICAI_BENCH_PAGES_DB``), loads the demo and builds one round with
``bench.world.build_round``: the demo's 30 hospitals plus ``JICAI_BENCH_PAGES_HOSPITALS``
more (default 120, so a run stays within a few minutes on a shared 2-core machine; a
national round is 46,000 and takes hours to build through the services) and
``JICAI_BENCH_PAGES_MAKERS`` more bids (default 4). With ``JICAI_BENCH_PAGES_REUSE=1`` a
database that already holds the round of that size is used as it is (build once, time
many times).

Each page (``bench.world.pages``) is requested through Django's test client as its user,
once to warm and ``JICAI_BENCH_PAGES_REPEAT`` times (default 5) timed: p50 and max
seconds, the number of queries, and the peak Python memory of one request
(``tracemalloc``, measured on a separate request so it does not slow the timed ones).
The baseline, measured in the same run the same way, is the trivial page: the sign-in
page, which reads nothing from the round.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.common import Row, load

DATABASE_URL = os.environ.get(
    "JICAI_BENCH_PAGES_DB", "postgres://postgres@127.0.0.1:5432/jicai_bench_pages"
)
HOSPITALS = int(os.environ.get("JICAI_BENCH_PAGES_HOSPITALS", "120"))
MAKERS = int(os.environ.get("JICAI_BENCH_PAGES_MAKERS", "4"))
REPEAT = int(os.environ.get("JICAI_BENCH_PAGES_REPEAT", "5"))
REUSE = os.environ.get("JICAI_BENCH_PAGES_REUSE") == "1"
ROOT = Path(__file__).resolve().parent.parent
TRIVIAL = ("sign-in page (trivial)", None, "/login/")


def run() -> list[Row]:
    env = dict(os.environ)
    env["DATABASE_URL"] = DATABASE_URL
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    done = subprocess.run(  # our own module, fixed arguments
        [sys.executable, "-m", "bench.bench_pages", "--child"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=7200,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pages benchmark failed:\n{done.stderr[-4000:]}")
    f: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    base = f["baseline"]
    title = f"pages ({f['hospitals']:,} hospitals, {f['contracts']:,} contracts, PostgreSQL)"
    rows = []
    for p in f["pages"]:
        rows.append(
            Row(
                benchmark=title,
                figure=f"{p['page']} [{p['role']}] p50",
                value=p["p50"],
                unit="s",
                baseline=f"{TRIVIAL[0]} p50",
                baseline_value=base["p50"],
                baseline_unit="s",
                note=f"max {p['max']:.3f} s, {p['queries']} queries, "
                f"peak {p['peak_mb']:.1f} MB; {f['load']}",
            )
        )
    print(_table(f), file=sys.stderr)
    return rows


def _table(f: dict[str, Any]) -> str:
    """The page table: page, role, p50, max, queries, peak memory (baseline first)."""
    header = ("page", "role", "p50 (s)", "max (s)", "queries", "peak (MB)")
    lines = [header]
    for p in [f["baseline"], *f["pages"]]:
        lines.append(
            (
                p["page"],
                p["role"],
                f"{p['p50']:.3f}",
                f"{p['max']:.3f}",
                str(p["queries"]),
                f"{p['peak_mb']:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


# --- the child process ------------------------------------------------------------------


def _recreate_database() -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _measure(client: Any, url: str) -> dict[str, Any]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    def get() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)

    get()  # warm
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        get()
        times.append(time.perf_counter() - started)
    reset_queries()  # DEBUG keeps a log of every earlier request's queries
    with CaptureQueriesContext(connection) as queries:
        get()
    tracemalloc.start()
    get()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "p50": statistics.median(times),
        "max": max(times),
        "queries": len(queries),
        "peak_mb": peak / 2**20,
    }


def _child() -> None:
    import psycopg

    code = f"BENCH-PAGES-{HOSPITALS}-{MAKERS}"
    reuse = False
    if REUSE:
        try:
            with psycopg.connect(DATABASE_URL) as conn:
                reuse = bool(
                    conn.execute(
                        "SELECT 1 FROM procurement_round WHERE code = %s AND status = %s",
                        (code, "in_execution"),
                    ).fetchone()
                )
        except psycopg.Error:
            reuse = False
    if not reuse:
        _recreate_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User
    from bench.world import build_round, pages
    from contracts.models import Contract
    from procurement.models import Round

    call_command("migrate", verbosity=0)  # a reused database gets new migrations too
    if not reuse:
        call_command("seed_demo", verbosity=0)
        build_round(code, hospitals=HOSPITALS, makers=MAKERS)
    round_ = Round.objects.get(code=code)
    clients: dict[str | None, Any] = {}

    def client_for(username: str | None) -> Any:
        if username not in clients:
            client = Client()
            if username is not None:
                client.force_login(User.objects.get(username=username))
            clients[username] = client
        return clients[username]

    baseline = {"page": TRIVIAL[0], "role": "anonymous", **_measure(client_for(None), TRIVIAL[2])}
    rows = []
    for name, username, url in pages(round_):
        figures = _measure(client_for(username), url)
        rows.append({"page": name, "role": username or "anonymous", **figures})
    print(
        json.dumps(
            {
                "hospitals": 30 + HOSPITALS,
                "contracts": Contract.objects.filter(round=round_).count(),
                "baseline": baseline,
                "pages": rows,
                "load": load(),
            }
        )
    )


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child()
    else:
        for row in run():
            print(row)

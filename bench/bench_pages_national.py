"""Pages at national scale under gunicorn (issue 19): every page and API list of the three
roles, timed over HTTP against ``gunicorn config.wsgi`` with 2 sync workers and production
settings (``DJANGO_DEBUG`` off, ``bench.settings_pages``), on a round carried through
demand, sealed bids, opening, evaluation, finalize, province selection, contracts,
execution and a month of purchases.

The round is built once and reused: its database is named after its size
(``jicai_bench_national_<hospitals>_<makers>_<items>items``, or
``JICAI_BENCH_NATIONAL_DB``) and holds the round ``NATIONAL-<hospitals>-<makers>-<items>``
in execution when complete; a later run finds it and only times. It is built through
the project's services (``bench.world.build_round``: demand through ``demand_declare``,
whose rows go in by COPY, bids sealed and opened at the ceremony, the official
evaluation, ...), in a child process under ``nice``. Sizes:
``JICAI_BENCH_NATIONAL_HOSPITALS`` extra hospitals (default 5,000; the national round of
the issue is 46,000), ``JICAI_BENCH_NATIONAL_MAKERS`` extra bids (default 40) and
``JICAI_BENCH_NATIONAL_ITEMS`` items (default 60 from 20,000 hospitals, else the demo's 4:
46,000 hospitals and 60 items, each hospital declaring 20 of them, make the issue's
~920,000 demand lines; each extra item is bid by three makers of its own). The time
the build took is stored beside the round (``bench_build`` table) and printed.

Before timing, the open-data files and maintained summaries are built as their tasks do
after finalize, selection and contracts (no request builds one). Each page is requested
once to warm and ``JICAI_BENCH_NATIONAL_REPEAT`` times (default 5; 1 for a page whose warm
request took over 10 s): p50 and max seconds measured by the client to the last byte, and
from the worker (``bench.measure``): the queries of one request and the worker's peak
resident memory over the request (absolute, and its growth over the request's start).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import Row, load

HOSPITALS = int(os.environ.get("JICAI_BENCH_NATIONAL_HOSPITALS", "5000"))
MAKERS = int(os.environ.get("JICAI_BENCH_NATIONAL_MAKERS", "40"))
# The round has 60 items (~920,000 demand lines at 46,000 hospitals); small sizes
# keep the demo's four unless told.
ITEMS = int(os.environ.get("JICAI_BENCH_NATIONAL_ITEMS", "60" if HOSPITALS >= 20_000 else "4"))
REPEAT = int(os.environ.get("JICAI_BENCH_NATIONAL_REPEAT", "5"))
SLOW_WARM = 10.0
DATABASE_URL = os.environ.get(
    "JICAI_BENCH_NATIONAL_DB",
    f"postgres://postgres@127.0.0.1:5432/jicai_bench_national_{HOSPITALS}_{MAKERS}_{ITEMS}items",
)
CODE = f"NATIONAL-{HOSPITALS}-{MAKERS}-{ITEMS}"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
TRIVIAL = ("sign-in page (trivial)", None, "/login/")
# Not a secret: the bench's own data set, sealed with a fixed key so a reused database opens.
MASTER_KEY = base64.b64encode(b"bench-national-pages-master-key!").decode()


def _env(*, production: bool) -> dict[str, str]:
    """The children's environment: the build runs with the development settings (the demo
    seals and opens bids with the demo key); the server and its preparation with
    production ones."""
    env = dict(os.environ)
    # One master key for the build and the server (production refuses the demo's key, and
    # the server refuses a key other than the one that wrapped the stored round keys).
    env.update(
        {
            "DATABASE_URL": DATABASE_URL,
            "PYTHONPATH": str(ROOT),
            "JICAI_MASTER_KEY": MASTER_KEY,
        }
    )
    if not production:
        env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "1"})
        env.pop("CELERY_BROKER_URL", None)  # tasks in-process while building
        return env
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings_pages",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(48),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_HSTS_SECONDS": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_MEDIA_ROOT": str(OUT / "national-media"),
            "JICAI_BENCH_STATIC_ROOT": str(OUT / "static"),
        }
    )
    return env


def _child(step: str, env: dict[str, str], *, niced: bool = False) -> str:
    command = [sys.executable, "-m", "bench.bench_pages_national", step]
    if niced:
        command = ["nice", "-n", "10", *command]
    done = subprocess.run(  # our own module, fixed arguments
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=6 * 3600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"national pages benchmark, step {step} failed:\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, cookie: str | None, tag: str) -> tuple[int, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    headers = {"X-Bench-Id": tag, "Host": "127.0.0.1"}
    if cookie:
        headers["Cookie"] = cookie
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    size = 0
    while chunk := response.read(1 << 16):
        size += len(chunk)
    connection.close()
    return response.status, size


def _record(log: Path, tag: str) -> dict[str, Any]:
    """The worker's line for request ``tag`` (written when the response closed)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if log.exists():
            for line in log.read_text().splitlines():
                record = json.loads(line)
                if record["id"] == tag:
                    return record
        time.sleep(0.02)
    raise RuntimeError(f"no measurement for request {tag}")


def _measure(port: int, log: Path, path: str, cookie: str | None) -> dict[str, Any]:
    def one() -> tuple[float, dict[str, Any]]:
        tag = uuid.uuid4().hex
        started = time.perf_counter()
        status, _size = _get(port, path, cookie, tag)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}")
        return elapsed, _record(log, tag)

    warm, first = one()
    runs = [one() for _ in range(1 if warm > SLOW_WARM else REPEAT)]
    times = [t for t, _ in runs]
    records = [first, *(r for _, r in runs)]
    return {
        "p50": statistics.median(times),
        "max": max(times),
        "queries": runs[-1][1]["queries"],
        "peak_mb": max(r["peak_kb"] for r in records) / 1024,
        "growth_mb": max(r["peak_kb"] - r["start_kb"] for r in records) / 1024,
    }


def _table(f: dict[str, Any]) -> str:
    header = ("page", "role", "p50 (s)", "max (s)", "queries", "peak RSS (MB)", "growth (MB)")
    lines = [header]
    for p in [f["baseline"], *f["pages"]]:
        lines.append(
            (
                p["page"],
                p["role"],
                f"{p['p50']:.3f}",
                f"{p['max']:.3f}",
                str(p["queries"]),
                f"{p['peak_mb']:.0f}",
                f"{p['growth_mb']:.0f}",
            )
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


def run() -> list[Row]:
    OUT.mkdir(parents=True, exist_ok=True)
    built = json.loads(_child("--build", _env(production=False), niced=True))
    env = _env(production=True)
    prepared = json.loads(_child("--prepare", env))
    # Requests queue tasks (a stale file's rebuild) on a broker no worker reads: no
    # request ever runs one in-process.
    env["CELERY_BROKER_URL"] = os.environ.get("JICAI_BENCH_BROKER_URL", "redis://127.0.0.1:6379/5")
    log = Path(tempfile.mkstemp(prefix="jicai-bench-measure-", suffix=".jsonl")[1])
    port = _free_port()
    server_log = (OUT / "national-gunicorn.log").open("w")
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    server = subprocess.Popen(
        [
            gunicorn,
            "config.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "900",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**env, "JICAI_BENCH_MEASURE_LOG": str(log)},
        stdout=subprocess.DEVNULL,
        stderr=server_log,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        baseline = {
            "page": TRIVIAL[0],
            "role": "anonymous",
            **_measure(port, log, TRIVIAL[2], None),
        }
        pages = []
        for name, username, url in prepared["pages"]:
            print(f"  {name} [{username or 'anonymous'}] ...", file=sys.stderr, flush=True)
            cookie = prepared["sessions"].get(username) if username else None
            pages.append(
                {"page": name, "role": username or "anonymous", **_measure(port, log, url, cookie)}
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()
        log.unlink(missing_ok=True)
    figures = {"baseline": baseline, "pages": pages}
    title = (
        f"national pages ({built['items']} items, {built['hospitals']:,} hospitals, "
        f"{built['demand_lines']:,} demand "
        f"lines, {built['allocations']:,} allocations, {built['contracts']:,} contracts; "
        f"gunicorn 2 workers, PostgreSQL)"
    )
    print(title, file=sys.stderr)
    print(
        f"built in {built['build_seconds']:,.0f} s ({built['built_at']}, {built['build_load']})",
        file=sys.stderr,
    )
    print(_table(figures), file=sys.stderr)
    print(load(), file=sys.stderr)
    note_load = load()
    return [
        Row(
            benchmark=title,
            figure=f"{p['page']} [{p['role']}] p50",
            value=p["p50"],
            unit="s",
            baseline=f"{TRIVIAL[0]} p50",
            baseline_value=baseline["p50"],
            baseline_unit="s",
            note=f"max {p['max']:.3f} s, {p['queries']} queries, peak worker RSS "
            f"{p['peak_mb']:.0f} MB (+{p['growth_mb']:.0f}); {note_load}",
        )
        for p in pages
    ]


# --- child steps ------------------------------------------------------------------------


def _database_ready() -> bool:
    """True when the database holds the complete round (built and recorded)."""
    import psycopg

    try:
        with psycopg.connect(DATABASE_URL) as conn:
            return bool(
                conn.execute(
                    "SELECT 1 FROM bench_build WHERE code = %s AND finished", (CODE,)
                ).fetchone()
            )
    except psycopg.Error:
        return False


def _recreate_database() -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _build() -> None:
    """Build the round once (or find it built); print its sizes and build time."""
    import psycopg

    if not _database_ready():
        _recreate_database()
        import django

        django.setup()
        from django.core.management import call_command

        from bench.world import build_round

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("seed_demo", verbosity=0)
        build_round(CODE, hospitals=HOSPITALS, makers=MAKERS, bulk=True, items=ITEMS)
        seconds = time.perf_counter() - started
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE bench_build (code text primary key, finished boolean, "
                "seconds double precision, built_at timestamptz, load text)"
            )
            conn.execute(
                "INSERT INTO bench_build VALUES (%s, true, %s, now(), %s)", (CODE, seconds, load())
            )
            conn.execute("VACUUM ANALYZE")
    with psycopg.connect(DATABASE_URL) as conn:
        row = conn.execute(
            "SELECT seconds, built_at, load FROM bench_build WHERE code = %s", (CODE,)
        ).fetchone()
        assert row is not None
        (round_id,) = conn.execute(  # type: ignore[misc]
            "SELECT id FROM procurement_round WHERE code = %s", (CODE,)
        ).fetchone()

        def count(sql: str) -> int:
            return int(conn.execute(sql, (round_id,)).fetchone()[0])  # type: ignore[index]

        figures = {
            "items": count("SELECT count(*) FROM procurement_rounditem WHERE round_id = %s"),
            "hospitals": count(
                "SELECT count(DISTINCT d.hospital_id) FROM procurement_demanddeclaration d "
                "JOIN procurement_rounditem i ON i.id = d.round_item_id WHERE i.round_id = %s"
            ),
            "demand_lines": count(
                "SELECT count(*) FROM procurement_demanddeclaration d "
                "JOIN procurement_rounditem i ON i.id = d.round_item_id WHERE i.round_id = %s"
            ),
            "allocations": count(
                "SELECT count(*) FROM awards_hospitalallocation a "
                "JOIN awards_evaluationrun r ON r.id = a.run_id WHERE r.round_id = %s"
            ),
            "contracts": count("SELECT count(*) FROM contracts_contract WHERE round_id = %s"),
            "build_seconds": row[0],
            "built_at": row[1].isoformat(timespec="minutes"),
            "build_load": row[2],
        }
    print(json.dumps(figures))


def _prepare() -> None:
    """Static files, the stored files and summaries the tasks build after the award, and
    one session per user; print the pages and the session cookies."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User
    from bench.world import pages, prepare_round
    from procurement.models import Round

    call_command("migrate", verbosity=0)  # a reused database gets new migrations too
    call_command("collectstatic", interactive=False, verbosity=0)
    round_ = Round.objects.get(code=CODE)
    prepare_round(round_)
    listed = pages(round_)
    sessions: dict[str, str] = {}
    for username in sorted({u for _, u, _ in listed if u}):
        # A session through the configured engine (the project's stores a digest of the key).
        client = Client()
        client.force_login(User.objects.get(username=username))
        sessions[username] = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
    print(json.dumps({"pages": listed, "sessions": sessions}))


if __name__ == "__main__":
    if "--build" in sys.argv:
        _build()
    elif "--prepare" in sys.argv:
        _prepare()
    else:
        for figure in run():
            print(figure)

"""Suite-wide test configuration.

Two kinds of test need more than the default SQLite database:

* ``integration``: PostgreSQL (``DATABASE_URL``), Redis (``CELERY_BROKER_URL``) and a real
  Celery worker process started by the ``celery_worker`` fixture. Without those settings
  they are deselected (and the run says so). In CI (``CI`` set) or with
  ``JICAI_REQUIRE_INTEGRATION=1`` a missing service is a failure, never a skip.
* ``reference_data``: reads the published data in ``../shared/data``; deselected when that
  folder is absent (a fresh clone without it), required in CI.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def _postgresql_configured() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql"))


def _integration_configured() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql")) and bool(
        os.environ.get("CELERY_BROKER_URL")
    )


def _integration_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("JICAI_REQUIRE_INTEGRATION") == "1"


def pytest_configure(config: pytest.Config) -> None:
    # Tests of other areas seal bids for factory-made manufacturers without documents, so
    # the suite runs with qualification off for rounds without their own rule (as if
    # JICAI_QUALIFICATION_REQUIRED=0); tests/qualification switch it on round by round,
    # and the demo data (seed_demo) carries approved documents either way.
    from django.conf import settings

    settings.JICAI_QUALIFICATION_REQUIRED = False
    os.environ.setdefault("JICAI_QUALIFICATION_REQUIRED", "0")  # real worker processes too
    # Likewise signatures (docs/signatures.md): off for rounds without their own setting;
    # tests/signing switch them on round by round.
    settings.JICAI_SIGNATURES_REQUIRED = False
    os.environ.setdefault("JICAI_SIGNATURES_REQUIRED", "0")
    config.addinivalue_line("markers", "reference_data: reads the published data in ../shared/data")
    config.addinivalue_line(
        "markers", "postgresql: needs PostgreSQL (row locks, triggers, query plans)"
    )
    if _integration_required() and not _integration_configured():
        raise pytest.UsageError(
            "Integration tests are required here (CI or JICAI_REQUIRE_INTEGRATION=1) but "
            "DATABASE_URL does not point at PostgreSQL or CELERY_BROKER_URL is unset. "
            "Run them through .ci/run, which sets both."
        )
    if _integration_required() and not SHARED_DATA.is_dir():
        raise pytest.UsageError(f"Reference data are required in CI but {SHARED_DATA} is missing.")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    deselected: list[pytest.Item] = []
    kept: list[pytest.Item] = []
    reasons: set[str] = set()
    for item in items:
        if item.get_closest_marker("integration") and not _integration_configured():
            deselected.append(item)
            reasons.add("integration (set DATABASE_URL and CELERY_BROKER_URL, or run .ci/run)")
        elif item.get_closest_marker("postgresql") and not _postgresql_configured():
            deselected.append(item)
            reasons.add("postgresql (set DATABASE_URL to PostgreSQL, or run .ci/run)")
        elif item.get_closest_marker("reference_data") and not SHARED_DATA.is_dir():
            deselected.append(item)
            reasons.add(f"reference_data ({SHARED_DATA} not found)")
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"deselected {len(deselected)} tests needing: {'; '.join(sorted(reasons))}"
            )


@pytest.fixture(autouse=True)
def _rounds_get_opening_officials(settings: Any) -> Iterator[None]:
    """Every round that opens for bidding gets three test officials (2 of 3) and so a real
    k-of-n opening key (tests/ceremony.py); scrypt is cheaper than in production."""
    from procurement.signals import round_published
    from tests.ceremony import on_round_published

    settings.JICAI_SCRYPT_LOG2_N = 10
    round_published.connect(on_round_published, dispatch_uid="tests-opening-officials")
    yield
    round_published.disconnect(dispatch_uid="tests-opening-officials")


@pytest.fixture(autouse=True)
def _tasks_run_in_process_unless_integration(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run tasks eagerly; integration tests send them to the real worker."""
    from config.celery import app

    eager = request.node.get_closest_marker("integration") is None
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _regions_survive_flushes(request: pytest.FixtureRequest) -> None:
    """Transactional tests flush every table, including the regions a data migration loaded
    (a test using ``live_server`` is transactional without saying so in a marker)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction")
    if transactional or "live_server" in request.fixturenames:
        request.getfixturevalue("transactional_db")
        from accounts.services import regions_ensure

        regions_ensure()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Every test starts in the default language (Chinese); none inherits another's choice."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Database rows roll back between tests but the cache does not: a key naming contract 1
    must not survive into the next test's contract 1."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: object) -> None:
    # PBKDF2 costs ~0.3 s a hash; tests create many users. Production keeps the default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


def _database_url_for(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None, django_db_blocker: object
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery worker`` process on the test database and a private queue.

    The worker reads the same test database the tests write (tests using it must use
    ``transactional_db`` so their rows are committed), and listens on a queue named for
    this run so no other worker on the machine can take its tasks.
    """
    from django.db import connection

    from config.celery import app

    queue = f"jicai-test-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url_for(connection.settings_dict["NAME"])
    env["CELERY_TASK_DEFAULT_QUEUE"] = queue
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # One log per pytest-xdist process (`make test` runs two), named after it.
    xdist = os.environ.get("PYTEST_XDIST_WORKER", "main")
    log_path = ROOT / "test-artifacts" / f"celery-worker-{xdist}.log"
    log_path.parent.mkdir(exist_ok=True)
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    app.conf.task_default_queue = queue
    try:
        from config.tasks import worker_ping

        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"celery worker exited early; see {log_path}")
            try:
                worker_ping.apply_async(args=["ready"], queue=queue).get(timeout=10)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
        process.queue = queue  # type: ignore[attr-defined]  # for _worker_idle_after_test
        _SESSION_WORKER_QUEUES.append(queue)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _worker_idle(queue: str, *, timeout: float = 180) -> None:
    """Wait until the worker on ``queue`` has nothing queued, reserved or running: work a
    test set off in the background (the evaluation's relaxations, PDFs) must not still be
    writing when the test database is flushed (TRUNCATE against its inserts deadlocks)."""
    import redis

    from config.celery import app

    client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    node = f"{queue}@{socket.gethostname()}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inspect = app.control.inspect(destination=[node], timeout=1.0)
        active, reserved = inspect.active(), inspect.reserved()
        if active is not None and reserved is not None and client.llen(queue) == 0:
            busy = sum(map(len, active.values())) + sum(map(len, reserved.values()))
            if busy == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"the worker on {queue} was still busy after {timeout:.0f} s")


# The queue of this process's session worker, once ``celery_worker`` has started it.
_SESSION_WORKER_QUEUES: list[str] = []


@pytest.fixture(autouse=True)
def _worker_idle_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test with the real worker ends when the worker is idle, before its rows are
    flushed (requested after ``transactional_db``, so torn down before it). That includes
    a transactional integration test that does not ask for the worker itself: once the
    session's worker runs, what the test queues (a summary refresh) goes to it."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    uses_worker = "celery_worker" in request.fixturenames
    if not uses_worker and not (
        _SESSION_WORKER_QUEUES and transactional and request.node.get_closest_marker("integration")
    ):
        yield
        return
    request.getfixturevalue("transactional_db")
    if uses_worker:
        request.getfixturevalue("celery_worker")
    yield
    _worker_idle(_SESSION_WORKER_QUEUES[-1])


class KillableWorker:
    """A real worker process (own queue, low visibility timeout) that a test may kill
    with SIGKILL, the whole process group, and start again (``killable_worker``)."""

    def __init__(self, database_url: str, delay: float, solve_delay: float) -> None:
        self.queue = f"jicai-kill-{uuid.uuid4().hex[:12]}"
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=database_url,
            CELERY_TASK_DEFAULT_QUEUE=self.queue,
            DJANGO_SETTINGS_MODULE="config.settings",
            # A killed worker's unacked messages go back to the queue after 10 s (the
            # production value is the hard time limit plus two minutes; as there, it is
            # longer than any task of the test), looked for every second.
            CELERY_VISIBILITY_TIMEOUT="10",
            CELERY_UNACKED_RESTORE_INTERVAL="1",
            JICAI_TEST_TASK_DELAY=str(delay),
            JICAI_TEST_SOLVE_DELAY=str(solve_delay),
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_path = ROOT / "test-artifacts" / f"{self.queue}.log"
        self.log_path.parent.mkdir(exist_ok=True)

    def start(self) -> None:
        from config.celery import app
        from config.tasks import worker_ping

        self.starts += 1
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.integration.slow_worker",
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                self.queue,
                "-n",
                f"{self.queue}-{self.starts}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches the pool too
        )
        log.close()
        app.conf.task_default_queue = self.queue
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early; see {self.log_path}")
            try:
                worker_ping.apply_async(args=["ready"], queue=self.queue).get(timeout=10)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise

    def kill(self) -> None:
        """SIGKILL to the worker and its pool processes: nothing is acknowledged."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def killable_worker(transactional_db: None) -> Iterator[Callable[..., KillableWorker]]:
    """Make a ``KillableWorker`` (``make(delay=seconds before each task, solve_delay=
    seconds before the evaluation's solver)``); every worker made is stopped at the end
    and the default queue restored."""
    from django.db import connection

    from config.celery import app

    made: list[KillableWorker] = []
    previous = app.conf.task_default_queue

    def make(*, delay: float = 0, solve_delay: float = 0) -> KillableWorker:
        worker = KillableWorker(
            _database_url_for(connection.settings_dict["NAME"]), delay, solve_delay
        )
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stop()
    app.conf.task_default_queue = previous


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, one per test process, shared by every browser test
    (``tests/chromium.py`` says why there must be only one)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (make test does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()

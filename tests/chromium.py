"""Debian's Chromium for the browser tests, one Playwright per test process.

Never downloads a browser: ``/usr/bin/chromium`` (Debian package ``chromium``, installed by
``make test``) is launched with the flags a closed network needs. The ``browser`` fixture
(tests/conftest.py) is session-scoped and shared by every browser test wherever it lives
(tests/browser/, tests/bidding/): Playwright's sync API keeps an event loop running in the
thread, and a second ``sync_playwright()`` in the same pytest-xdist worker fails ("using
Playwright Sync API inside the asyncio loop"), which made the result depend on which
worker a module landed on.
"""

from __future__ import annotations

import os

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Playwright's sync API runs an event loop in this thread; the tests' ORM calls are still
# synchronous and safe, so let Django allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

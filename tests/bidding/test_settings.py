"""The master key: a marked demo key for local use, a startup error in production."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _start(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"JICAI_MASTER_KEY", "DJANGO_DEBUG"}}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", **environment})
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.JICAI_MASTER_KEY == settings.JICAI_DEMO_MASTER_KEY)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_debug_uses_the_marked_demo_key() -> None:
    out = _start(DJANGO_DEBUG="on")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
    assert base64.b64decode("amljYWktREVNTy1tYXN0ZXIta2V5LU5PVC1TRUNSRVQ=") == (
        b"jicai-DEMO-master-key-NOT-SECRET"
    )


def test_production_refuses_to_start_without_a_master_key() -> None:
    out = _start(DJANGO_DEBUG="off", DJANGO_SECRET_KEY="x" * 50)
    assert out.returncode != 0
    assert (
        "JICAI_MASTER_KEY must be set when DJANGO_DEBUG is off: base64 of 32 random bytes "
        "(see docs/sealed-bidding.md)." in out.stderr
    )


def test_production_refuses_the_demo_key() -> None:
    out = _start(
        DJANGO_DEBUG="off",
        DJANGO_SECRET_KEY="x" * 50,
        JICAI_MASTER_KEY="amljYWktREVNTy1tYXN0ZXIta2V5LU5PVC1TRUNSRVQ=",
    )
    assert out.returncode != 0
    assert "JICAI_MASTER_KEY is the public demo key" in out.stderr


def test_production_starts_with_a_real_key() -> None:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    out = _start(DJANGO_DEBUG="off", DJANGO_SECRET_KEY="x" * 50, JICAI_MASTER_KEY=key)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"

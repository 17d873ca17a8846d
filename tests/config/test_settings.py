"""Settings come from the environment: SQLite and in-process tasks unless told otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "from config.celery import app; "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'name': str(settings.DATABASES['default']['NAME']), "
    "'prepare': settings.DATABASES['default'].get('OPTIONS', {})"
    ".get('prepare_threshold', 'unset'), "
    "'eager': app.conf.task_always_eager, 'broker': app.conf.broker_url, "
    "'tz': settings.TIME_ZONE, 'use_tz': settings.USE_TZ, "
    "'languages': [code for code, _ in settings.LANGUAGES]}))"
)


def _settings_with(**environment: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", **environment})
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_default_is_sqlite_and_in_process_tasks() -> None:
    probe = _settings_with()
    assert probe["engine"] == "django.db.backends.sqlite3"
    assert str(probe["name"]).endswith("db.sqlite3")
    assert probe["eager"] is True
    assert probe["tz"] == "Asia/Shanghai"
    assert probe["use_tz"] is True
    assert probe["languages"] == ["zh-hans", "en"]


def test_database_url_and_broker_switch_to_postgresql_and_redis() -> None:
    probe = _settings_with(
        DATABASE_URL="postgres://jicai@127.0.0.1:5432/jicai",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert probe["engine"] == "django.db.backends.postgresql"
    assert probe["name"] == "jicai"
    assert probe["eager"] is False
    assert probe["broker"] == "redis://127.0.0.1:6379/0"
    # Only the bid's statements (server-side binding) are prepared; Django's own never are.
    assert probe["prepare"] == 5


def test_prepared_statements_can_be_turned_off_for_a_pooler() -> None:
    probe = _settings_with(
        DATABASE_URL="postgres://jicai@127.0.0.1:5432/jicai", DJANGO_DB_PREPARED="off"
    )
    assert probe["prepare"] is None
    assert _settings_with()["prepare"] == "unset"  # SQLite: nothing to prepare


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "off"})
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off." in out.stderr


def test_favicon_is_served_from_the_static_files(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/static/favicon.svg")
    page = client.get("/login/")
    assert 'rel="icon" href="/static/favicon.svg"' in page.content.decode()


def test_the_urlconf_loads_without_a_static_manifest(settings):
    """Production uses the manifest storage; management commands run before collectstatic
    (migrate, the benchmarks) must still load the URLconf."""
    import importlib

    import config.urls

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = "/nonexistent-static-root"
    importlib.reload(config.urls)


def test_cache_url_picks_the_shared_cache(monkeypatch):
    import environ

    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/1")
    config = environ.Env().cache_url("CACHE_URL", default="locmemcache://")
    assert config["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert config["LOCATION"] == "redis://127.0.0.1:6379/1"
    monkeypatch.delenv("CACHE_URL")
    local = environ.Env().cache_url("CACHE_URL", default="locmemcache://")
    assert local["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.django_db
def test_a_bad_request_gets_a_page_in_the_readers_language(client):
    response = client.get("/login/?q=a%00b", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Request not understood" in response.content.decode()
    chinese = client.get("/login/?q=a%00b", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "无法识别的请求" in chinese.content.decode()


def _deploy_check(**environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "off",
            "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
            "JICAI_MASTER_KEY": "c2VjcmV0LXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmctISE=",
            **environment,
        }
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout + out.stderr


def test_production_settings_pass_the_deploy_check_on_hsts_and_ssl_redirect() -> None:
    """check --deploy warned W004 (no HSTS) and W008 (no SSL redirect) in production."""
    report = _deploy_check()
    assert "security.W004" not in report and "security.W008" not in report, report
    # Both are configurable, and the check notices when they are turned off.
    off = _deploy_check(DJANGO_SECURE_SSL_REDIRECT="off", DJANGO_SECURE_HSTS_SECONDS="0")
    assert "security.W004" in off and "security.W008" in off

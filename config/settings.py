"""Settings for Jicai, driven by environment variables (django-environ).

Every variable is listed in README.md ("Configuration"). Local use needs none of them:
SQLite in the project folder, tasks run in-process, a clearly marked development secret.
Production (``DJANGO_DEBUG`` off) refuses to start without ``DJANGO_SECRET_KEY``.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.storage import default_storage

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)

_DEV_SECRET = "dev-only-insecure-secret-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="" if not DEBUG else _DEV_SECRET)
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.JicaiAdminConfig",  # django.contrib.admin, staff only (config/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",  # API tokens stored as digests (accounts.ApiToken; see "API tokens" below)
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",  # sign-in throttling and lockout (see "Sign-in lockout" below)
    # Jicai apps, in their one-way import order (a lower app never imports a higher one).
    "common",
    "accounts",
    "catalog",
    "procurement",
    "tender",
    "qualification",
    "bidding",
    "awards",
    "contracts",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (see CONTENT_SECURITY_POLICY)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication (needs request.user), before LocaleMiddleware (which reads it).
    "accounts.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the language is known, so the 400 page is in the reader's language.
    "accounts.middleware.NulRefusedMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organization",
            ],
        },
    },
]

# Database: SQLite file by default, PostgreSQL (or anything dj-database-url style) via DATABASE_URL.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing at once when the dev server and a command overlap.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    # A statement running longer is cancelled and its request answered 503 with
    # Retry-After (config.errors). Set it for the web processes; workers run the national
    # imports, whose statements may take minutes.
    if statement_timeout := env.int("DJANGO_DB_STATEMENT_TIMEOUT", default=0):
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            f"-c statement_timeout={statement_timeout * 1000}"
        )
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Only the bid's statements are prepared (bidding/services/statements.py: a
        # server-side binding cursor; Django's own cursors bind client-side and never
        # prepare). Off (None) for a pooler in transaction mode without prepared statements.
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
            5 if env.bool("DJANGO_DB_PREPARED", default=True) else None
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# django-axes checks the lockout before any password is compared (first), then the usual
# username/password check.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sign-in lockout (django-axes, the site's and the admin's sign-in alike): after
# JICAI_LOGIN_FAILURE_LIMIT wrong passwords the account (by default; see
# JICAI_LOGIN_LOCKOUT_BY) is locked for JICAI_LOGIN_COOLOFF_MINUTES, counted from the last
# failed try; the right password does not work meanwhile. The lockout page says when the
# user may try again (accounts.views.locked_out). Failures are kept in the database.
AXES_FAILURE_LIMIT = env.int("JICAI_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("JICAI_LOGIN_COOLOFF_MINUTES", default=15))
# A comma-separated list: each entry locks on its own, "a+b" locks the combination.
AXES_LOCKOUT_PARAMETERS = [
    entry.split("+") if "+" in entry else entry
    for entry in env.list("JICAI_LOGIN_LOCKOUT_BY", default=["username"])
]
# axes warns (W006) when the client address is not a lockout parameter, because rotating
# user agents or cookies would then escape a lockout; a lockout by username cannot be
# escaped that way (the account stays locked), and locking by address would lock a whole
# hospital behind one NAT address after a few typing mistakes. So the warning is
# silenced while the username is a parameter.
SILENCED_SYSTEM_CHECKS = ["axes.W006"] if "username" in AXES_LOCKOUT_PARAMETERS else []
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False
# Behind a reverse proxy, the client address comes from X-Forwarded-For (proxy count 1).
AXES_IPWARE_PROXY_COUNT = env.int("JICAI_PROXY_COUNT", default=0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)

# Internationalisation: Simplified Chinese by default, English on request; times are
# stored in UTC and shown in Asia/Shanghai.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["config.formats"]  # zh_Hans: "," every three digits (see the module)

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded and generated files (report and contract PDFs, objection attachments): the file
# system under MEDIA_ROOT, or S3-compatible object storage when JICAI_S3_BUCKET is set
# (config/storage.py says how; README.md "Configuration" lists the variables).
STORAGES = {
    "default": default_storage(os.environ),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

# Uploads: spreadsheets above this size are refused with a message, not read. Files are
# kept between their preview and their commit in JICAI_UPLOAD_MODEL (common.uploads).
JICAI_UPLOAD_MODEL = "catalog.StoredUpload"
JICAI_MAX_UPLOAD_BYTES = env.int("JICAI_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
# Form posts (pages) are small. The API's JSON bodies have their own limit, large enough
# for its documented 50,000-line demand request, checked by common.api.LimitedJSONParser.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
JICAI_API_MAX_BODY_BYTES = env.int("JICAI_API_MAX_BODY_BYTES", default=32 * 1024 * 1024)
JICAI_API_MAX_JSON_DEPTH = env.int("JICAI_API_MAX_JSON_DEPTH", default=20)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Qualification documents (docs/qualification.md): PDF, PNG or JPEG up to this size, kept
# in the default storage. New rounds admit only qualified bidders unless their office
# switches it off (rounds older than the qualification app were switched off).
JICAI_QUALIFICATION_MAX_BYTES = env.int("JICAI_QUALIFICATION_MAX_BYTES", default=10 * 1024 * 1024)
JICAI_QUALIFICATION_REQUIRED = env.bool("JICAI_QUALIFICATION_REQUIRED", default=True)

# Signatures (docs/signatures.md): whether a round without its own setting requires every
# bid and contract confirmation to be signed with the signer's registered key; the PEM
# bundle of trusted CA roots for X.509 signing certificates (none: only browser keys);
# how long a key generated in the browser is valid.
JICAI_SIGNATURES_REQUIRED = env.bool("JICAI_SIGNATURES_REQUIRED", default=True)
JICAI_SIGNING_TRUST_ANCHORS = env.str("JICAI_SIGNING_TRUST_ANCHORS", default="")
JICAI_SIGNING_KEY_DAYS = env.int("JICAI_SIGNING_KEY_DAYS", default=730)

EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="jicai@localhost")

# The cache holds short-lived coordination keys (e.g. "this contract's PDF is already
# queued"). Local memory is per process: with several web processes in production, point
# CACHE_URL at Redis (redis://127.0.0.1:6379/1) so they share it.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Celery: a real broker when CELERY_BROKER_URL is set; otherwise tasks run in-process
# (eagerly), so `make run` needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_IMPORTS = ["config.tasks"]  # project-wide tasks; apps are autodiscovered
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="jicai")
# Seconds each relaxation of the scenario comparison may take (a Celery task each;
# awards/services/comparison.py); the rule set's own limit when that is shorter.
AWARDS_RELAXATION_SECONDS = env.float("AWARDS_RELAXATION_SECONDS", default=60.0)
# An evaluation of a per-item rule kind with at least this many items is fanned out as
# AWARDS_FANOUT_CHUNKS Celery tasks (docs/optimiser.md, "Fanning an evaluation out");
# 0 never fans out. Measured on the national drug round (60 items, 920,153 lines, quiet
# 2-core machine): 21.8 s fanned out on the production profile's two worker processes
# against 26.3 s in one task, but 38.6 s on a single worker process (the problem is built
# twice): set 0 where the evaluation queue has one worker process. The optimised award is
# always one task.
AWARDS_FANOUT_MIN_ITEMS = env.int("AWARDS_FANOUT_MIN_ITEMS", default=40)
AWARDS_FANOUT_CHUNKS = env.int("AWARDS_FANOUT_CHUNKS", default=4)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
# A task is acknowledged when it finishes (acks_late), and a task whose pool process died
# (kill -9, out of memory) is rejected back to the queue at once (reject_on_worker_lost),
# so another process runs it again; tasks are idempotent and guarded on status.
# When the whole worker dies, the messages it had taken stay "unacked" in Redis until the
# transport's visibility timeout has passed (an hour by Redis's default), then any
# running worker puts them back in the queue (it looks every unacked_restore_interval
# seconds). The timeout is kept above the hard time limit, so a message is never given to
# a second worker while its task may still be running.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int(
        "CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 120
    ),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": 1,
}
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Deadline-driven state changes (demand window closing, bid deadline, opening time) are
# checked every minute; each check is idempotent. Later apps register their checks in
# JICAI_DEADLINE_CHECKS (dotted paths of functions taking a keyword ``now``).
CELERY_BEAT_SCHEDULE = {
    "deadlines-every-minute": {
        "task": "config.tasks.run_deadline_checks",
        "schedule": 60.0,
    },
}
JICAI_DEADLINE_CHECKS: list[str] = [
    "procurement.services.round_deadline_check",
    "procurement.notices.round_reminders_check",
    "bidding.notices.bidding_notices_done_check",
    "bidding.services.opening_due_check",
    "awards.services.selection_deadline_check",
    "contracts.services.execution_start_check",
    "contracts.services.behind_schedule_check",
    "accounts.services.api_tokens_expired_delete",
    "qualification.notices.qualification_expiry_check",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "common.api.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Every operation is throttled: per token (or per signed-in session), per user across
    # its tokens, changes apart, and per client address for anonymous callers. Over the
    # rate: 429 with Retry-After and a JSON body. Rates "N/second|minute|hour|day"; an
    # empty value turns that throttle off.
    "DEFAULT_THROTTLE_CLASSES": [
        "common.api.TokenRateThrottle",
        "common.api.UserRateThrottle",
        "common.api.WriteRateThrottle",
        "common.api.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("JICAI_API_RATE_TOKEN", default="600/minute") or None,
        "user": env.str("JICAI_API_RATE_USER", default="1200/minute") or None,
        "write": env.str("JICAI_API_RATE_WRITE", default="300/minute") or None,
        "anon": env.str("JICAI_API_RATE_ANON", default="120/minute") or None,
    },
    "NUM_PROXIES": env.int("JICAI_PROXY_COUNT", default=0) or None,
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "common.api_schema.ErrorsDeclaredAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Jicai API",
    "DESCRIPTION": "Centralized volume-based procurement: demand, bids, awards, contracts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI is served from the vendored sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Panels that higher apps contribute to pages of lower apps, by template name, so the
# lower app never imports the higher one (docs/architecture.md).
JICAI_HOME_PANELS: dict[str, list[str]] = {
    "office": [
        "procurement/_office_panel.html",
        "qualification/_office_panel.html",
        "contracts/_office_panel.html",
        "reports/_office_panel.html",
    ],
    "hospital": [
        "procurement/_hospital_panel.html",
        "qualification/_party_panel.html",
        "contracts/_party_panel.html",
        "reports/_party_panel.html",
    ],
    "manufacturer": [
        "catalog/_manufacturer_panel.html",
        "qualification/_party_panel.html",
        "bidding/_manufacturer_panel.html",
        "contracts/_party_panel.html",
        "reports/_party_panel.html",
    ],
}
# What happens next after the opening, on the round page's "What happens next" card
# (procurement/round_detail.html): each higher app says it for the states it owns, with
# the office's button (bidding: open the bids; awards: evaluate, publish, finalize, then
# province selection and contracts).
JICAI_ROUND_GUIDANCE: list[str] = [
    "bidding/_round_guidance.html",
    "awards/_round_guidance.html",
]
JICAI_ROUND_PANELS: list[str] = [
    "tender/_round_panel.html",
    "qualification/_round_panel.html",
    "bidding/_round_panel.html",
    "awards/_round_panel.html",
    "reports/_round_panel.html",
]
# Whose bids an amendment of a round item (and specification) touches: a function taking
# ``round_item_id`` and ``specification_id`` (keywords; None: the whole item) and returning
# organization ids. The tender app sits below bidding and cannot read bids; until bidding
# names its own provider, every manufacturer with a product of that line is told.
JICAI_TENDER_BIDDERS = "tender.selectors.potential_bidders_on_line"
# Panels of higher apps on the office's award page of a round (awards/round_award.html).
JICAI_AWARD_PANELS: list[str] = [
    "contracts/_award_panel.html",
]

# Sealed bids: the master key that wraps each round's data key (docs/sealed-bidding.md).
# Base64 of 32 random bytes; generate one with
#   python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"
# DEMO KEY, LOCAL USE ONLY: it decodes to "jicai-DEMO-master-key-NOT-SECRET" and is public,
# so bids sealed with it are not secret. It is used only when DJANGO_DEBUG is on and no key
# is configured; production (DJANGO_DEBUG off) refuses to start without JICAI_MASTER_KEY.
JICAI_DEMO_MASTER_KEY = "amljYWktREVNTy1tYXN0ZXIta2V5LU5PVC1TRUNSRVQ="
JICAI_MASTER_KEY = env.str("JICAI_MASTER_KEY", default=JICAI_DEMO_MASTER_KEY if DEBUG else "")
if not JICAI_MASTER_KEY:
    raise ImproperlyConfigured(
        "JICAI_MASTER_KEY must be set when DJANGO_DEBUG is off: base64 of 32 random bytes "
        "(see docs/sealed-bidding.md)."
    )
if not DEBUG and JICAI_MASTER_KEY == JICAI_DEMO_MASTER_KEY:
    raise ImproperlyConfigured(
        "JICAI_MASTER_KEY is the public demo key; set a secret key when DJANGO_DEBUG is off."
    )

# Open data: the OCDS identifier prefix registered with the Open Contracting Partnership.
# "ocds-jicai0" is a placeholder until a real prefix is registered (docs/reports.md).
JICAI_OCID_PREFIX = env.str("JICAI_OCID_PREFIX", default="ocds-jicai0")

# API tokens (django-rest-knox, docs/security.md): shown once at creation, stored as
# SHA-512 digests, named, expiring, revocable. Sent as "Authorization: Token <token>".
# Tokens start with "jicai_" so secret scanners and people recognise them.
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 - a model name
JICAI_API_TOKEN_DAYS = env.int("JICAI_API_TOKEN_DAYS", default=90)  # default validity
JICAI_API_TOKEN_MAX_DAYS = env.int("JICAI_API_TOKEN_MAX_DAYS", default=365)
JICAI_API_TOKENS_PER_USER = env.int("JICAI_API_TOKENS_PER_USER", default=10)
# knox's own migrations create its default token table even when the model is swapped
# out; without them no table is made for it (accounts.ApiToken is the table).
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_PREFIX": "jicai_",
    "TOKEN_TTL": datetime.timedelta(days=JICAI_API_TOKEN_DAYS),
}

# Sign-in sessions are kept in the database under the SHA-256 digest of their key
# (accounts.sessions), so a copy of the database signs nobody in (docs/security.md).
SESSION_ENGINE = "accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
# HTTPS only in production (debug off): plain HTTP is redirected, and browsers are told
# by HSTS to use HTTPS for a year. Behind a TLS-terminating proxy set
# DJANGO_SECURE_PROXY_SSL_HEADER=on (the proxy must set X-Forwarded-Proto).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp) on every answer. Scripts only from this site's own
# files: no inline <script>, no on*= handlers, no eval (htmx is configured with allowEval
# and includeIndicatorStyles off, base.html). Styles may still be inline (style=""
# attributes in a few templates, the <style> matplotlib writes into its inline SVG charts,
# Swagger UI); an injected style cannot run script. Nothing is loaded from another origin.
# docs/security.md, "Content-Security-Policy".
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

"""Handoff settings: one module, every value read from the environment.

Defaults give the embedded mode (SQLite file, filesystem Celery broker, DEBUG on) so that
`make run` needs no services. Production sets DEBUG=false, which makes SECRET_KEY mandatory.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from zoneinfo import available_timezones

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HANDOFF_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Environment variable {name} is required.")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=True)
TESTING = env_bool("HANDOFF_TESTING", default=False)

if DEBUG:
    SECRET_KEY = os.environ.get("SECRET_KEY") or "insecure-development-key-only-for-debug-mode"
else:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters when DEBUG is off.")
    if "change-me" in SECRET_KEY.lower():
        raise ImproperlyConfigured(
            "SECRET_KEY is still the .env.example placeholder; set 50+ random characters."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Form widgets render through the project's templates (FORM_RENDERER below).
    "django.forms",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crm",
    "leads",
    "sla",
]

MIDDLEWARE = [
    "crm.monitoring.RequestMetricsMiddleware",
    "crm.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "crm.middleware.ContentSecurityPolicyMiddleware",
    "crm.middleware.NoStoreMiddleware",
    "crm.middleware.DatabaseUnavailableMiddleware",
    # Inside the database guard: reading the signed-in person may meet a database that is down.
    "crm.middleware.ReaderTimeZoneMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
ASGI_APPLICATION = "crm.asgi.application"

# Widgets are drawn from the same templates as pages, so templates/django/forms/ may override
# one (the select, below a few hundred options per lead page).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.navigation",
            ],
        },
    },
]


def database(url: str) -> dict[str, object]:
    config = dj_database_url.parse(
        url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Several processes (web, worker, beat) share one file. WAL lets pages read while a
        # worker writes; a writer waits for the lock (the busy timeout, in seconds) instead of
        # failing; IMMEDIATE takes the write lock at BEGIN, so a transaction never dies upgrading.
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["CONN_MAX_AGE"] = 0
    if config["ENGINE"] == "django.db.backends.postgresql":
        # A hung or unreachable server costs a request a few seconds and a 503, never a
        # worker killed by gunicorn's 30 s timeout: give up connecting, cancel a runaway
        # statement, and end a transaction left idle by a stuck process (it holds row locks).
        options = config.setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 3))
        options["options"] = " ".join(
            [
                options.get("options", ""),
                f"-c statement_timeout={env_int('DB_STATEMENT_TIMEOUT_MS', 20000)}",
                "-c idle_in_transaction_session_timeout="
                f"{env_int('DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', 60000)}",
            ]
        ).strip()
    return config


DATABASES = {
    "default": database(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'handoff.sqlite3'}"))
}
# The statements of a single-lead API create are prepared once per database session
# (crm/prepared.py). Turn off behind a pooler that shares sessions between clients
# (PgBouncer in transaction mode).
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
# A project-specific test database so parallel checkouts on one server do not collide.
_TEST_DATABASE = os.environ.get("TEST_DATABASE_NAME") or (
    None if "sqlite" in DATABASES["default"]["ENGINE"] else "test_handoff"
)
DATABASES["default"]["TEST"] = {"NAME": _TEST_DATABASE}
# An optional read replica for the dashboard, reports and exports (crm/replica.py). Tests
# get a second database of their own beside the primary's.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = database(os.environ["DATABASE_REPLICA_URL"])
    DATABASES["replica"]["TEST"] = {"NAME": f"{_TEST_DATABASE}_replica" if _TEST_DATABASE else None}
READ_FROM_REPLICA = "replica" in DATABASES
DATABASE_ROUTERS = ["crm.replica.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "crm.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "my_work"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "Europe/London")
if TIME_ZONE not in available_timezones():
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not a known IANA time zone.")
# The one currency of every amount (spend, value, cost per lead) on pages, exports and the API:
# an ISO 4217 code, EUR by default.
CURRENCY = env_str("CURRENCY", "EUR").upper()
if len(CURRENCY) != 3 or not CURRENCY.isalpha():
    raise ImproperlyConfigured(f"CURRENCY {CURRENCY!r} is not a three-letter ISO 4217 code.")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
# The embedded default keeps its SQLite file, broker folders and uploads under var/.
for _folder in (VAR_DIR, STATIC_ROOT, MEDIA_ROOT):
    _folder.mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Security: strict by default when DEBUG is off; plain HTTP only in the embedded default.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Probes and the metrics scrape come from inside the deployment's network, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Celery: Redis when REDIS_URL is set, otherwise an embedded filesystem broker (no server).
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_DATA_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
        # Such a task goes back on its queue at a worker's next scan for them: every tenth
        # tick of ten seconds unless told otherwise (kombu's defaults, so about 100 s).
        "unacked_restore_interval": env_int("CELERY_RESTORE_INTERVAL", 10),
        "unacked_restore_throttle": env_int("CELERY_RESTORE_THROTTLE", 10),
        # Publishing gives up at once when Redis is down (kombu would otherwise retry the
        # connection for seconds inside the request); the worker's own reconnect loop uses
        # broker_connection_max_retries and is not affected.
        "max_retries": env_int("CELERY_PUBLISH_CONNECT_RETRIES", 0),
    }
    if os.environ.get("CELERY_BROKER_MASTER_NAME"):
        # A `sentinel://...` broker URL: the name of the master Redis Sentinel watches.
        CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = os.environ["CELERY_BROKER_MASTER_NAME"]
else:
    # The folders below are the broker; the host is only named so that kombu does not warn
    # "No hostname was supplied" on every connection (the filesystem transport ignores it).
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost/")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "out"),
        "data_folder_out": str(CELERY_DATA_DIR / "out"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The request path never waits on a broker that is down: publishing fails fast and the
# outbox/beat re-drain carries the work instead.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TIMEZONE = "UTC"
# The worker logs through LOGGING (JSON lines in production), not a handler of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
HEARTBEAT_SECONDS = env_int("HEARTBEAT_SECONDS", 60)
SLA_SWEEP_SECONDS = env_int("SLA_SWEEP_SECONDS", 60)
# /metrics answers a bearer METRICS_TOKEN or a client in METRICS_ALLOWED_IPS, nobody else.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "")
# /readyz fails when the oldest open clock past due has waited longer than this for the sweep.
READYZ_MAX_SWEEP_LAG_SECONDS = env_int("READYZ_MAX_SWEEP_LAG_SECONDS", 300)

# Outbox (notifications, email, webhooks): drained after commit and re-drained by beat.
OUTBOX_DRAIN_SECONDS = env_int("OUTBOX_DRAIN_SECONDS", 60)
# One drain task keeps going while messages are due for about this long, then re-enqueues.
OUTBOX_DRAIN_BUDGET_SECONDS = env_int("OUTBOX_DRAIN_BUDGET_SECONDS", 50)
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 30)
# A claimed delivery whose worker died is retried after this long (keep above webhook timeout).
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 120)
# How often beat looks for e-mail digests due (people who chose hourly or daily mail).
EMAIL_DIGEST_SECONDS = env_int("EMAIL_DIGEST_SECONDS", 300)
# Publish "work waiting" hints to the broker after commit (beat covers a lost hint).
OUTBOX_ENQUEUE_HINTS = env_bool("OUTBOX_ENQUEUE_HINTS", default=True)
# Who delivers each outbox channel: `(message, now) -> None`, raising to be retried later;
# for fan-out rows, who expands a batch of them: `(messages) -> deliveries` (crm/outbox.py).
OUTBOX_HANDLERS = {
    "in_app": "crm.outbox.deliver_in_app",
    "email": "crm.outbox.deliver_email",
    "webhook": "sla.webhooks.deliver_webhook",
    "fan_out": "sla.escalation.breach_fan_outs_expand",
}
# Webhooks go to public addresses only; these hosts (as written in the URL) are exempt, for a
# receiver inside the deployment's own network (sla/webhook_targets.py).
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", "")
SLA_COMMITMENT_SECONDS = env_int("SLA_COMMITMENT_SECONDS", 3600)


def _weekday_and_time(name: str, default: str) -> tuple[int, time]:
    """ "monday 08:00" -> (0, time(8, 0)): a weekday and a local time in TIME_ZONE."""
    raw = env_str(name, default).strip().lower()
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    day, _, clock = raw.partition(" ")
    try:
        return days.index(day), time.fromisoformat(clock.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{name} must be a weekday and a time, like 'monday 08:00'; got {raw!r}."
        ) from exc


# The joint review's digest goes out weekly at this weekday and time in TIME_ZONE, for the
# ISO week just ended.
JOINT_REVIEW_DIGEST_AT = _weekday_and_time("JOINT_REVIEW_DIGEST_AT", "monday 08:00")
# CSV imports: beat looks for imports that stayed queued or stopped moving every
# IMPORT_RESUME_SECONDS, and sends again those quiet for IMPORT_STALLED_SECONDS (a chunk
# takes well under a second, so two minutes of silence means no worker has it).
IMPORT_RESUME_SECONDS = env_int("IMPORT_RESUME_SECONDS", 60)
IMPORT_STALLED_SECONDS = env_int("IMPORT_STALLED_SECONDS", 120)

# The embedded default writes each mail to a file under var/mail/ (read them there): the
# console backend printed whole messages into the worker's log, which Celery shows as warnings.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH", VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "handoff@localhost")
# The address people open Handoff at: e-mails link to absolute URLs built from it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL {SITE_URL!r} must start with http:// or https://.")

# JSON lines in production (crm/logs.py), the plain console for the embedded default.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}.")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# The per-request and per-task lines are for JSON logs (at LOG_LEVEL, so WARNING silences
# them): the console has the server's access lines, and beat's every-minute tasks would
# fill it with `INFO handoff.task`.
LINE_PER_EVENT_LEVEL = LOG_LEVEL if LOG_FORMAT == "json" else "WARNING"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "crm.logs.json_formatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "handoff.request": {"level": LINE_PER_EVENT_LEVEL},
        "handoff.task": {"level": LINE_PER_EVENT_LEVEL},
    },
}

# ---------------------------------------------------------------- REST API
# Session for the browser, `Authorization: Bearer <API key>` for integrations; every error is
# problem+json (crm.api.errors). API_KEY_RATE is per key, counted in the shared cache.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.api.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["crm.api.auth.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["crm.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "crm.api.schema.ContractAutoSchema",
    "EXCEPTION_HANDLER": "crm.api.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.StrictCursorPagination",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_KEY_RATE = env_str("API_KEY_RATE", "1200/min")
IDEMPOTENCY_RETENTION_HOURS = env_int("IDEMPOTENCY_RETENTION_HOURS", 24)
SPECTACULAR_SETTINGS = {
    "TITLE": "Handoff API",
    "DESCRIPTION": (
        "Leads, their hand-off between marketing and sales, and the SLA between the teams. "
        "Errors are application/problem+json (RFC 9457) with an `errors` list of "
        "`{pointer, message, code}`."
    ),
    "VERSION": "1.0.0",
    # No public licence text: the terms come with the deployment, whose docs page is linked.
    "LICENSE": {"name": "Proprietary", "url": "http://127.0.0.1:8000/api/docs/"},
    "SERVERS": [{"url": "http://127.0.0.1:8000", "description": "`make run` (embedded default)"}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm.api.schema.contract_postprocess",
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ActivityKindEnum": "leads.models.ActivityKind.choices",
        "ReasonKindEnum": "leads.models.ReasonKind.choices",
        "StageEnum": "leads.lifecycle.Stage.choices",
        "TeamEnum": "crm.models.Team.choices",
        "ClockStateEnum": "sla.models.ClockState.choices",
        "TransitionEnum": "leads.lifecycle.Transition.choices",
        "ProblemCodeEnum": "crm.api.errors.PROBLEM_CODES",
        "BatchItemStatusEnum": "leads.api_serializers.BATCH_ITEM_STATUSES",
    },
}
# Throttle counters must be shared by every web process: Redis when there is one.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("CACHE_URL", REDIS_URL),
            "KEY_PREFIX": "handoff",
            # A cache that is down fails fast (the rate limit then lets requests through).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

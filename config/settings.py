"""Settings come from the environment; the defaults are the embedded set-up of `make run`.

DATABASE_URL  default sqlite:///var/kaireon.sqlite3 (PostgreSQL: postgres://user@host:5432/db)
REDIS_URL     default redis://127.0.0.1:6390/0, the embedded Redis that `make run` starts
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KAIREON_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
# --- Secret key (security, issue 10) --------------------------------------------------------
# Without DEBUG there is no default: a known key would let anyone forge sessions and signed
# tokens. `make run` exports a key generated once into var/secret_key (scripts/local_secret_key.py).
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (a long random string).")
    SECRET_KEY = "dev-insecure-secret-key-change-me-in-production"  # noqa: S105  (DEBUG only, see above)
# --- end secret key -------------------------------------------------------------------------
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "http://localhost:8000,http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "django_htmx",
    "kaireon",
    "decisionflows",
    "segments",
    "runs",
    "campaigns",
    "journeys",
    "console",  # last: the pages across apps and the demo data stand on all the others
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kaireon.middleware.CurrentTenantMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "kaireon.context_processors.tenancy",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'kaireon.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if IS_SQLITE:
    # Web, worker and beat share one SQLite file: WAL lets readers run beside the single
    # writer, IMMEDIATE takes the write lock up front so two writers queue instead of
    # deadlocking on a lock upgrade, and the timeout is how long a writer waits its turn.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not :memory:, so that a real Celery worker process in the tests sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"
WHITENOISE_USE_FINDERS = DEBUG  # serve app static files without collectstatic while developing
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Login throttling (security, issue 10) --------------------------------------------------
# django-axes counts failed sign-ins (the login page and the admin's) per username *and* address:
# after AXES_FAILURE_LIMIT failures that pair is locked out for AXES_COOLOFF_MINUTES, even with
# the right password. API keys never go through authenticate(), so axes does not see them.
# Behind a proxy the address is REMOTE_ADDR, the proxy's: the pair then is in effect the username.
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before the password
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes asks
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kaireon.pages.login_locked_out"  # the login page with the reason, 429
# --- end login throttling -------------------------------------------------------------------

# --- Redis, Celery -------------------------------------------------------------------------
EMBEDDED_REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "6390"))
REDIS_URL = os.environ.get("REDIS_URL", f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0")

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Acknowledge after the task ran, so a worker killed mid-task leaves its message for another.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Fail fast when the broker is down, so the web request can fall back instead of hanging.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# A publish to a dead broker fails within ~1 s, so a run can fall back to inline execution.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# DatabaseScheduler copies these into django-celery-beat's tables on start (editable in admin).
CELERY_BEAT_SCHEDULE = {
    "runs-reap": {"task": "runs.reap", "schedule": float(os.environ.get("RUNS_REAP_INTERVAL_SECONDS", "15"))},
    # Fires due campaign slots; a slot fires at most once however often this runs (campaigns.services).
    "campaigns-fire-due": {
        "task": "campaigns.fire_due",
        "schedule": float(os.environ.get("CAMPAIGNS_FIRE_INTERVAL_SECONDS", "30")),
    },
    # Advances the journeys clock one tick and fans the due runs out to batch tasks (journeys.tasks).
    "journeys-tick": {"task": "journeys.tick", "schedule": float(os.environ.get("JOURNEYS_TICK_SECONDS", "10"))},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- Runs ---------------------------------------------------------------------------------
# Customers per chunk task. Unset: about RUNS_TARGET_CHUNKS chunks per run, each between the
# minimum and the maximum — 10,000 up to half a million customers, 20,000 from a million (a
# chunk ≈ 1 s of work). Smaller chunks pay their fixed costs too often: 100,000 customers in
# chunks of 2,000 took 7.0-8.7 s and 77 CPU-s per 1M, in chunks of 10,000 2.8-3.9 s and
# 27-35 CPU-s per 1M, as a million does (bench/run_throughput.py --customers 100000, with
# RUNS_CHUNK_SIZE=10000). Set it to force one size.
RUNS_CHUNK_SIZE = int(os.environ["RUNS_CHUNK_SIZE"]) if os.environ.get("RUNS_CHUNK_SIZE") else None
RUNS_TARGET_CHUNKS = 50
RUNS_CHUNK_SIZE_MIN = 10_000
RUNS_CHUNK_SIZE_MAX = 20_000
# A running chunk whose worker has not finished it within this many seconds is handed out again.
RUNS_CHUNK_LEASE_SECONDS = int(os.environ.get("RUNS_CHUNK_LEASE_SECONDS", "120"))
RUNS_CHUNK_MAX_RETRIES = int(os.environ.get("RUNS_CHUNK_MAX_RETRIES", "3"))
# Planning or finalising a run is tried by the workers at most this many times (a lost database
# connection is retried; the reaper re-sends a lost message) before the run fails with the last error.
RUNS_RECOVERY_MAX_ATTEMPTS = int(os.environ.get("RUNS_RECOVERY_MAX_ATTEMPTS", "5"))
RUNS_CHUNK_RETRY_BACKOFF = int(os.environ.get("RUNS_CHUNK_RETRY_BACKOFF", "2"))  # seconds, doubled per retry

# --- Campaigns ----------------------------------------------------------------------------
# A schedule slot found due more than this many seconds late (beat or workers were down) is
# recorded as a skipped campaign run instead of running; only the latest missed slot is recorded.
CAMPAIGNS_GRACE_SECONDS = int(os.environ.get("CAMPAIGNS_GRACE_SECONDS", "3600"))

# --- Webhooks (security, issue 10) -----------------------------------------------------------
# Hosts, IP addresses or networks (CIDR) webhooks may reach although they are loopback, private
# or link-local (kaireon.webhooks refuses those by default). Empty in production; `make run` sets
# 127.0.0.1 for the demo's local webhook receiver.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", "")
# --- end webhooks ---------------------------------------------------------------------------

# --- Journeys -----------------------------------------------------------------------------
# Seconds per tick: how often beat sends journeys.tick, and what wait durations convert with.
JOURNEYS_TICK_SECONDS = float(os.environ.get("JOURNEYS_TICK_SECONDS", "10"))
# Runs per journeys.process_batch task (one claim, one transaction). 1,000 runs of three sends
# ≈ 0.6 s a batch on PostgreSQL (bench/journey_ticks.py; 2,000 were no faster): short row
# locks, and 100 messages for 100,000 due runs.
JOURNEYS_BATCH_SIZE = int(os.environ.get("JOURNEYS_BATCH_SIZE", "1000"))
# Steps one run may take in one tick; a run past it carries on at the next tick.
JOURNEYS_MAX_STEPS_PER_TICK = int(os.environ.get("JOURNEYS_MAX_STEPS_PER_TICK", "50"))
# bulk-execute lists at most this many skippedDetails (its counts are always exact).
JOURNEYS_BULK_SKIPPED_DETAILS_MAX = int(os.environ.get("JOURNEYS_BULK_SKIPPED_DETAILS_MAX", "1000"))

# --- REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The API-key class comes first: its WWW-Authenticate header turns "no credentials"
        # into a 401 rather than DRF's 403.
        "kaireon.authentication.ApiKeyAuthentication",
        "kaireon.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["kaireon.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "kaireon.pagination.ListPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": [
        "kaireon.renderers.CamelCaseJSONRenderer",
        "djangorestframework_camel_case.render.CamelCaseBrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "djangorestframework_camel_case.parser.CamelCaseJSONParser",
        "djangorestframework_camel_case.parser.CamelCaseFormParser",
        "djangorestframework_camel_case.parser.CamelCaseMultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "kaireon.schema.AutoSchema",
    "EXCEPTION_HANDLER": "kaireon.exceptions.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": None,
    # URL_FORMAT_OVERRIDE stays "format": ?format=json answers JSON everywhere; the run export,
    # whose ?format=csv|json is its own, negotiates without it (kaireon.negotiation).
}

# Keys inside these values are data (customer attribute names, audit snapshots, journey
# variables, a provider's own config keys), not field names: they pass through unchanged.
JSON_CAMEL_CASE = {
    "JSON_UNDERSCOREIZE": {
        "no_underscore_before_number": True,
        "ignore_fields": (
            "attributes",
            "before",
            "after",
            "variables",
            "personalization",
            "sample_attributes",
            "provider_config",
            "fields",  # the error body's map of field paths, already in the request's spelling
        ),
    }
}

# --- Input limits (issue 10): refused with a 4xx before any field or query sees them --------
# JSON nesting beyond this is a 400 (the API's bodies and the pages' JSON boxes); real documents
# (conditions nest at most 8 levels, journey steps 3-4) stay far below it.
JSON_MAX_DEPTH = int(os.environ.get("JSON_MAX_DEPTH", "64"))
# The API's JSON parser: the camelCase one, refusing NUL, NaN/Infinity and deep nesting.
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "kaireon.parsers.CamelCaseJSONParser",
    "djangorestframework_camel_case.parser.CamelCaseFormParser",
    "djangorestframework_camel_case.parser.CamelCaseMultiPartParser",
]
# The largest request body or uploaded file (customer imports): a 413 beyond it. Nginx or the
# load balancer in front may set its own, lower limit.
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", "100000000"))  # 100 MB
# NUL in a path or query string: a 400 right after the security middleware (its headers apply).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "kaireon.middleware.RefuseNulMiddleware"
)

SPECTACULAR_SETTINGS = {
    "TITLE": "Kaireon Runs API",
    "DESCRIPTION": (
        "Batch customer decisioning: catalogue, decision flows, customers and segments, runs, "
        "campaigns and journeys. Authenticate with `X-API-Key: <key>` or "
        "`Authorization: Bearer <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "CAMELIZE_NAMES": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ActiveStatusEnum": "decisionflows.models.ActiveStatus",
        "LifecycleStatusEnum": "decisionflows.models.OfferStatus",  # FlowStatus has the same values
        "RunStatusEnum": "runs.models.RunStatus",
        "ImportStatusEnum": "segments.models.ImportStatus",
        "ImportFormatEnum": "segments.models.ImportFormat",
        "ImportRunnerEnum": "segments.models.ImportRunner",
        "AttributeTypeEnum": "segments.models.AttributeType",
        "JourneyRunStatusEnum": "journeys.models.ExecutionRunStatus",
        "PublicJourneyRunStatusEnum": ["queued", "running", "completed", "failed", "exited"],
        "CampaignRunStatusEnum": "campaigns.models.CampaignRunStatus",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Production security (security, issue 10) -----------------------------------------------
# With DEBUG off everything defaults to HTTPS; `make run` (plain http on 127.0.0.1) turns the
# redirect and the Secure cookies off through the environment. docs/operations.md lists the
# production environment, under which `manage.py check --deploy` is clean (tests/test_deploy.py).
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # HSTS is only sent on HTTPS responses, so a plain-http local run never pins the browser.
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Container health checks call http://127.0.0.1:8000/healthz from inside, without TLS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# "HTTP_X_FORWARDED_PROTO,https": the header a TLS-terminating proxy sets (and strips from
# clients). Only behind such a proxy: otherwise a client could claim HTTPS.
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    _header, _, _value = os.environ["SECURE_PROXY_SSL_HEADER"].partition(",")
    SECURE_PROXY_SSL_HEADER = (_header.strip(), _value.strip() or "https")
SESSION_COOKIE_HTTPONLY = True

# Content-Security-Policy (django-csp): scripts, styles, images and fonts from this site only.
# style-src-attr allows the style="width: N%" of the progress and breakdown bars; it cannot run
# script. No inline <script> or <style> anywhere (the Swagger UI's is moved to static/css).
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Swagger UI from drf-spectacular-sidecar's static files, not a CDN (works offline, fits the CSP).
INSTALLED_APPS += ["drf_spectacular_sidecar"]
SPECTACULAR_SETTINGS.update(
    {
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        # the validator badge would load an image from validator.swagger.io
        "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    }
)
# --- end production security ----------------------------------------------------------------

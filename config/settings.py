"""Rallyround settings: one module, read from the environment.

Every variable has a local default so that `make run` works on a fresh clone; production sets
RALLYROUND_ENV=production, which turns DEBUG off, demands a real SECRET_KEY and switches on the
HTTPS hardening that `manage.py check --deploy` looks for.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
# The one reader of the environment: every setting below comes through it, and code reads
# settings, never os.environ (each variable is listed in the README).
env = environ.Env()
VAR_DIR = Path(env.str("RALLYROUND_VAR_DIR", default=str(BASE_DIR / "var")))

ENVIRONMENT = env.str("RALLYROUND_ENV", default="local")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")
    # Refuse to start with an empty or guessable key (Django's own "check --deploy" rule, W009):
    # sessions, password-reset links and signed tokens all rest on it.
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        raise environ.ImproperlyConfigured(
            "SECRET_KEY must be at least 50 random characters in production "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
else:
    SECRET_KEY = env.str(
        "SECRET_KEY", default="django-insecure-local-only-rallyround-development-key"
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    # Campaign texts in English and Spanish (title_en, title_es…); must come before admin.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "csp",
    "supporters",
    "campaigns",
    "pledges",
    "outreach",
    "actions",
    "congress",
    "organizers",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Remembers ?source=/utm_* in a signed cookie (no session), on cached pages too.
    "supporters.middleware.SourceTrackingMiddleware",
    # The page's language, from its /es/ prefix; an unprefixed public page is redirected to
    # /es/ for a visitor whose language cookie or first-visit Accept-Language says Spanish.
    # Before the page cache, so a cached copy is always of the language the visitor gets.
    "config.locale.PreferredLanguageMiddleware",
    # Anonymous copies of the campaign and discover pages: a hit skips the rest of the stack.
    "campaigns.page_cache.PageCacheMiddleware",
    # Web requests wait at most STRIPE_WEB_SLOT_WAIT_SECONDS for a Stripe rate-limit slot.
    "pledges.ratelimit.WebRequestSlotWait",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
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
                "csp.context_processors.nonce",
                "config.locale.language_context",
            ],
            "builtins": ["campaigns.templatetags.rallyround"],
        },
    }
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web server and a worker write at once in `make run`: take the write lock up front and
    # wait for it instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, share-image cache) ----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Tests keep the cache in memory (CACHE_BACKEND=locmem) so rate-limit counters never leak
# between test runs sharing one Redis.
CACHE_BACKEND = env.str("CACHE_BACKEND", default="redis" if REDIS_URL else "locmem")
if CACHE_BACKEND == "redis":
    CACHES = {
        "default": {
            # django-redis keeps one client per process; Django's own backend builds a new
            # client object per call, a third of a cached page's time.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": "rallyround",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Anonymous, cookieless visitors of the campaign and discover pages get a copy at most this old
# (totals and edits invalidate it at once; see campaigns/page_cache.py). 0 turns it off.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=30)
# How long a web process trusts the page version it last read before asking the cache again: a
# write made in another process shows within this long (in the same process, at once). 0 asks
# on every request.
PAGE_CACHE_VERSION_SECONDS = env.float("PAGE_CACHE_VERSION_SECONDS", default=0.5)

# --- Auth and accounts (django-allauth: email is the login) -----------------------------------
AUTH_USER_MODEL = "supporters.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_ADAPTER = "supporters.adapters.AccountAdapter"  # account emails in our look
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
# Only in the browser that signed up (allauth keeps that in the session): the pledge page's
# sign-up continues to the card once its link is opened there.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Rallyround] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}
# Every form that signs a person on without an account (Ally, petition, take action) sends
# email: one budget per client address (shared by all those forms, so a flood cannot move to the
# laxest one) and one per email address, per hour. See supporters/throttle.py.
SIGN_ON_RATE_LIMITS = {
    "ip": env.int("SIGN_ON_RATE_LIMIT_IP", default=10),
    "email": env.int("SIGN_ON_RATE_LIMIT_EMAIL", default=3),
    "window_seconds": 3600,
}
# Rate limits count per client address. X-Forwarded-For is believed only on a request that comes
# from one of these proxies (addresses or networks, e.g. "10.0.0.0/8"); by default from nobody,
# so a direct hit with a forged header is counted against its own address. allauth's limits use
# the same rule (supporters/throttle.py client_ip, via our account adapter).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# gunicorn reads this itself; read here too so the system check can refuse "*".
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=[])
ALLAUTH_TRUSTED_PROXY_COUNT = 0
LOGIN_REDIRECT_URL = "/me/"
# `manage.py seed_demo` gives the demo admin and organizer these passwords (printed by make run).
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="")
DEMO_ORGANIZER_PASSWORD = env.str("DEMO_ORGANIZER_PASSWORD", default="")
LOGIN_URL = "/accounts/login/"

# --- i18n / time -------------------------------------------------------------------------------
# English is the default and unprefixed (/c/<slug>/); Spanish pages live under /es/. Catalogs
# are in locale/ (the .po files are committed; `manage.py compile_catalogs` builds the .mo).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Spanish numbers grouped as in the US ("1,234"), matching campaigns/formatting.py's money.
FORMAT_MODULE_PATH = ["config.formats"]
LANGUAGE_COOKIE_NAME = "rr_lang"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_LANGUAGES = ("en", "es")
# An empty translation reads as the other language, field by field: with two languages that is
# the campaign's main language (Campaign.language), which organizers write first.
MODELTRANSLATION_FALLBACK_LANGUAGES = {"default": ("en",), "en": ("es",), "es": ("en",)}
MODELTRANSLATION_AUTO_POPULATE = False
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media --------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
# Memory one upload may take to decode and process (mode × pixels, see campaigns/images.py):
# a 24-megapixel camera JPEG fits; a 36-megapixel 16-bit PNG (a few kB on the wire) does not.
IMAGE_MAX_DECODED_BYTES = env.int("IMAGE_MAX_DECODED_BYTES", default=100 * 1024 * 1024)
# Photos one user may frame (outreach's badge page) per window.
PHOTO_FRAME_RATE_LIMITS = {"user": 20, "window_seconds": 3600}
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=40_000_000)

# --- Email -------------------------------------------------------------------------------------
OUTBOX_DIR = VAR_DIR / "outbox"
vars().update(env.email_url("EMAIL_URL", default=f"filemail://{OUTBOX_DIR}"))
_EMAIL_URL = env.str("EMAIL_URL", default=f"filemail://{OUTBOX_DIR}")
if _EMAIL_URL.startswith("filemail://"):
    # django-environ drops the leading "/" of an absolute path ("filemail:///srv/x" → "srv/x"),
    # which would put the outbox under the current directory: take the path as written, and
    # resolve a relative one ("filemail://var/outbox") against the project.
    EMAIL_FILE_PATH = str(BASE_DIR / _EMAIL_URL.removeprefix("filemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Rallyround <hello@rallyround.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
STAFF_ALERT_EMAILS = env.list("STAFF_ALERT_EMAILS", default=["staff@rallyround.local"])

# --- Stripe ------------------------------------------------------------------------------------
# The local defaults are public (they are in this repository): anyone could sign a webhook with
# "whsec_local". Production demands each key, of the right kind, and never a placeholder.
_STRIPE_LOCAL_DEFAULTS = {
    "STRIPE_SECRET_KEY": ("sk_test_local", ("sk_", "rk_"), 0),
    "STRIPE_PUBLISHABLE_KEY": ("pk_test_local", ("pk_",), 0),
    # Stripe's signing secrets are "whsec_" and 32 random characters; 24 leaves room for others.
    "STRIPE_WEBHOOK_SECRET": ("whsec_local", ("whsec_",), 24),
}


def _stripe_secret(name: str) -> str:
    placeholder, prefixes, min_random = _STRIPE_LOCAL_DEFAULTS[name]
    if not PRODUCTION:
        return env.str(name, default=placeholder)
    value = env.str(name, default="")
    if (
        not value.startswith(prefixes)
        or value in {placeholder, *prefixes}
        or value.endswith("_local")
        or len(value.partition("_")[2]) < min_random
    ):
        raise environ.ImproperlyConfigured(
            f"{name} must be set to your own Stripe value ({' or '.join(prefixes)}…) in "
            f"production; the local placeholder is public."
        )
    return value


STRIPE_SECRET_KEY = _stripe_secret("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = _stripe_secret("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = _stripe_secret("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com").rstrip("/")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_MAX_RPS = env.int("STRIPE_MAX_RPS", default=20)
STRIPE_TIMEOUT_SECONDS = env.int("STRIPE_TIMEOUT_SECONDS", default=30)
# /metrics (Prometheus) answers a scraper sending "Authorization: Bearer <this>" (or staff).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Errors go to Sentry when set (sentry-sdk finds Django and Celery by itself).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=ENVIRONMENT,
        send_default_pii=False,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
# Longest a web request (payment page, webhook) waits for a Stripe rate-limit slot; workers wait
# up to STRIPE_SLOT_WAIT_SECONDS.
STRIPE_WEB_SLOT_WAIT_SECONDS = env.float("STRIPE_WEB_SLOT_WAIT_SECONDS", default=2.0)
# localstripe rejects some parameters real Stripe takes; the gateway leaves them out when true.
STRIPE_LOCAL_COMPAT = env.bool(
    "STRIPE_LOCAL_COMPAT", default="api.stripe.com" not in STRIPE_API_BASE
)
PLEDGE_MAX_CENTS = env.int("PLEDGE_MAX_CENTS", default=1_000_000)
# The new-card page after a decline (card testing): forms handed out plus cards posted, per hour.
NEW_CARD_RATE_LIMITS = {"pledge": 12, "ip": 30, "window_seconds": 3600}
PAYMENT_GRACE_DAYS = env.int("PAYMENT_GRACE_DAYS", default=7)

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_DIR = VAR_DIR / "broker"
# The broker is Redis (REDIS_URL) unless CELERY_BROKER_URL names another: RabbitMQ
# (amqp://user:password@host:5672/vhost) is supported. Redis stays needed either way, as the
# cache that holds the shared Stripe rate limit and the page versions.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # RabbitMQ redelivers a task whose worker's connection dropped (no visibility timeout);
    # every task here ends well within its 30-minute consumer timeout (a chunk of charges
    # starts none after pledges.tasks.CHUNK_SECONDS, 10 minutes).
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
elif CELERY_BROKER_URL:
    # Longer than the longest countdown we schedule (retries go through the database, so an hour
    # is ample); shorter would redeliver a task still waiting for its ETA.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
    if env.str("CELERY_KEY_PREFIX", default=""):
        # Separate deployments (or test runs) sharing one Redis keep separate queues.
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env.str("CELERY_KEY_PREFIX")
else:
    CELERY_BROKER_URL = "filesystem://"
    (CELERY_BROKER_DIR / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(CELERY_BROKER_DIR / "control"),
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Three queues, each with its own workers (Procfile): `payments` (charges), `default`
# (settlement steps, beat sweeps, reconcilers) and `emails`, so a million receipts or batch
# announcements can never delay a charge, a freeze or a retry. Two of them have a priority lane
# their workers consume first (`-Q payments_priority,payments`, `-Q emails_priority,emails`):
# retries, and single emails a person waits for (a 3-D Secure or new-card link, a confirmation),
# never queue behind a big campaign's 40,000 first charges or its 50,000 receipts.
PAYMENTS_PRIORITY_QUEUE = "payments_priority"
EMAILS_PRIORITY_QUEUE = "emails_priority"
EMAIL_TASKS = (
    "supporters.tasks.send_milestone_batch",
    "supporters.tasks.send_reminder_batch",
    "pledges.tasks.send_pledge_emails",
    "outreach.tasks.send_update_batch",
    "actions.tasks.send_action_email_batch",
    "campaigns.tasks.send_deadline_extended_batch",
    "campaigns.tasks.send_deadline_extended_fan_out",
    "pledges.tasks.grace_remind",
)
# The chunks the reconciler and the grace sweep fan out that call Stripe: worked by the payments
# workers in parallel, beside the charges (pledges/services/sweeps.py).
PAYMENT_SWEEP_TASKS = (
    "pledges.tasks.reconcile_leases",
    "pledges.tasks.reconcile_attempts",
    "pledges.tasks.reconcile_action_checks",
    "pledges.tasks.reconcile_refunds",
    "pledges.tasks.reconcile_new_cards",
    "pledges.tasks.grace_expire",
)
CELERY_TASK_ROUTES = {
    "pledges.tasks.charge_*": {"queue": "payments"},
    **{name: {"queue": "payments"} for name in PAYMENT_SWEEP_TASKS},
    **{name: {"queue": "emails"} for name in EMAIL_TASKS},
    "supporters.tasks.send_email": {"queue": EMAILS_PRIORITY_QUEUE},
}
CELERY_BEAT_SCHEDULE = {
    "settle-due-campaigns": {
        "task": "pledges.tasks.settle_due_campaigns",
        "schedule": env.float("SETTLE_INTERVAL_SECONDS", default=60.0),
    },
    "reconcile-payments": {"task": "pledges.tasks.reconcile_payments", "schedule": 300.0},
    "expire-grace": {"task": "pledges.tasks.expire_grace", "schedule": 3600.0},
    "reconcile-card-setups": {"task": "pledges.tasks.reconcile_card_setups", "schedule": 300.0},
    "open-advocates-first": {"task": "actions.tasks.open_advocates_first", "schedule": 300.0},
    "send-event-reminders": {"task": "actions.tasks.send_event_reminders", "schedule": 300.0},
    "webhook-deliveries-due": {"task": "api.tasks.webhook_deliveries_due", "schedule": 60.0},
    "api-records-prune": {"task": "api.tasks.api_records_prune", "schedule": 86400.0},
    # Momentum to the deadline (supporters/reminders.py): both claim in the database first.
    "send-deadline-reminders": {
        "task": "supporters.tasks.send_deadline_reminders",
        "schedule": 900.0,
    },
    "warn-expiring-cards": {"task": "supporters.tasks.warn_expiring_cards", "schedule": 3600.0},
}

# --- Security ----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # SECURE_COOKIES=false only for the loopback smoke test and benchmarks (plain HTTP).
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_STRIPE_ORIGINS = sorted({_origin(STRIPE_JS_URL), _origin(STRIPE_API_BASE)})
if not PRODUCTION:
    # localstripe and the test proxies listen on whatever port is free.
    _STRIPE_ORIGINS += ["http://127.0.0.1:*", "http://localhost:*"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", *_STRIPE_ORIGINS],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *_STRIPE_ORIGINS],
        "connect-src": ["'self'", *_STRIPE_ORIGINS],
        "frame-src": ["'self'", *_STRIPE_ORIGINS],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # stripe-python logs two INFO lines per request: CPU in the payments worker on every
        # charge (issue 14), and each call is already counted and timed in /metrics.
        "stripe": {"level": env.str("STRIPE_LOG_LEVEL", default="WARNING")},
    },
}


# --- Organizers' API (OSDI) and outgoing webhooks (api/) ---------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ApiKeyScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": [
        "api.renderers.HalJsonRenderer",
        "rest_framework.renderers.JSONRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rallyround OSDI API",
    "DESCRIPTION": (
        "OSDI 1.1-shaped HAL+JSON for an organization's own data. Send the key in the "
        "`OSDI-API-Token` header (or `Authorization: Bearer …`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
}
# Requests per minute per key; 429 with Retry-After beyond it.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=120)
# API request logs and webhook deliveries are kept this many days (pending ones until done).
API_RECORDS_KEEP_DAYS = env.int("API_RECORDS_KEEP_DAYS", default=90)
# Webhook endpoints must be HTTPS in production; a POST waits this long for an answer.
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=PRODUCTION)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Endpoints on loopback or private addresses: refused unless DEBUG (a developer's machine) or
# asked for (tests with a loopback receiver set it); staging and production never call inward.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=DEBUG)

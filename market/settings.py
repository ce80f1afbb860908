"""Settings for the intermediary service marketplace.

Everything that differs between a laptop and production comes from the environment.
With no environment at all the site runs on SQLite, the database search backend,
in-process tasks and the console e-mail backend.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
# The development key is public (it is in this file): only DEBUG may run on it. With DEBUG off the
# site refuses to start on a missing, public or weak SECRET_KEY (sessions, password-reset links,
# invitations and signed URLs would be forgeable by anyone who reads this repository).
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
KNOWN_SECRET_KEYS = frozenset({DEVELOPMENT_SECRET_KEY, "change-me", "changeme", "secret", "dev"})


def production_secret_problem(key: str) -> str | None:
    """Why `key` may not sign a production site, or None."""
    if not key:
        return "SECRET_KEY is not set"
    if key in KNOWN_SECRET_KEYS or key.startswith("django-insecure-"):
        return "SECRET_KEY is a published development key"
    if len(key) < 50 or len(set(key)) < 5:
        return "SECRET_KEY is too weak (at least 50 characters, e.g. `openssl rand -hex 32`)"
    return None


SECRET_KEY = os.environ.get("SECRET_KEY", "") or (DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not DEBUG and (_problem := production_secret_problem(SECRET_KEY)):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"{_problem}: with DEBUG off the site does not start on it. Set SECRET_KEY in the "
                               "environment (`openssl rand -hex 32`), or DEBUG=1 on a development machine.")
DEVELOPMENT_ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", DEVELOPMENT_ALLOWED_HOSTS)
# Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated): the client
# address of throttles and the login lockout is read through them only (market/client_address.py).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "market",
    "market.search",
    "agencies",
    "bids",
    "credit",
    "supervision",
    "cms",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.routable_page",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_tasks",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "market.core.middleware.ContentSecurityPolicyMiddleware",
    # Refuses control characters, deep JSON and ids beyond any column with 400/404, before any view reads them;
    # after Locale (the message's language) and the header middleware (its 400 gets their headers).
    "market.core.input_guard.InputGuardMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "market.core.page_cache.PublicPageCacheMiddleware",  # innermost: the others treat cached responses too
]

ROOT_URLCONF = "market.urls"
WSGI_APPLICATION = "market.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "market.accounts.context_processors.site",
            ],
            "libraries": {
                # template tag libraries of the packages under market/ (not apps of their own)
                "contract_tags": "market.contracts.templatetags.contract_tags",
                "notification_tags": "market.notifications.templatetags.notification_tags",
                "once": "market.core.templatetags.once",
            },
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        # A persistent connection is checked before each request reuses it: a backend killed while idle
        # (a database restart, a failover, an idle timeout) costs a reconnect, not a failed request.
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "market.User"

# Every password check goes through the login lockout (market/lockout.py): the backend replaces ModelBackend.
AUTHENTICATION_BACKENDS = [
    "market.core.lockout.LockoutBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row
GUARDIAN_RAISE_403 = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "/"

# Internationalisation: Chinese first, English second.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
    # Private uploads (licences, certificates, deliverables) are never under MEDIA_URL:
    # they are streamed by views that check permissions.
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "private_media"))), "base_url": None},
    },
}
WHITENOISE_USE_FINDERS = True
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# E-mail: console by default.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@zjcs.gd.gov.cn")
if os.environ.get("EMAIL_HOST"):
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# Background tasks (Django's task framework, the django-tasks backport Wagtail uses).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend"),
    }
}

# Cache: local memory unless Redis is configured.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Search.
ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# Wagtail.
WAGTAIL_SITE_NAME = "广东省网上中介服务超市"
WAGTAILADMIN_BASE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "rtf", "txt", "xlsx", "zip"]
WAGTAILDOCS_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
WAGTAIL_I18N_ENABLED = False

# Django REST framework.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PAGINATION_CLASS": "market.api.pagination.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "market.core.errors.exception_handler",
    # Every call is throttled by client address (anonymous) or user; log-ins and sign-ups more tightly.
    # An empty rate turns that throttle off (`manage.py bench` does, to measure the code, not the limit).
    "DEFAULT_THROTTLE_CLASSES": ["market.api.throttling.AnonThrottle", "market.api.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_ANON_RATE", "600/min") or None,
        "user": os.environ.get("API_USER_RATE", "3000/min") or None,
        "login": os.environ.get("LOGIN_THROTTLE_RATE", "10/min") or None,
        "register": os.environ.get("REGISTER_THROTTLE_RATE", "10/hour") or None,
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "广东省网上中介服务超市 API",
    "DESCRIPTION": "Online intermediary service marketplace API v1",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["market.api.schema.only_public_api"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "market.api.schema.document_uri_too_long"],
    "ENUM_NAME_OVERRIDES": {
        "QuoteModeEnum": "market.requests.models.QuoteMode",
        "SelectionMethodEnum": "market.requests.models.SelectionMethod",
        "RequestStatusEnum": "market.requests.models.RequestStatus",
        "OrganizationKindEnum": "market.accounts.models.Organization.Kind",
        "AgencyStatusEnum": "agencies.models.AgencyStatus",
        "LicenceFileKindEnum": "agencies.models.LicenceFile.Kind",
        "BidStatusEnum": "bids.models.BidStatus",
        "ObjectionStatusEnum": "bids.models.ResultObjection.Status",
        "BreachStatusEnum": "credit.models.BreachStatus",
        "ContractStatusEnum": "market.contracts.models.ContractStatus",
    },
}

# Security (production values when DEBUG is off).
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "SAMEORIGIN"  # Wagtail's page preview frames the site itself
SILENCED_SYSTEM_CHECKS = ["security.W019"]
# Pages other than the Wagtail admin and the API docs get a strict CSP with no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'self'"
)

# Stripe.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
STRIPE_PAYMENT_METHOD_TYPES = env_list("STRIPE_PAYMENT_METHOD_TYPES", ["card"])
# Stripe's card form is a script Stripe serves; the platform loads no outside script by default (intranet).
# An internet-facing deployment may set it, and must then add Stripe's host to its content security policy.
STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "")

# Marketplace rules that deployments (and demos) may tune.
MARKET = {
    # Audit events are chained per stream (market/audit.py): more streams, fewer writers waiting on one head.
    "AUDIT_STREAMS": env_int("MARKET_AUDIT_STREAMS", 16),
    # The hot paths' hand-written statements are prepared on PostgreSQL (market/db.py); 0 behind a
    # connection pooler in transaction mode.
    "PREPARED_STATEMENTS": env_bool("DB_PREPARED_STATEMENTS", True),
    # Rendered public pages kept for anonymous visitors this many seconds (0: off); see market/page_cache.py.
    "PUBLIC_PAGE_CACHE_SECONDS": env_int("MARKET_PUBLIC_PAGE_CACHE_SECONDS", 0),
    # Minimum bidding window, publicity periods: shorten to seconds for demos and tests.
    "MIN_BIDDING_WINDOW_SECONDS": env_int("MARKET_MIN_BIDDING_WINDOW_SECONDS", 5 * 24 * 3600),
    "RESULT_PUBLICITY_WORKING_DAYS": env_int("MARKET_RESULT_PUBLICITY_WORKING_DAYS", 3),
    "RESULT_PUBLICITY_SECONDS": env_int("MARKET_RESULT_PUBLICITY_SECONDS", 0),
    "AGENCY_PUBLICITY_WORKING_DAYS": env_int("MARKET_AGENCY_PUBLICITY_WORKING_DAYS", 5),
    "AGENCY_PUBLICITY_SECONDS": env_int("MARKET_AGENCY_PUBLICITY_SECONDS", 0),
    "QUALIFICATION_WARNING_DAYS": env_int("MARKET_QUALIFICATION_WARNING_DAYS", 30),
    # Contracts: the working days both sides have to sign a drafted contract, the owner has to review
    # a delivery (then it counts as accepted) and a contract may overrun its due date before the overrun
    # is recorded as a breach; a non-zero *_SECONDS overrides the working days (demos and tests).
    "CONTRACT_CONFIRM_DAYS": env_int("MARKET_CONTRACT_CONFIRM_DAYS", 5),
    "CONTRACT_CONFIRM_SECONDS": env_int("MARKET_CONTRACT_CONFIRM_SECONDS", 0),
    "DELIVERY_REVIEW_WORKING_DAYS": env_int("MARKET_DELIVERY_REVIEW_WORKING_DAYS", 7),
    "DELIVERY_REVIEW_SECONDS": env_int("MARKET_DELIVERY_REVIEW_SECONDS", 0),
    "OVERRUN_BREACH_WORKING_DAYS": env_int("MARKET_OVERRUN_BREACH_WORKING_DAYS", 10),
    "OVERRUN_BREACH_SECONDS": env_int("MARKET_OVERRUN_BREACH_SECONDS", 0),
    # New contracts hold the payment and capture it at acceptance (the owner may change it before signing).
    "CONTRACT_PAY_ON_ACCEPTANCE": env_bool("MARKET_CONTRACT_PAY_ON_ACCEPTANCE", True),
    "OCDS_PREFIX": os.environ.get("OCDS_PREFIX", "ocds-gdzjcs"),
}
CREDIT = {
    "APPEAL_DAYS": env_int("CREDIT_APPEAL_DAYS", 15),
    "REPAIR_AFTER_DAYS": env_int("CREDIT_REPAIR_AFTER_DAYS", 90),
    # score = WEIGHT_BREACHES × (100 − points in force) + WEIGHT_EVALUATIONS × (evaluation average on 0–100)
    "WEIGHT_BREACHES": 0.7,
    "WEIGHT_EVALUATIONS": 0.3,
}
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
SESSION_COOKIE_AGE = int(timedelta(hours=12).total_seconds())

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

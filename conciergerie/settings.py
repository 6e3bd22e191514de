"""Conciergerie settings: one module, every value from the environment.

Production differs from development only by environment values; `.env.example`
lists every name this module reads.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A development convenience: real environment variables win over the file.
ENV_FILE = Path(env("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it in the environment (or in .env for "
            "development), or set DJANGO_DEBUG=true to use a development key."
        )
    SECRET_KEY = "development-only-key-never-use-in-production-0123456789abcdef"  # noqa: S105

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = [
    origin for origin in env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[]) if origin
]
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "conciergerie.apps.ConciergerieAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.postgres",
    "django.contrib.humanize",
    # third parties
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_celery_beat",
    "simple_history",
    "phonenumber_field",
    "csp",
    "axes",
    # the shared kernel, then the apps, bottom to top
    "conciergerie",
    "conciergerie.accounts",
    "conciergerie.notifications",
    "conciergerie.audit",
    "conciergerie.partners",
    "conciergerie.portal",
    "conciergerie.procedures",
    "patients",
    "specialists",
    "appointments",
    "teleconsult",
    "billing",
    "reimbursements",
    "conciergerie.reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "conciergerie.accounts.middleware.SessionTimeoutMiddleware",
    "conciergerie.portal.middleware.SessionRecordMiddleware",
    # After authentication: an Idempotency-Key belongs to the caller.
    "conciergerie.partners.idempotency.IdempotencyMiddleware",
    # JSON (not HTML) 404s for API addresses that match no route.
    "conciergerie.partners.middleware.ApiErrorShapeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: it turns lock-outs into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "conciergerie.urls"
WSGI_APPLICATION = "conciergerie.wsgi.application"
ASGI_APPLICATION = "conciergerie.asgi.application"
SITE_ID = 1

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
                "conciergerie.context_processors.service",
                "conciergerie.portal.context_processors.viewing_file",
            ],
        },
    },
]

# --- Data stores -----------------------------------------------------------------
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default="postgres://postgres:postgres@127.0.0.1:5432/conciergerie",
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        "DATABASE_URL must point to PostgreSQL: exclusion constraints, full-text "
        "search and row locks depend on it."
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
# A restarted PostgreSQL must not leave dead persistent connections behind.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        # django-redis, answering from process memory while Redis is away.
        "BACKEND": "conciergerie.cache.FailoverRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {
            # The cache only speeds things up and throttles: a Redis outage must
            # degrade it, never take the portal or the admin down with it.
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# Sessions live in PostgreSQL so that the web tier stays stateless and keeps
# working while Redis is away.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Accounts and authentication ------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "conciergerie.accounts.security.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Conciergerie] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_ADAPTER = "conciergerie.accounts.adapters.AccountAdapter"
ACCOUNT_SESSION_REMEMBER = False
# Per-account lock-outs are django-axes' job (below); allauth keeps a burst limit
# per address only, so that nobody can block a patient's account from elsewhere.
ACCOUNT_RATE_LIMITS = {"login_failed": "30/m/ip"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Conciergerie"

OTP_TOTP_ISSUER = "Conciergerie (back-office)"

# Login throttling: at most 10 failures per (account, address), lifted after 15
# minutes; never a permanent lock-out.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "conciergerie.accounts.security.login_identifier"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "account/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_VERBOSE = False

# Session lifetimes: staff handle many patients' files, so they are signed out
# sooner than patients (idle and absolute limits, enforced per request).
STAFF_SESSION_IDLE_SECONDS = env.int("STAFF_SESSION_IDLE_SECONDS", default=15 * 60)
STAFF_SESSION_MAX_SECONDS = env.int("STAFF_SESSION_MAX_SECONDS", default=12 * 3600)
PATIENT_SESSION_IDLE_SECONDS = env.int("PATIENT_SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_COOKIE_AGE = PATIENT_SESSION_IDLE_SECONDS

ADMIN_URL = env("DJANGO_ADMIN_URL", default="admin/").strip("/") + "/"

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = "FR"

# --- Static and uploaded files ----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded documents are encrypted and served only by authorising views: there is
# deliberately no MEDIA_URL route.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default="") or BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024

# --- Health data ------------------------------------------------------------------
# Fernet keys, newest first; older keys stay readable until `rotate_encryption_keys`
# has re-encrypted every row with the first one.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is not set: health data cannot be encrypted. "
            'Generate one with `python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"`.'
        )
    # Development only: a fixed key so that demo data survives restarts.
    FIELD_ENCRYPTION_KEYS = ["ZGV2ZWxvcG1lbnQta2V5LW5vdC1wcm9kdWN0aW9uISE="]
# The privacy notice patients consent to; a new version is shown to them again.
PRIVACY_NOTICE_VERSION = env("PRIVACY_NOTICE_VERSION", default="2026-01")
# Medical records are kept this long after the last activity, then purged.
MEDICAL_RECORD_RETENTION_YEARS = env.int("MEDICAL_RECORD_RETENTION_YEARS", default=20)
# Largest medical document accepted, in bytes.
DOCUMENT_MAX_UPLOAD_BYTES = env.int("DOCUMENT_MAX_UPLOAD_BYTES", default=20 * 1024**2)
# How long a "break the glass" access to a file outside one's assignment lasts.
BREAK_GLASS_MINUTES = env.int("BREAK_GLASS_MINUTES", default=240)

# --- Email and SMS ----------------------------------------------------------------
vars().update(env.email("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env(
    "DJANGO_DEFAULT_FROM_EMAIL", default="Conciergerie <bonjour@conciergerie.local>"
)
SERVER_EMAIL = env("DJANGO_SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
SMS_BACKEND = env(
    "SMS_BACKEND", default="conciergerie.notifications.backends.ConsoleSmsBackend"
)
SMS_SENDER = env("SMS_SENDER", default="CONCIERGE")
SMS_HTTP_URL = env("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", default="")
SMS_FILE_PATH = env("SMS_FILE_PATH", default="") or str(BASE_DIR / "var" / "sms")
# Longest SMS accepted, in segments (a reminder with its links fits in two).
NOTIFICATIONS_SMS_MAX_SEGMENTS = env.int("NOTIFICATIONS_SMS_MAX_SEGMENTS", default=2)
# Shared secret signing the SMS provider's delivery reports (HMAC-SHA256).
SMS_CALLBACK_SECRET = env("SMS_CALLBACK_SECRET", default="")

# --- Outbox (conciergerie.notifications; see docs/notifications.md) -------------
# Attempts before a transiently failing message is given up and shown as failed.
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=5)
# Backoff: base x 2^(attempt-1) seconds, capped, plus up to 25% jitter.
NOTIFICATIONS_RETRY_BASE_SECONDS = env.int(
    "NOTIFICATIONS_RETRY_BASE_SECONDS", default=60
)
NOTIFICATIONS_RETRY_MAX_SECONDS = env.int(
    "NOTIFICATIONS_RETRY_MAX_SECONDS", default=6 * 3600
)
# A row `sending` for longer than this belongs to a dead worker and is sent again
# (same idempotency key); keep it above the send task's time limit (90 s).
NOTIFICATIONS_CLAIM_TIMEOUT = env.int("NOTIFICATIONS_CLAIM_TIMEOUT", default=180)
# A row `queued` for longer than this lost its task (Redis restarted): re-enqueued.
NOTIFICATIONS_QUEUE_TIMEOUT = env.int("NOTIFICATIONS_QUEUE_TIMEOUT", default=600)
# Rows enqueued per transaction by the sweep, and how often the sweep runs.
NOTIFICATIONS_SWEEP_BATCH = env.int("NOTIFICATIONS_SWEEP_BATCH", default=500)
NOTIFICATIONS_SWEEP_SECONDS = env.int("NOTIFICATIONS_SWEEP_SECONDS", default=30)
# Most outbox tasks waiting in the broker at once: a big backlog stays in
# PostgreSQL and is fed to the workers sweep after sweep.
NOTIFICATIONS_MAX_QUEUED = env.int("NOTIFICATIONS_MAX_QUEUED", default=10000)

# --- The service's identity (invoices, emails, emergency banner) -----------------
SERVICE_NAME = env("SERVICE_NAME", default="Conciergerie")
SERVICE_PHONE = env("SERVICE_PHONE", default="+33 1 00 00 00 00")
SERVICE_EMAIL = env("SERVICE_EMAIL", default="bonjour@conciergerie.local")
# The concierge on duty: urgent alerts (emergencies, technical help) go there.
ON_DUTY_EMAIL = env("ON_DUTY_EMAIL", default="") or SERVICE_EMAIL

# --- The seller on invoices (French mandatory mentions, Factur-X) ----------------
SELLER_LEGAL_NAME = env("SELLER_LEGAL_NAME", default="Conciergerie Médicale SAS")
SELLER_LEGAL_FORM = env("SELLER_LEGAL_FORM", default="SAS au capital de 10 000 €")
SELLER_ADDRESS = env("SELLER_ADDRESS", default="12 rue de la Santé")
SELLER_POSTAL_CODE = env("SELLER_POSTAL_CODE", default="75013")
SELLER_CITY = env("SELLER_CITY", default="Paris")
SELLER_COUNTRY = env("SELLER_COUNTRY", default="FR")
SELLER_SIRET = env("SELLER_SIRET", default="90123456700013")
SELLER_VAT_NUMBER = env("SELLER_VAT_NUMBER", default="FR15901234567")
SELLER_RCS = env("SELLER_RCS", default="RCS Paris 901 234 567")
SELLER_IBAN = env("SELLER_IBAN", default="")
SELLER_BIC = env("SELLER_BIC", default="")
# Days between issue and due date (at most 60 days between businesses).
INVOICE_PAYMENT_TERMS_DAYS = env.int("INVOICE_PAYMENT_TERMS_DAYS", default=30)
# Late-payment penalty rate, in percent a year (at least three times the legal
# interest rate; business practice quotes the ECB rate plus 10 points). Amounts
# stay strings here: billing reads them as Decimal, never as floats.
INVOICE_LATE_PENALTY_RATE = env("INVOICE_LATE_PENALTY_RATE", default="12.15")
# Fixed recovery indemnity owed by business customers paying late (Code de
# commerce, art. D441-5).
INVOICE_RECOVERY_INDEMNITY = env("INVOICE_RECOVERY_INDEMNITY", default="40.00")
# Overdue reminders, in days after the due date; each stage is sent once.
INVOICE_REMINDER_DAYS = env.list("INVOICE_REMINDER_DAYS", cast=int, default=[1, 15, 30])
QUOTE_VALIDITY_DAYS = env.int("QUOTE_VALIDITY_DAYS", default=30)

# --- API --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # OAuth2 first, so that a missing token answers 401 with WWW-Authenticate.
        "conciergerie.api.PartnerOAuth2Authentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "conciergerie.api.HasRequiredScopes",
    ],
    "DEFAULT_PAGINATION_CLASS": "conciergerie.api.CreatedCursorPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "conciergerie.partners.throttling.PartnerRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/min"),
        "user": env("API_THROTTLE_USER", default="1200/min"),
    },
    "EXCEPTION_HANDLER": "conciergerie.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "conciergerie.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Scope descriptions are shown to partners' developers, in English.
API_SCOPES = {
    "profile": "Read the identity of the calling partner",
    "patients:read": "Read the patients the partner referred or may see",
    "patients:write": "Refer patients",
    "care-requests:read": "Read care requests",
    "care-requests:write": "Create referrals and update care requests",
    "specialists:read": "Search the specialist directory and availability",
    "appointments:read": "Read appointments",
    "appointments:write": "Book, cancel and reschedule appointments",
    "documents:write": "Upload results and documents",
    "invoices:read": "Read invoices",
    "claims:read": "Read reimbursement claims",
    "claims:write": "Update reimbursement claims",
    "webhooks": "Manage webhook subscriptions",
}
# Named so that other apps' foreign keys to it migrate (django-oauth-toolkit's way).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "SCOPES": API_SCOPES,
    # Each partner application may ask for its allowed scopes only; revoked
    # applications cannot authenticate (conciergerie.partners.oauth).
    "SCOPES_BACKEND_CLASS": "conciergerie.partners.oauth.PartnerScopes",
    "OAUTH2_VALIDATOR_CLASS": "conciergerie.partners.oauth.PartnerOAuth2Validator",
    "DEFAULT_SCOPES": ["profile"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_TOKEN_SECONDS", default=3600),
    "PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ALLOW_URI_WILDCARDS": False,
    # RFC 9700 (OAuth 2.0 Security BCP) behaviour, ahead of the library's defaults:
    # no implicit or password grants, tokens hashed at rest, header transport only.
    **{
        f"COMPLIANT_BCP_RFC9700_{gate}": True
        for gate in (
            "IMPLICIT_GRANT",
            "PASSWORD_GRANT",
            "PKCE_METHOD",
            "ACCESS_TOKEN_TRANSPORT",
            "AUTHZ_RESPONSE_ISS",
            "TOKEN_STORAGE",
            "REFRESH_TOKEN",
            "REDIRECT_URI_SCHEME",
            "REDIRECT_URI_MATCHING",
            "PKCE_REQUIRED",
        )
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Conciergerie API",
    "DESCRIPTION": (
        "Partner API of the Conciergerie medical concierge service. Partners "
        "(clinics, laboratories, insurers) authenticate with OAuth2 client "
        "credentials at /o/token/ and call /api/v1/ with a Bearer token."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "OAUTH2_FLOWS": ["clientCredentials"],
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_SCOPES": API_SCOPES,
    # Several models have a "kind": each API enum keeps its own, stable name.
    "ENUM_NAME_OVERRIDES": {
        "CareRequestKindEnum": "patients.models.CareRequest.Kind",
        "DocumentKindEnum": "patients.models.Document.Kind",
        "ConsultationKindEnum": "specialists.models.ConsultationType.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "conciergerie.partners.schema.add_kernel_behaviour",
    ],
}

# --- Partners (conciergerie.partners; see docs/api.md) ---------------------------
# Requests per period shared by all the applications of one partner organisation
# (an organisation may have its own rate in the back-office).
API_THROTTLE_PARTNER = env("API_THROTTLE_PARTNER", default="600/min")
# POSTs carrying an Idempotency-Key under this prefix keep their first response
# this many hours; a claim older than the lock timeout belongs to a dead request.
IDEMPOTENCY_PATH_PREFIX = "/api/v1/"
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
IDEMPOTENCY_LOCK_SECONDS = env.int("IDEMPOTENCY_LOCK_SECONDS", default=300)
# Webhook retries: 16 attempts, from 1 minute doubling up to 10 hours apart,
# span about three days (plus up to 25% jitter) before a delivery fails.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=16)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=60)
WEBHOOK_RETRY_MAX_SECONDS = env.int("WEBHOOK_RETRY_MAX_SECONDS", default=10 * 3600)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.int("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=5)
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=15)
# A subscription is disabled (and its technical contact emailed) when a delivery
# failed every attempt and nothing succeeded for this long, or after this many
# deliveries in a row failed for good.
WEBHOOK_DISABLE_AFTER_HOURS = env.int("WEBHOOK_DISABLE_AFTER_HOURS", default=72)
WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES = env.int(
    "WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES", default=3
)
# After a secret rotation the old secret also signs for this long.
WEBHOOK_SECRET_OVERLAP_HOURS = env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24)
# Development only: plain http:// endpoints, and endpoints on private networks
# (a partner URL must never reach the service's own network in production).
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=not DEBUG)
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool(
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=DEBUG
)

# --- Background work --------------------------------------------------------------
# Empty values in .env mean "not set", like absent ones.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or REDIS_URL
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="") or REDIS_URL
CELERY_RESULT_EXPIRES = timedelta(hours=1)
# No caller waits for a task's return value (the database holds the outcome), and a
# stored result would make every publish subscribe to the result store first: with
# Redis away, that blocks the request for its reconnection retries, then raises.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One queue per kind of work, so that a burst of PDFs or a slow partner endpoint
# never delays a reminder SMS, and each kind scales with its own workers
# (`celery worker -Q notifications`). Tasks not listed go to the default queue.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "conciergerie.notifications.tasks.*": {"queue": "notifications"},
    "patients.tasks.notify_erasure_request": {"queue": "notifications"},
    "patients.tasks.send_erasure_outcome": {"queue": "notifications"},
    "teleconsult.tasks.alert_on_duty_concierge": {"queue": "notifications"},
    "reimbursements.tasks.*": {"queue": "reminders"},
    "appointments.tasks.chase_missing_reports": {"queue": "reminders"},
    "billing.tasks.process_overdue_invoices": {"queue": "reminders"},
    "patients.tasks.alert_sla_breaches": {"queue": "reminders"},
    "billing.tasks.send_invoice_email": {"queue": "pdf"},
    "billing.tasks.send_credit_note_email": {"queue": "pdf"},
    "patients.tasks.announce_care_request_event": {"queue": "webhooks"},
    "patients.tasks.announce_pending_care_request_events": {"queue": "webhooks"},
}
# Administrative procedures (reimbursements): their owner is emailed this many
# days before the deadline, and again once it is passed.
PROCEDURE_REMINDER_DAYS = env.int("PROCEDURE_REMINDER_DAYS", default=2)
# Reimbursement claims: a payer without an answer this many days after the claim
# was sent (or acknowledged, or appealed) is chased, per payer ("amo" Assurance
# Maladie, "amc" mutuelle), and again after each such period, at most N times.
REIMBURSEMENT_CHASE_DAYS = {
    payer: int(days)
    for payer, days in env.dict(
        "REIMBURSEMENT_CHASE_DAYS", default={"amo": 15, "amc": 10}
    ).items()
}
REIMBURSEMENT_CHASE_MAX_STAGES = env.int("REIMBURSEMENT_CHASE_MAX_STAGES", default=3)
# Days the concierge has to act on a follow-up task (a chase, a proof to check).
REIMBURSEMENT_FOLLOW_UP_DAYS = env.int("REIMBURSEMENT_FOLLOW_UP_DAYS", default=3)
# Euros a payer may pay short of what was expected without a discrepancy being
# flagged (rounding); a string, read as Decimal.
REIMBURSEMENT_DISCREPANCY_TOLERANCE = env(
    "REIMBURSEMENT_DISCREPANCY_TOLERANCE", default="0.50"
)
# Days the link to a claim's documents, emailed to the payer, stays valid.
REIMBURSEMENT_PAYER_LINK_DAYS = env.int("REIMBURSEMENT_PAYER_LINK_DAYS", default=60)
# Every periodic task of the project, in one place.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "notifications-sweep-outbox": {
        "task": "conciergerie.notifications.tasks.sweep_outbox",
        "schedule": timedelta(seconds=NOTIFICATIONS_SWEEP_SECONDS),
    },
    "notifications-republish-parked-tasks": {
        "task": "conciergerie.notifications.tasks.republish_parked_tasks",
        "schedule": timedelta(minutes=1),
    },
    "clear-expired-sessions": {
        "task": "conciergerie.tasks.clear_expired_sessions",
        "schedule": crontab(minute=17, hour=3),
    },
    "patients-purge-expired-medical-records": {
        "task": "patients.tasks.purge_expired_medical_records",
        "schedule": crontab(minute=40, hour=3),
    },
    "billing-process-overdue-invoices": {
        "task": "billing.tasks.process_overdue_invoices",
        "schedule": crontab(minute=5, hour=8),
    },
    "reimbursements-remind-procedure-deadlines": {
        "task": "reimbursements.tasks.remind_procedure_deadlines",
        "schedule": crontab(minute=30, hour=7),
    },
    "reimbursements-chase-unanswered-claims": {
        "task": "reimbursements.tasks.chase_unanswered_claims",
        "schedule": crontab(minute=45, hour=8, day_of_week="mon-fri"),
    },
    "partners-purge-idempotency-keys": {
        "task": "conciergerie.partners.tasks.purge_idempotency_keys",
        "schedule": crontab(minute=25),
    },
    "specialists-refresh-availability": {
        "task": "specialists.tasks.refresh_availability",
        "schedule": timedelta(minutes=15),
    },
    "patients-alert-sla-breaches": {
        "task": "patients.tasks.alert_sla_breaches",
        "schedule": timedelta(minutes=5),
    },
    "patients-announce-pending-care-request-events": {
        "task": "patients.tasks.announce_pending_care_request_events",
        "schedule": timedelta(minutes=2),
    },
    "appointments-expire-holds": {
        "task": "appointments.tasks.expire_stale_holds",
        "schedule": timedelta(minutes=1),
    },
    "appointments-close-waitlists": {
        "task": "appointments.tasks.close_stale_waitlist",
        "schedule": crontab(minute=50, hour=3),
    },
    "appointments-chase-missing-reports": {
        "task": "appointments.tasks.chase_missing_reports",
        "schedule": crontab(minute=15, hour=9),
    },
    "reporting-send-monthly-report": {
        "task": "conciergerie.reporting.tasks.send_monthly_report",
        "schedule": crontab(minute=0, hour=7, day_of_month=1),
    },
}

# --- Care requests (patients.CareRequest; see docs/care-requests.md) -------------
# Departments the service covers (postal-code departments: 75, 2A, 971…); a request
# outside them is flagged at qualification. Empty: everywhere.
SERVICE_AREA_DEPARTMENTS = env.list("SERVICE_AREA_DEPARTMENTS", default=[])
# Service-level targets in minutes from the moment a request arrives, per clock and
# urgency: first answer to the patient, qualification by a medical adviser, and a
# booked appointment. A missed target is alerted once (beat, every 5 minutes).
CARE_REQUEST_SLA_MINUTES = {
    "first_response": {"emergency": 15, "urgent": 120, "soon": 480, "routine": 1440},
    "qualification": {"emergency": 60, "urgent": 240, "soon": 1440, "routine": 2880},
    "appointment": {
        "emergency": 1440,
        "urgent": 2880,
        "soon": 14 * 1440,
        "routine": 30 * 1440,
    },
}
# The call back after an emergency is due this many hours after it was raised.
CARE_REQUEST_POST_EMERGENCY_FOLLOW_UP_HOURS = env.int(
    "CARE_REQUEST_POST_EMERGENCY_FOLLOW_UP_HOURS", default=24
)
# An event whose side effects have not run after this long lost its task: the
# beat sweep runs them.
CARE_REQUEST_ANNOUNCE_GRACE_SECONDS = 120

# --- Specialist directory -------------------------------------------------------
# Busy intervals (appointments and holds) taken out of opening hours: a function
# called with (practitioner ids, start, end) that answers, in one query,
# {practitioner id: [(start, end), ...]}. The appointments app points it at its own.
SPECIALISTS_BUSY_INTERVALS = "appointments.availability.busy_intervals"
# The booking notice of a consultation kind (a timedelta): the directory offers
# no slot inside it. The appointments app answers from APPOINTMENT_NOTICE_RULES.
SPECIALISTS_BOOKING_NOTICE = "appointments.rules.booking_notice"
# How long a practitioner's free slots are served from the cache (any change to
# their schedule or bookings refreshes them at once); 0 computes every time.
SPECIALISTS_SLOTS_CACHE_SECONDS = env.int("SPECIALISTS_SLOTS_CACHE_SECONDS", default=60)
# How long an API search page is served from the cache (editing the directory
# refreshes every page at once; next-available dates may lag that long); 0
# searches every time.
SPECIALISTS_SEARCH_CACHE_SECONDS = env.int(
    "SPECIALISTS_SEARCH_CACHE_SECONDS", default=60
)
# Weights of the matching score's criteria (see specialists.matching).
SPECIALISTS_MATCH_WEIGHTS = {
    "specialty": 4.0,
    "distance": 3.0,
    "availability": 3.0,
    "rating": 2.0,
    "language": 2.0,
    "gender": 1.0,
    "fees": 2.0,
    "experience": 2.0,
}
# Called as f(shortlist=, by=) in the transaction that proposes a shortlist: the
# care-request app moves the request to "proposed" there. Empty: nothing is called.
SPECIALISTS_SHORTLIST_PUBLISHED = (
    "patients.services.care_requests.on_shortlist_published"
)
# URL name (taking `public_id`) of the booking page a portal slot links to.
SPECIALISTS_SLOT_BOOKING_URL = "appointments:book"

# --- Appointments (see appointments/README.md) ------------------------------------
# Minutes a slot picked by a patient stays held while they confirm it.
APPOINTMENT_HOLD_MINUTES = env.int("APPOINTMENT_HOLD_MINUTES", default=10)
# Reminders before an appointment, in hours (a booking made later than an offset
# gets its confirmation only). Doctolib's practice: the day before.
APPOINTMENT_REMINDER_OFFSETS = env.list(
    "APPOINTMENT_REMINDER_OFFSETS", cast=int, default=[24]
)
# Quiet hours of patients who set none: no message from 21:00 to 08:00 (Paris).
APPOINTMENT_DEFAULT_QUIET_HOURS = env.list(
    "APPOINTMENT_DEFAULT_QUIET_HOURS", default=["21:00", "08:00"]
)
# Notice rules per consultation type, in minutes: booking needs `book` minutes of
# notice; cancelling or moving later than `cancel` / `reschedule` minutes before
# the start is recorded as late (and patients can no longer move online).
APPOINTMENT_NOTICE_RULES = {
    "default": {
        "book": env.int("APPOINTMENT_BOOK_NOTICE_MINUTES", default=60),
        "cancel": env.int("APPOINTMENT_CANCEL_NOTICE_MINUTES", default=24 * 60),
        "reschedule": env.int("APPOINTMENT_RESCHEDULE_NOTICE_MINUTES", default=24 * 60),
    },
    "first_visit": {"cancel": 48 * 60, "reschedule": 48 * 60},
    "teleconsultation": {"book": 15, "cancel": 4 * 60, "reschedule": 4 * 60},
}
# Missed appointments within the window that flag the patient's file.
APPOINTMENT_NO_SHOW_THRESHOLD = env.int("APPOINTMENT_NO_SHOW_THRESHOLD", default=2)
APPOINTMENT_NO_SHOW_WINDOW_DAYS = env.int(
    "APPOINTMENT_NO_SHOW_WINDOW_DAYS", default=365
)
# Days a proposal of slots stays open; a freed slot is offered to this many
# waitlisted patients at once, for this many minutes (first to accept wins).
APPOINTMENT_PROPOSAL_DAYS = env.int("APPOINTMENT_PROPOSAL_DAYS", default=3)
APPOINTMENT_WAITLIST_OFFER_BATCH = env.int(
    "APPOINTMENT_WAITLIST_OFFER_BATCH", default=5
)
APPOINTMENT_WAITLIST_OFFER_MINUTES = env.int(
    "APPOINTMENT_WAITLIST_OFFER_MINUTES", default=120
)
# Days after the visit the practitioner's pre-consultation link stays valid; days
# the report upload link and a pharmacy's prescription link stay valid; days
# between reminders to a practitioner whose report is missing (at most 3).
APPOINTMENT_PRECONSULTATION_DAYS = env.int(
    "APPOINTMENT_PRECONSULTATION_DAYS", default=2
)
APPOINTMENT_REPORT_LINK_DAYS = env.int("APPOINTMENT_REPORT_LINK_DAYS", default=30)
APPOINTMENT_REPORT_CHASE_DAYS = env.int("APPOINTMENT_REPORT_CHASE_DAYS", default=7)
APPOINTMENT_PRESCRIPTION_LINK_DAYS = env.int(
    "APPOINTMENT_PRESCRIPTION_LINK_DAYS", default=7
)
# Satisfaction surveys: hours after the visit the invitation goes out, days its
# link works, and the scores at or under which a manager calls the patient back
# (satisfaction 1-5, likelihood to recommend 0-10).
SURVEY_DELAY_HOURS = env.int("SURVEY_DELAY_HOURS", default=24)
SURVEY_LINK_DAYS = env.int("SURVEY_LINK_DAYS", default=30)
SURVEY_LOW_SATISFACTION = env.int("SURVEY_LOW_SATISFACTION", default=2)
SURVEY_LOW_RECOMMEND = env.int("SURVEY_LOW_RECOMMEND", default=6)

# --- Security ---------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe over plain HTTP inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

# Teleconsultation video: a self-hosted Jitsi Meet with JWT authentication.
VIDEO_PROVIDER = env("VIDEO_PROVIDER", default="teleconsult.video.JitsiProvider")
VIDEO_DOMAIN = env("VIDEO_DOMAIN", default="meet.conciergerie.local")
VIDEO_JWT_APP_ID = env("VIDEO_JWT_APP_ID", default="conciergerie")
VIDEO_JWT_SECRET = env("VIDEO_JWT_SECRET", default="") or SECRET_KEY
# Where the video server answers a health probe (its home page by default).
VIDEO_HEALTH_URL = env("VIDEO_HEALTH_URL", default="") or f"https://{VIDEO_DOMAIN}/"
VIDEO_JOIN_OPENS_MINUTES = env.int("VIDEO_JOIN_OPENS_MINUTES", default=15)
VIDEO_JOIN_CLOSES_MINUTES = env.int("VIDEO_JOIN_CLOSES_MINUTES", default=30)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # Jitsi's iframe API script comes from the video server itself.
        "script-src": [SELF, f"https://{VIDEO_DOMAIN}"],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF, f"https://{VIDEO_DOMAIN}"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django_redis": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        # PDF libraries narrate every step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "factur-x": {"level": "WARNING"},
    },
}

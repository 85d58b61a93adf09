"""Settings for Bonding: one module, every deployment value read from the environment.

Development needs nothing set: SQLite, Celery's filesystem broker and mail written to files,
all under var/. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL,
CELERY_BROKER_URL and EMAIL_URL; README.md lists every variable.
"""

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)


def _key_from_file(path: Path) -> str:
    """The key kept in `path`, written there once (readable by this user only) if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: when web, worker and beat start together, one writes and the others read.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(50))
    for _attempt in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.1)  # another process created the file and is writing the key
    raise ImproperlyConfigured(f"SECRET_KEY_FILE {path} is empty.")


SECRET_KEY = env.str("SECRET_KEY", default="")
# `make run` names a file under var/: a key made once and kept across restarts, so sessions
# survive them, without anyone having to invent one for a local run.
if not SECRET_KEY and env.str("SECRET_KEY_FILE", default=""):
    SECRET_KEY = _key_from_file(Path(env.str("SECRET_KEY_FILE")))
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (or SECRET_KEY_FILE, a file to keep one in)."
        )
    # A fixed key is fine for a development machine and nowhere else.
    SECRET_KEY = "development-only-secret-key-never-use-in-production-0123456789"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
ORGANIZATION_NAME = env.str("ORGANIZATION_NAME", default="Bonding")
# Phone numbers written without a country code are read as numbers of this region.
PHONE_REGION = env.str("PHONE_REGION", default="US")
# After an account manager sets a tier by hand, the ladder rules leave it alone this long.
MANUAL_TIER_HOLD_DAYS = env.int("MANUAL_TIER_HOLD_DAYS", default=90)
# The ladder: purchases, spend and converted referrals count over this many days up to today; a
# rung reached is kept until a review this many days later; a customer who no longer qualifies
# at review is at risk of dropping (one rung) for the grace days.
LADDER_WINDOW_DAYS = env.int("LADDER_WINDOW_DAYS", default=365)
LADDER_REVIEW_DAYS = env.int("LADDER_REVIEW_DAYS", default=365)
LADDER_GRACE_DAYS = env.int("LADDER_GRACE_DAYS", default=60)
# A repeat buyer who has been a customer (since their first purchase) this many months is a
# client too, whatever they spent; 0 leaves the client rung to purchases, spend and contracts.
LADDER_CLIENT_MIN_TENURE_MONTHS = env.int("LADDER_CLIENT_MIN_TENURE_MONTHS", default=0)
# Programs: when touches may go out and how often, in each customer's own time zone.
SEND_WINDOW_START = env.str("SEND_WINDOW_START", default="09:00")
SEND_WINDOW_END = env.str("SEND_WINDOW_END", default="19:00")
FREQUENCY_CAP_TOUCHES = env.int("FREQUENCY_CAP_TOUCHES", default=2)
FREQUENCY_CAP_DAYS = env.int("FREQUENCY_CAP_DAYS", default=7)
# The organization-wide control group (percent of customers, 0-50; typical 5): they get no
# program touches at all, so all programs together can be measured against them. The salt
# fixes who is in it; changing the share moves only those between the old and the new share.
GLOBAL_CONTROL_SHARE = env.int("GLOBAL_CONTROL_SHARE", default=0)
if not 0 <= GLOBAL_CONTROL_SHARE <= 50:
    raise ImproperlyConfigured("GLOBAL_CONTROL_SHARE is a percent from 0 to 50.")
GLOBAL_CONTROL_SALT = env.str("GLOBAL_CONTROL_SALT", default="bonding-global-control")
# An A/B test names a winner only once every variant has this many sends (Klaviyo asks 500).
AB_TEST_MINIMUM_SENDS = env.int("AB_TEST_MINIMUM_SENDS", default=400)
# How long one of beat's lift rounds (every 10 minutes) may compute before leaving the rest of
# the programs, oldest figures first, to the next round.
LIFT_TALLY_BUDGET_SECONDS = env.float("LIFT_TALLY_BUDGET_SECONDS", default=300.0)
# A claimed or sending touch whose lease runs out is taken back (claimed) or reviewed (sending).
TOUCH_LEASE_SECONDS = env.int("TOUCH_LEASE_SECONDS", default=600)
# An event invitation run unfinished and not advanced for this long lost its worker: it is resumed.
INVITE_RUN_LEASE_SECONDS = env.int("INVITE_RUN_LEASE_SECONDS", default=300)
TOUCH_MAX_ATTEMPTS = env.int("TOUCH_MAX_ATTEMPTS", default=6)
TOUCH_RETRY_BASE_SECONDS = env.int("TOUCH_RETRY_BASE_SECONDS", default=60)
DISPATCH_BATCH_SIZE = env.int("DISPATCH_BATCH_SIZE", default=1000)
# Touches per delivery task, sent over one SMTP connection. 100 won bench/programs.py on 2 cores
# with two workers at Celery's default concurrency (one process per core): the batch's reads and
# writes are shared by more touches, and a task still lasts under a second, so workers stay busy.
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=100)
# Outbound webhooks: a delivery's lease, its POST's timeout, how long it is retried and when an
# endpoint that only fails is disabled (at least 3 and 5 days, as subscribers are promised).
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=120)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_RETRY_FOR_SECONDS = env.int("WEBHOOK_RETRY_FOR_SECONDS", default=3 * 86400)
WEBHOOK_DISABLE_AFTER_SECONDS = env.int("WEBHOOK_DISABLE_AFTER_SECONDS", default=5 * 86400)
WEBHOOK_DISPATCH_BATCH_SIZE = env.int("WEBHOOK_DISPATCH_BATCH_SIZE", default=1000)
WEBHOOK_DELIVERY_BATCH_SIZE = env.int("WEBHOOK_DELIVERY_BATCH_SIZE", default=50)
# Delivered deliveries and their events are purged after this many days (undelivered ones stay).
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)
# Endpoints on loopback, private or link-local addresses are refused unless this says so.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
SMS_BACKEND = env.str("SMS_BACKEND", default="programs.channels.sms.FileBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms" / "outbox.jsonl"))
# Shared secret the SMS provider sends with inbound messages (STOP handling); empty disables.
SMS_INBOUND_TOKEN = env.str("SMS_INBOUND_TOKEN", default="")
# Twilio (SMS_BACKEND=programs.channels.sms_twilio.TwilioBackend): the account's SID and auth
# token (the token also verifies Twilio's webhooks), and a Messaging Service or a from number.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
# Twilio's REST API; another base only for a local stand-in (tests, benchmarks) or a proxy.
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com").rstrip("/")
# Seconds to wait for Twilio's answer; no answer after the request went out is "uncertain".
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10.0)
# Connections a delivery batch sends its texts over at once through a provider's API (Twilio):
# the database work stays in the batch's order on the worker's own thread; 1 sends one by one.
SMS_SEND_CONNECTIONS = env.int("SMS_SEND_CONNECTIONS", default=4)
# File and console delivery (of SMS) with DEBUG off only when said on purpose: a system check
# refuses them otherwise, so production never marks a text sent that went to a file.
ALLOW_LOCAL_DELIVERY = env.bool("ALLOW_LOCAL_DELIVERY", default=False)
# The dashboard's attention split: the share of touches meant for current customers.
TARGET_CURRENT_CUSTOMER_SHARE = env.float("TARGET_CURRENT_CUSTOMER_SHARE", default=0.6)
# A customer asked or who answered within this many days is not invited again.
SURVEY_FATIGUE_DAYS = env.int("SURVEY_FATIGUE_DAYS", default=90)
# Public survey pages: requests per minute from one address.
SURVEY_RATE_PER_MINUTE = env.int("SURVEY_RATE_PER_MINUTE", default=30)
# Public unsubscribe pages: requests per minute from one address.
UNSUBSCRIBE_RATE_PER_MINUTE = env.int("UNSUBSCRIBE_RATE_PER_MINUTE", default=30)
# Public referral sign-up pages (/r/<code>/): requests per minute from one address.
REFERRAL_RATE_PER_MINUTE = env.int("REFERRAL_RATE_PER_MINUTE", default=30)
# A promoter is asked for a referral at most once in this many days.
PROMOTER_ASK_DAYS = env.int("PROMOTER_ASK_DAYS", default=90)
# Earned rewards lapse this many days after they are earned (closest to expiry are spent first).
REWARD_EXPIRY_DAYS = env.int("REWARD_EXPIRY_DAYS", default=365)
# The most an account manager may grant as goodwill at once, in points or money; marketers
# grant freely.
REWARD_GOODWILL_LIMIT = env.int("REWARD_GOODWILL_LIMIT", default=25)
# Public preference center pages (/p/<token>/): requests per minute from one address.
PREFERENCES_RATE_PER_MINUTE = env.int("PREFERENCES_RATE_PER_MINUTE", default=30)
# Public event invitation pages (/e/<token>/): requests per minute from one address.
EVENT_RATE_PER_MINUTE = env.int("EVENT_RATE_PER_MINUTE", default=30)
ORGANIZATION_ADDRESS = env.str("ORGANIZATION_ADDRESS", default="1 Example Street, Springfield")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    "webhooks",
    "customers",
    "nps",
    "programs",
    "events",
    "bonding",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "bonding.middleware.PermissionsPolicyMiddleware",
    "bonding.middleware.ApiBodyLimitMiddleware",
    "bonding.middleware.InboundBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A public page's Content-Language is its customer's (customers.languages.speaking_to).
    "bonding.middleware.SpokenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a signed-in user unless its view says otherwise (@login_not_required).
    "bonding.middleware.LoginRequiredExceptApiMiddleware",
    # ... and a role: a signed-in user in no group may only sign out (the API: rest.HasRole).
    "bonding.middleware.RoleRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The signed-in user's own language, over the browser's (LocaleMiddleware).
    "bonding.staff_language.StaffLanguageMiddleware",
    "bonding.middleware.ViewerTimezoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bonding.urls"
WSGI_APPLICATION = "bonding.wsgi.application"

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
                "bonding.context_processors.organization",
                "bonding.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'bonding.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default runs web, worker and beat on one file: WAL lets readers and a
    # writer work together, IMMEDIATE avoids deadlocked upgrades from read to write locks.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: a locked-out username or address is refused before its password is checked.
    "bonding.authentication.SignInLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (django-axes), for the sign-in page and the API's token exchange alike:
# after LOGIN_FAILURE_LIMIT failures for one username, that username is refused from anywhere,
# and after as many from one address (REMOTE_ADDR), that address is refused for any username,
# for LOGIN_COOLOFF_MINUTES. Attempts are kept in the database, so every process sees them.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "bonding.views.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

# Rate limits are counted in this cache, so every process must share it: Redis in tests and
# production, and for the embedded default files under var/ that web and worker processes share.
CACHES = {
    "default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}"),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bonding.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["bonding.rest.HasRole"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "bonding.rest.BrowsableAPIRenderer",  # allows its inline styles (CSP)
    ],
    "DEFAULT_PARSER_CLASSES": ["bonding.rest.BoundedJSONParser"],
    # \u-escaped output: an error that quotes a client's lone surrogate ("\ud800") still renders.
    "UNICODE_JSON": False,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "customers.cursor.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "bonding.rest.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["bonding.rest.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api": env.str("API_RATE", default="1200/minute"),
        "auth": env.str("API_AUTH_RATE", default="20/minute"),
    },
}
# A sync request of 1,000 customers with their purchases fits well within this.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# A reply to one of our e-mails, attachments and all, posted by the provider's inbound webhook:
# refused (and lost) at the API's limit, so it has its own (bonding.middleware).
INBOUND_MAX_BODY_BYTES = env.int("INBOUND_MAX_BODY_BYTES", default=40 * 1024 * 1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "Bonding API",
    "DESCRIPTION": "Customers, interactions, the ladder, programs and NPS. "
    "Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ContactChannelEnum": "customers.models.Channel",
        "InteractionChannelEnum": "customers.models.Interaction.Kind",
        "TouchStatusEnum": "programs.models.Touch.Status",
        "ComplaintStatusEnum": "customers.models.Complaint.Status",
        "RewardKindEnum": "customers.models.Reward.Kind",
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# The organization's language. A staff page follows the user's choice (/settings/language/,
# StaffLanguageMiddleware), else the browser's Accept-Language (LocaleMiddleware) among
# LANGUAGES, else this; a public page and a touch follow the customer's language, else this.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("de", _("German")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")  # the organization's zone, shown to staff
USE_I18N = True
USE_TZ = True  # stored in UTC, always

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

_email = env.email_url("EMAIL_URL", default="filemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Bonding <bonding@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# An e-mail service provider through django-anymail instead of EMAIL_URL's SMTP: its API keys
# from the environment, and the basic-auth secret its tracking webhooks (/anymail/) must carry.
EMAIL_PROVIDERS = {
    "amazon_ses": {},
    "mailgun": {
        "MAILGUN_API_KEY": env.str("MAILGUN_API_KEY", default=""),
        "MAILGUN_SENDER_DOMAIN": env.str("MAILGUN_SENDER_DOMAIN", default=""),
        "MAILGUN_API_URL": env.str("MAILGUN_API_URL", default="https://api.mailgun.net/v3"),
        "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
    },
    "postmark": {
        "POSTMARK_SERVER_TOKEN": env.str("POSTMARK_SERVER_TOKEN", default=""),
        "POSTMARK_API_URL": env.str("POSTMARK_API_URL", default="https://api.postmarkapp.com/"),
    },
    "sendgrid": {"SENDGRID_API_KEY": env.str("SENDGRID_API_KEY", default="")},
}
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="")
if EMAIL_PROVIDER and EMAIL_PROVIDER not in EMAIL_PROVIDERS:
    raise ImproperlyConfigured(
        f"EMAIL_PROVIDER={EMAIL_PROVIDER!r}: use one of {sorted(EMAIL_PROVIDERS)}, or leave it "
        "empty for EMAIL_URL."
    )
ANYMAIL = {
    **EMAIL_PROVIDERS.get(EMAIL_PROVIDER, {}),
    # "user:password"; without it anymail refuses every webhook request.
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
}
if EMAIL_PROVIDER == "amazon_ses":
    # boto3 reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an instance role) itself.
    ANYMAIL["AMAZON_SES_CLIENT_PARAMS"] = {
        "region_name": env.str("AWS_REGION", default="us-east-1")
    }
if EMAIL_PROVIDER:
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
# The domain whose mail the provider posts to /anymail/<esp>/inbound/: program and survey
# e-mails then carry a Reply-To of their own there, and replies land on the timeline.
INBOUND_DOMAIN = env.str("INBOUND_DOMAIN", default="").strip().lower()

# Celery reads every CELERY_* name below (see bonding/celery.py).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker" / "out"),
        "data_folder_out": str(VAR_DIR / "broker" / "out"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "store_processed": False,
        # Without it the exchange table lands in a `control/` folder of the working directory.
        "control_folder": str(VAR_DIR / "broker" / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the longest task plus its ETA: a message unacknowledged for this long is
        # given to another worker, so it must not be shorter than real work takes.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "socket_connect_timeout": 5,
        "socket_timeout": 30,
    }


def _embedded_folders() -> list[Path]:
    """The folders the embedded defaults write to; created at start so no process races."""
    folders = []
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        folders.append(Path(DATABASES["default"]["NAME"]).parent)
    if CELERY_BROKER_URL.startswith("filesystem://"):
        folders += [VAR_DIR / "broker" / name for name in ("out", "processed", "control")]
    return folders


for _folder in _embedded_folders():
    _folder.mkdir(parents=True, exist_ok=True)

CELERY_RESULT_BACKEND = (
    env.str(
        "CELERY_RESULT_BACKEND",
        default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "",
    )
    or None
)
CELERY_TASK_IGNORE_RESULT = True  # tasks that are awaited say so themselves
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
        # The twilio library logs every request's headers at INFO: a line per text sent.
        "twilio.http_client": {"level": "WARNING"},
    },
}

# Behind a proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER=1.
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# The load balancer's health probe speaks plain HTTP on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): scripts and styles only from our own static files
# (htmx and Chart.js are vendored), never inline; the API docs add what Swagger UI needs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Browser features no page of Bonding uses: denied to the page and anything it embeds.
PERMISSIONS_POLICY_DENIED = [
    "accelerometer",
    "ambient-light-sensor",
    "autoplay",
    "bluetooth",
    "camera",
    "display-capture",
    "encrypted-media",
    "gamepad",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
]
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no INCLUDE columns: the purchases' category index is the plain index there,
    # which is all the embedded default's small tables need (PostgreSQL uses them).
    SILENCED_SYSTEM_CHECKS.append("models.W040")

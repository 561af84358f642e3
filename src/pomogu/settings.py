"""The only settings module. Everything an operator may change comes from the environment.

Every variable is listed in README.md ("Configuration"). A bad value fails loudly at start-up
rather than being silently replaced by a default. What an admin changes on a running desk (teams,
hours, SLA, policies) is data in the database, not settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DATA_DIR = Path(env_str("POMOGU_DATA_DIR", "./var")).resolve()
DEBUG = env_bool("POMOGU_DEBUG", False)

_secret = os.environ.get("POMOGU_SECRET_KEY", "")
if not _secret:
    # A trial installation gets a random key kept in its data directory, so sessions survive a
    # restart without the operator having to invent one. Production sets POMOGU_SECRET_KEY.
    _key_file = DATA_DIR / "secret_key"
    if _key_file.exists():
        _secret = _key_file.read_text().strip()
    else:
        import secrets

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        _secret = secrets.token_urlsafe(50)
        _key_file.write_text(_secret)
        _key_file.chmod(0o600)
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("POMOGU_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("POMOGU_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("POMOGU_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django_htmx",
    "pomogu.core",
    "pomogu.people",
    "pomogu.cases",
    "pomogu.contact",
    "pomogu.intake",
    "pomogu.triage",
    "pomogu.clocks",
    "pomogu.failures",
    "pomogu.kb",
    "pomogu.portal",
    "pomogu.desk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pomogu.core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "pomogu.core.middleware.PrivatePagesMiddleware",
    "pomogu.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "pomogu.urls"
WSGI_APPLICATION = "pomogu.wsgi.application"
AUTH_USER_MODEL = "people.User"
LOGIN_URL = "desk:login"
LOGIN_REDIRECT_URL = "desk:home"
LOGOUT_REDIRECT_URL = "desk:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        if not url.startswith(("postgres://", "postgresql://", "sqlite://")):
            raise ImproperlyConfigured(
                "DATABASE_URL must be a postgres:// or sqlite:// URL, got " + url.split(":")[0]
            )
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
        if config["ENGINE"].endswith("postgresql"):
            config["CONN_HEALTH_CHECKS"] = True
            config.setdefault("TEST", {})["NAME"] = os.environ.get("POMOGU_TEST_DATABASE")
            if not config["TEST"]["NAME"]:
                del config["TEST"]["NAME"]
            return config
        return _sqlite(Path(config["NAME"]))
    return _sqlite(DATA_DIR / "pomogu.sqlite3")


def _sqlite(path: Path) -> dict[str, Any]:
    # See docs/decisions/0003-sqlite-settings.md: WAL so readers never block the writer, a busy
    # timeout so a second writer waits instead of failing, IMMEDIATE transactions so a
    # read-then-write transaction takes the write lock up front (no "database is locked" on
    # upgrade), and synchronous=FULL because an accepted message must survive a power cut.
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=FULL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
            ),
        },
        # Tests use a file, like production, not shared-cache memory: its table locks ignore
        # the busy timeout and would make concurrency tests test the wrong thing.
        "TEST": {
            "NAME": os.environ.get("POMOGU_TEST_DATABASE")
            or str(path.parent / f"test-{path.stem}.sqlite3")
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env_str("POMOGU_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("POMOGU_TIME_ZONE", "Europe/Moscow")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files straight from the apps in the demo and tests, so no collectstatic step is
# needed for a trial; production runs `pomogu collectstatic` (see docs/operations.md).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Mail out. Every outbound message goes through the outbox (contact app) and is sent by the
# background runner with this backend. The demo writes mail to files in the data directory.
EMAIL_BACKEND = env_str("POMOGU_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("POMOGU_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("POMOGU_SMTP_PORT", 25)
EMAIL_HOST_USER = env_str("POMOGU_SMTP_USER", "")
EMAIL_HOST_PASSWORD = env_str("POMOGU_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("POMOGU_SMTP_STARTTLS", False)
EMAIL_TIMEOUT = env_int("POMOGU_SMTP_TIMEOUT", 30)
EMAIL_FILE_PATH = str(DATA_DIR / "outbound-mail")
DEFAULT_FROM_EMAIL = env_str("POMOGU_FROM_EMAIL", "support@pomogu.localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Domain settings that are about the installation rather than the desk's configuration.
POMOGU: dict[str, Any] = {
    # How many attempts a temporarily failing outbound message gets before it is marked failed.
    "OUTBOX_MAX_ATTEMPTS": env_int("POMOGU_OUTBOX_MAX_ATTEMPTS", 8),
    # Seconds a sender holds an outbox row it is sending; a row held longer (its sender died)
    # is sent again (or, for at-most-once mail, given up). Longer than the SMTP timeout.
    "OUTBOX_CLAIM_SECONDS": env_int("POMOGU_OUTBOX_CLAIM_SECONDS", 300),
    # Seconds between two passes of the background runner (`pomogu demo`, `pomogu worker`).
    "RUNNER_INTERVAL": env_int("POMOGU_RUNNER_INTERVAL", 2),
    # Mail in (R1): the biggest message accepted, and how often IMAP mailboxes are polled.
    "MAIL_MAX_BYTES": env_int("POMOGU_MAIL_MAX_BYTES", 25 * 1024 * 1024),
    "IMAP_INTERVAL": env_int("POMOGU_IMAP_INTERVAL", 60),
    "IMAP_TIMEOUT": env_int("POMOGU_IMAP_TIMEOUT", 60),
    # Worker processes the runner's IMAP poll starts for a backlog (see imap.POOL_THRESHOLD).
    "IMAP_PROCESSES": env_int("POMOGU_IMAP_PROCESSES", 1),
    # Loop safety (RFC 3834, REL-8): acknowledgements per sender per day, and the breaker that
    # parks a sender's messages in quarantine past this many an hour.
    "ACK_PER_SENDER_PER_DAY": env_int("POMOGU_ACK_PER_SENDER_PER_DAY", 3),
    "LOOP_BREAKER_PER_HOUR": env_int("POMOGU_LOOP_BREAKER_PER_HOUR", 20),
    # What the acknowledgement promises until SLA clocks exist (issue 5).
    "ACK_PROMISE_HOURS": env_int("POMOGU_ACK_PROMISE_HOURS", 8),
    # Triage (R1, R3). The router retrains when this many people's routing decisions have
    # arrived since its last training, and keeps this many versions for rollback.
    "ROUTER_RETRAIN_AFTER": env_int("POMOGU_ROUTER_RETRAIN_AFTER", 20),
    "ROUTER_KEEP_VERSIONS": env_int("POMOGU_ROUTER_KEEP_VERSIONS", 3),
    # Anger scores (percent): at the first the case's priority goes up, at the second the team
    # lead is told, with the case's history.
    "ANGER_PRIORITY_AT": env_int("POMOGU_ANGER_PRIORITY_AT", 50),
    "ANGER_NOTIFY_AT": env_int("POMOGU_ANGER_NOTIFY_AT", 70),
    # Clocks (R4): business minutes a receiving team has to accept a handoff before it times
    # out to their lead; minutes an escalation level has to acknowledge (the default chain's
    # second level gets twice this); minutes after an appointment's end to report it kept or
    # missed (unreported, it counts as missed).
    "HANDOFF_ACCEPT_MINUTES": env_int("POMOGU_HANDOFF_ACCEPT_MINUTES", 120),
    "ESCALATION_ACK_MINUTES": env_int("POMOGU_ESCALATION_ACK_MINUTES", 60),
    "APPOINTMENT_REPORT_MINUTES": env_int("POMOGU_APPOINTMENT_REPORT_MINUTES", 60),
    # The public web form: submissions per client address per window.
    "FORM_PER_CLIENT": env_int("POMOGU_FORM_PER_CLIENT", 5),
    "FORM_WINDOW_SECONDS": env_int("POMOGU_FORM_WINDOW_SECONDS", 600),
    # The failure register (R8). Money at risk = the value of the customer's tier × the share
    # of it a failure of that kind puts at risk. Both are JSON objects; FAILURE_RISK_SHARE names
    # only the kinds it changes (the others keep pomogu.failures.services.DEFAULT_RISK_SHARE).
    "TIER_VALUES": env_str("POMOGU_TIER_VALUES", '{"standard": 1000, "vip": 10000}'),
    "FAILURE_RISK_SHARE": env_str("POMOGU_FAILURE_RISK_SHARE", "{}"),
    # The contact governor (R6): proactive contacts (surveys, reminders, proactive messages
    # and calls, incident notices) per customer and per organisation: "count/days"; quiet
    # hours in the customer's time zone ("from-to", local), and the country whose public
    # holidays are quiet all day (empty: none). Weekends are always quiet.
    "CONTACT_BUDGET": env_str("POMOGU_CONTACT_BUDGET", "2/30"),
    "CONTACT_BUDGET_ORGANISATION": env_str("POMOGU_CONTACT_BUDGET_ORGANISATION", "20/30"),
    "QUIET_HOURS": env_str("POMOGU_QUIET_HOURS", "21:00-09:00"),
    "CONTACT_HOLIDAYS": env_str("POMOGU_CONTACT_HOLIDAYS", "RU"),
    # Surveys (R6): hours the resolution must stand unreopened (counted in working days of the
    # quiet-hours calendar: 24 means "one working day"), days within which a customer is not
    # surveyed again, and the rating (1-5) at or below which the team lead hears of it.
    "SURVEY_DELAY_HOURS": env_int("POMOGU_SURVEY_DELAY_HOURS", 24),
    "SURVEY_QUIET_DAYS": env_int("POMOGU_SURVEY_QUIET_DAYS", 90),
    "SURVEY_LOW_RATING": env_int("POMOGU_SURVEY_LOW_RATING", 2),
    # Recurrence (R5): days after a resolution within which the same problem reopens the case
    # (a team can set its own).
    "WARRANTY_DAYS": env_int("POMOGU_WARRANTY_DAYS", 30),
}

# The region a phone number written without a country code belongs to (ISO 3166 code).
PHONE_REGION = env_str("POMOGU_PHONE_REGION", "RU")

# The failure dashboard keeps its service figures (SLA, reopenings, effort, surveys) this long.
POMOGU_DASHBOARD_CACHE_SECONDS = env_int("POMOGU_DASHBOARD_CACHE_SECONDS", 300)

# Staff sign-in: failures per username and per client address in the window before 429.
POMOGU_SIGN_IN_FAILURES_PER_USER = env_int("POMOGU_SIGN_IN_FAILURES_PER_USER", 10)
POMOGU_SIGN_IN_FAILURES_PER_CLIENT = env_int("POMOGU_SIGN_IN_FAILURES_PER_CLIENT", 30)
POMOGU_SIGN_IN_WINDOW_MINUTES = env_int("POMOGU_SIGN_IN_WINDOW_MINUTES", 15)
# Links with a token (surveys, portal sign-in): wrong tokens from one client before 429.
POMOGU_TOKEN_FAILURES_PER_CLIENT = env_int("POMOGU_TOKEN_FAILURES_PER_CLIENT", 20)
POMOGU_TOKEN_WINDOW_MINUTES = env_int("POMOGU_TOKEN_WINDOW_MINUTES", 15)

# The customer portal (/my/): sign-in links, throttles, session, files per reply.
POMOGU_PORTAL_LINK_MINUTES = env_int("POMOGU_PORTAL_LINK_MINUTES", 15)
POMOGU_PORTAL_LINKS_PER_EMAIL = env_int("POMOGU_PORTAL_LINKS_PER_EMAIL", 5)
POMOGU_PORTAL_LINKS_PER_CLIENT = env_int("POMOGU_PORTAL_LINKS_PER_CLIENT", 20)
POMOGU_PORTAL_SESSION_DAYS = env_int("POMOGU_PORTAL_SESSION_DAYS", 14)
POMOGU_PORTAL_MAX_FILES = env_int("POMOGU_PORTAL_MAX_FILES", 5)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# POMOGU_HTTPS says that people reach the desk over TLS (usually a reverse proxy terminates it).
# Everything below then follows from it, so that one switch makes `pomogu check --deploy` clean
# (docs/security-gates.md): cookies travel only over HTTPS, plain HTTP is redirected, and HSTS
# tells browsers never to try plain HTTP again.
_https = env_bool("POMOGU_HTTPS", False)
_secure_cookies = env_bool("POMOGU_SECURE_COOKIES", _https)
if _https and not _secure_cookies:
    raise ImproperlyConfigured(
        "POMOGU_SECURE_COOKIES=0 contradicts POMOGU_HTTPS=1: over HTTPS cookies are always secure"
    )
SESSION_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_SECURE = _secure_cookies
LANGUAGE_COOKIE_SECURE = _secure_cookies
# Off only for a proxy that redirects by itself and cannot tell Django the request was HTTPS
# (without X-Forwarded-Proto Django would redirect every request again, for ever).
SECURE_SSL_REDIRECT = env_bool("POMOGU_SSL_REDIRECT", _https)
# A health probe on the machine itself or a load balancer asks over plain HTTP; the answer holds
# nothing private, so it is never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Sent only on HTTPS responses. A year, the value browsers' preload lists ask for; lower it
# (or 0) while first trying HTTPS out, since a browser keeps obeying it for that long.
SECURE_HSTS_SECONDS = env_int("POMOGU_HSTS_SECONDS", 365 * 24 * 3600 if _https else 0)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured("POMOGU_HSTS_SECONDS must not be negative")
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("POMOGU_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("POMOGU_HSTS_PRELOAD", False)
# Trust X-Forwarded-Proto only when told that a proxy in front sets it (and drops any the client
# sent): otherwise anyone could claim HTTPS. `pomogu web` (gunicorn) already trusts the header
# from a proxy on the same machine (FORWARDED_ALLOW_IPS); this is for a proxy elsewhere.
if env_bool("POMOGU_TRUSTED_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    # W021 asks for HSTS preload. Preloading commits the whole registrable domain and all its
    # subdomains to HTTPS in every browser, for months; it is the domain owner's decision, made
    # by submitting the domain, not the desk's. POMOGU_HSTS_PRELOAD=1 sends the directive.
    "security.W021",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # No token of an emailed link in any line (pomogu.core.redact).
    "filters": {"no_tokens": {"()": "pomogu.core.redact.RedactTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("POMOGU_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "waitress.queue": {"level": "ERROR"},
    },
}

# Background work on Celery with Redis (docs/operations.md, docs/decisions/0002). No URL means
# no Celery: `pomogu worker` runs the in-process runner. The broker only carries hints; the work
# itself is rows in the database, so a lost message costs latency, never work.
_redis_url = env_str("POMOGU_REDIS_URL", "").strip()
_celery_url = env_str("CELERY_BROKER_URL", "").strip()
if _redis_url and _celery_url and _redis_url != _celery_url:
    raise ImproperlyConfigured("POMOGU_REDIS_URL and CELERY_BROKER_URL differ; set only one")
CELERY_BROKER_URL = _redis_url or _celery_url
if CELERY_BROKER_URL and not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        "POMOGU_REDIS_URL must be a redis://, rediss:// or unix:// URL, got "
        + CELERY_BROKER_URL.split(":")[0]
    )
# With Redis there, the cache lives there too: the failure register's figures, computed by a
# background worker, must be read by every web process. Without it, each process keeps its own
# (the demo runs everything in one).
if CELERY_BROKER_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CELERY_BROKER_URL,
            "KEY_PREFIX": "pomogu",
        }
    }
# Seconds between two sweeps for due deadlines and escalations (Celery beat); and seconds after
# which Redis gives the unacknowledged task of a dead worker to another worker (no task runs that
# long: it is stopped at 90 % of it, and its rows are taken again when their claims expire).
POMOGU["SWEEP_SECONDS"] = env_int("POMOGU_SWEEP_SECONDS", 5)
POMOGU["CELERY_VISIBILITY_TIMEOUT"] = env_int("POMOGU_CELERY_VISIBILITY_TIMEOUT", 300)
# How long a sweep's claim on a due deadline or escalation holds: if its task is lost (a Redis
# flush, a dead worker), a later sweep sends the row again after this long (FT-13: within 60 s).
POMOGU["CLAIM_SECONDS"] = env_int("POMOGU_CLAIM_SECONDS", 60)
for _name in ("SWEEP_SECONDS", "CELERY_VISIBILITY_TIMEOUT", "CLAIM_SECONDS"):
    if POMOGU[_name] < 1:
        raise ImproperlyConfigured(f"POMOGU_{_name} must be at least 1 second")

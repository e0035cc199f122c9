"""The Django settings the tests of ``portal_access.contrib.django`` run with.

SQLite always (a file per test run, so threads and processes share it, with
``transaction_mode = IMMEDIATE`` so writers queue instead of failing); and, when
``PORTAL_ACCESS_TEST_DATABASE_URL`` names a PostgreSQL server, a second alias
``"postgres"`` whose test database is named after this process (pytest-django adds the
xdist worker), so concurrent runs never share one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.django.urls"
ALLOWED_HOSTS = ["testserver", "portal.example.com", "localhost", "127.0.0.1"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"  # the app's own choice must win

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "tests.django.accounts",
    "portal_access.contrib.django",
]
AUTH_USER_MODEL = "accounts.HostUser"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [str(Path(__file__).resolve().parent / "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Fast hashing in tests; production keeps Django's defaults.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

#: Names this run's databases: the process, or what a test's subprocess is told to use.
_RUN = os.environ.get("PORTAL_ACCESS_DJANGO_RUN") or f"{os.getpid()}"
DATABASES: dict[str, dict[str, object]] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(Path(tempfile.gettempdir()) / f"portal_access_django_{_RUN}.sqlite3"),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
        "TEST": {
            "NAME": str(Path(tempfile.gettempdir()) / f"test_portal_access_django_{_RUN}.sqlite3")
        },
    }
}

#: The PostgreSQL server of the tests, when there is one.
POSTGRES_URL = os.environ.get("PORTAL_ACCESS_TEST_DATABASE_URL") or None
if POSTGRES_URL:
    _url = urlsplit(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"))
    DATABASES["postgres"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_url.path.lstrip("/")) or "postgres",
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "",
        "PORT": str(_url.port or ""),
        "TEST": {"NAME": f"test_portal_access_django_{_RUN}", "DEPENDENCIES": []},
    }

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}

PORTAL_ACCESS = {
    "URL": "https://portal.example.com/portal/",
    "BUSINESS_NAME": "Acme Portal",
}

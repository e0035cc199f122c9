"""The system checks: each missing or wrong setting has its id, and ``check --deploy``
warns about what would hurt in production."""

from __future__ import annotations

import pytest
from django.core import checks as django_checks

from portal_access.contrib.django.checks import check_deployment, check_settings

GOOD = {"URL": "https://portal.example.com/portal/"}
STRIPE = "portal_access.gateways.stripe.StripeGateway"
LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
SHARED = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache"}
DUMMY = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_good_settings_pass(settings):
    settings.PORTAL_ACCESS = GOOD
    assert check_settings() == []


@pytest.mark.parametrize(
    ("config", "expected", "says"),
    [
        (None, "portal_access.E001", "is required"),
        ("https://portal.example.com", "portal_access.E001", "must be a dict"),
        ({**GOOD, "URLS": "x"}, "portal_access.E002", "did you mean 'URL'"),
        ({}, "portal_access.E003", "'URL'"),
        ({"URL": "/portal/"}, "portal_access.E003", "absolute http(s) URL"),
        ({"URL": "https://user@portal.example.com"}, "portal_access.E003", "absolute"),
        (
            {**GOOD, "GATEWAYS": [{"BACKEND": STRIPE, "OPTIONS": {"api_key": "sk_test_1"}}]},
            "portal_access.E004",
            "webhook_secret",
        ),
        (
            {**GOOD, "GATEWAYS": [{"BACKEND": "no.such.Gateway"}]},
            "portal_access.E004",
            "does not import",
        ),
        ({**GOOD, "GATEWAYS": ["not a gateway"]}, "portal_access.E004", "does not import"),
        ({**GOOD, "DATABASE": "reports"}, "portal_access.E005", "not in DATABASES"),
        ({**GOOD, "RATE_LIMIT_CACHE": "redis"}, "portal_access.E005", "not in CACHES"),
        ({**GOOD, "POLICY": 3}, "portal_access.E006", "PortalPolicy"),
        ({**GOOD, "BUSINESS_NAME": " "}, "portal_access.E006", "non-blank"),
        ({**GOOD, "TOPICS": ["contact.craeted"]}, "portal_access.E006", "unknown topics"),
        ({**GOOD, "TOPICS": "contact.created"}, "portal_access.E006", "list of topic names"),
        ({**GOOD, "DOCUMENT_LINK_KEY": b"short"}, "portal_access.E006", "at least 32"),
        ({**GOOD, "DOCUMENT_LINK_KEY": "x" * 40}, "portal_access.E006", "must be bytes"),
        ({**GOOD, "OUTBOX": 5}, "portal_access.E006", "OutboxSettings"),
        ({**GOOD, "RENDERER": object()}, "portal_access.E006", "DocumentRenderer"),
    ],
)
def test_each_wrong_setting_has_its_error(settings, config, expected, says):
    """One error, with its id, naming the key and what is wrong."""
    if config is None:
        del settings.PORTAL_ACCESS
    else:
        settings.PORTAL_ACCESS = config
    (error,) = check_settings()
    assert error.id == expected
    assert error.level == django_checks.ERROR
    assert says in error.msg


def test_a_webhook_secret_given_blank_is_an_error(settings):
    """A gateway whose webhook secret is blank is refused (safe by default)."""
    from portal_access.adapters import SystemClock  # noqa: PLC0415
    from portal_access.testing.sandbox import SandboxVendor  # noqa: PLC0415

    settings.PORTAL_ACCESS = {
        **GOOD,
        "GATEWAYS": [
            {
                "BACKEND": "portal_access.gateways.sandbox.SandboxGateway",
                "OPTIONS": {
                    "vendor": SandboxVendor(webhook_secret="x", clock=SystemClock()),
                    "webhook_secret": " ",
                },
            }
        ],
    }
    assert ids(check_settings()) == ["portal_access.E004"]


def test_mail_that_would_be_dropped_is_an_error(settings):
    settings.PORTAL_ACCESS = GOOD
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    assert ids(check_settings()) == ["portal_access.E007"]
    settings.PORTAL_ACCESS = {
        **GOOD,
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    }
    assert check_settings() == []


def test_a_dummy_rate_limit_cache_is_an_error(settings):
    settings.CACHES = {"default": LOCMEM, "none": DUMMY}
    settings.PORTAL_ACCESS = {**GOOD, "RATE_LIMIT_CACHE": "none"}
    assert ids(check_settings()) == ["portal_access.E008"]


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")  # no query runs
def test_sqlite_without_immediate_transactions_is_warned_about(settings):
    databases = {**settings.DATABASES}
    databases["default"] = {**databases["default"], "OPTIONS": {}}
    settings.DATABASES = databases
    settings.PORTAL_ACCESS = GOOD
    (warning,) = check_settings()
    assert warning.id == "portal_access.W001"
    assert warning.level == django_checks.WARNING


def test_deploy_checks_pass_for_a_production_setup(settings):
    from portal_access.gateways.stripe import StripeGateway  # noqa: PLC0415

    settings.CACHES = {"default": LOCMEM, "shared": SHARED}
    settings.PORTAL_ACCESS = {
        **GOOD,
        "RATE_LIMIT_CACHE": "shared",
        "GATEWAYS": [StripeGateway(api_key="sk_live_x", webhook_secret="whsec_x")],
    }
    assert check_deployment() == []


def test_deploy_checks_warn(settings):
    """http, no gateway, attempts counted per process (W004), the sandbox."""
    settings.PORTAL_ACCESS = {"URL": "http://portal.example.com/"}
    assert ids(check_deployment()) == [
        "portal_access.W002",
        "portal_access.W003",
        "portal_access.W004",
    ]
    settings.CACHES = {"default": LOCMEM}
    settings.PORTAL_ACCESS = {**GOOD, "RATE_LIMIT_CACHE": "default"}
    assert "portal_access.W004" in ids(check_deployment())


def test_deploy_checks_warn_about_the_sandbox(settings, sandbox_portal):
    settings.CACHES = {"default": LOCMEM, "shared": SHARED}
    settings.PORTAL_ACCESS = {
        **settings.PORTAL_ACCESS,
        "URL": GOOD["URL"],
        "RATE_LIMIT_CACHE": "shared",
    }
    assert ids(check_deployment()) == ["portal_access.W005"]


def test_the_checks_run_with_django_check(settings):
    """The checks are registered: Django's own check run reports them (deploy ones
    only with --deploy)."""
    settings.PORTAL_ACCESS = {"URL": "http://portal.example.com/"}
    found = ids(django_checks.run_checks(include_deployment_checks=True))
    assert "portal_access.W002" in found
    assert "portal_access.W002" not in ids(django_checks.run_checks())
    settings.PORTAL_ACCESS = {}
    assert "portal_access.E003" in ids(django_checks.run_checks())

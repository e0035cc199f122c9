"""The Django document page's Print button under a strict Content-Security-Policy, in
headless Chromium (the helpers and the Flask twin: ``tests/e2e/test_print_under_csp.py``)."""

from __future__ import annotations

import pytest
from django.core.handlers.wsgi import WSGIHandler

from portal_access.contrib.django.testing import log_in
from tests.django.documents_world import world
from tests.e2e.test_print_under_csp import CHROMIUM, chromium, print_document, serving

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (CI installs it)",
)


@pytest.mark.django_db(transaction=True)
def test_django_print_under_a_strict_policy(settings):
    web = world(settings)
    log_in(web.client, "c-ann")
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    name = settings.SESSION_COOKIE_NAME
    cookie = (name, web.client.cookies[name].value)
    with chromium() as browser, serving(WSGIHandler()) as base:
        print_document(browser, base, cookie, "/portal/document/?invoice=inv-ann")

"""A webhook worker process for the Django concurrency test: Django set up from the
test settings on the test database, the portal built by ``portal()`` from
``PORTAL_ACCESS`` (as each web worker of a host builds it), an ``onboarding_due``
receiver connected, signed sandbox deliveries handed to ``handle_webhook``, every
exception recorded.

A module of its own, so that ``multiprocessing``'s spawn start method imports only this
in each child.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections import Counter
from typing import Any

from tests.integration.webhook_workers import RetryCounter, hand_over

__all__ = ["handle_deliveries"]


def handle_deliveries(
    index: int,
    database: str,
    deliveries: list[tuple[dict[str, str], bytes]],
    settings: dict[str, Any],
    start: Any,
    results: Any,
) -> None:
    """Wait for every worker, hand each delivery to the portal, report back."""
    counter = RetryCounter()
    errors: list[str] = []
    outcomes: Counter[str] = Counter()
    received: list[tuple[str, str]] = []
    try:
        os.environ["DJANGO_SETTINGS_MODULE"] = "tests.django.settings"
        import django  # noqa: PLC0415 - set up in the child, after the environment

        django.setup()
        from django.conf import settings as django_settings  # noqa: PLC0415

        from portal_access.adapters import ManualClock  # noqa: PLC0415
        from portal_access.contrib.django import portal, signals  # noqa: PLC0415
        from portal_access.gateways.sandbox import SandboxGateway  # noqa: PLC0415
        from portal_access.testing.sandbox import SandboxVendor  # noqa: PLC0415

        django_settings.DATABASES["postgres"]["NAME"] = database  # the parent's test database
        logger = logging.getLogger("portal_access")
        logger.addHandler(counter)
        logger.setLevel(logging.INFO)
        logging.getLogger("portal_access.webhooks").setLevel(logging.WARNING)
        clock = ManualClock(settings["now"])
        secret = settings["secret"]  # the worker verifies; the vendor is in the parent
        vendor = SandboxVendor(webhook_secret=secret, clock=clock)
        django_settings.PORTAL_ACCESS = {
            "URL": "https://portal.example/portal/",
            "DATABASE": "postgres",
            "GATEWAYS": [SandboxGateway(vendor=vendor, webhook_secret=secret, clock=clock)],
            "CLOCK": clock,
        }

        def onboard(sender: object, message: Any, **_kwargs: object) -> None:
            received.append((message.id, message.payload["contact_id"]))

        signals.onboarding_due.connect(onboard, weak=False)
        the_portal = portal()
        start.wait(timeout=120)
        hand_over(the_portal, deliveries, errors, outcomes)
        from django.db import connections  # noqa: PLC0415

        connections.close_all()
    except Exception:  # setting up failed: report it rather than hang the others
        start.abort()
        errors.append(traceback.format_exc())
    results.put((index, errors, dict(outcomes), counter.retries, received))

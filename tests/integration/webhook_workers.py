"""A webhook worker process for the SQL concurrency test: its own store and portal (as
each web worker of a host has), fed signed sandbox deliveries, every exception recorded.

It lives outside the test module so that ``multiprocessing``'s spawn start method
imports only this small module in each child.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter, deque
from typing import Any

from portal_access import PortalPolicy
from portal_access._portal import PortalAccess
from portal_access.adapters._clock import ManualClock
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.storage.sql import SqlStore
from portal_access.testing.sandbox import SandboxVendor

__all__ = ["RetryCounter", "WorkerReport", "hand_over", "handle_deliveries"]

_MAX_RETRIES = 1_000
_RETRY_PAUSE = 0.01  # seconds, when little but deferred deliveries is left

#: (worker index, exceptions as tracebacks, outcome counts, retries after lost races, seconds)
WorkerReport = tuple[int, list[str], dict[str, int], int, float]


class RetryCounter(logging.Handler):
    """Counts the service's "lost a race ... retrying" log lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "lost a race" in record.getMessage():
            self.retries += 1


def hand_over(
    portal: Any,
    deliveries: list[tuple[dict[str, str], bytes]],
    errors: list[str],
    outcomes: Counter[str],
) -> None:
    """Hand each delivery to ``portal.handle_webhook`` as a vendor does: one answered
    "retry later" is sent again later (up to a bound); exceptions and outcomes counted."""
    waiting = deque((headers, body, 0) for headers, body in deliveries)
    while waiting:
        headers, body, deferred = waiting.popleft()
        try:
            result = portal.handle_webhook("sandbox", headers, body)
        except Exception:  # recorded: the test asserts there are none
            errors.append(traceback.format_exc())
            continue
        outcomes[result.outcome.split(":")[0]] += 1
        if result.retry_later:  # as a vendor does: send it again later
            if deferred >= _MAX_RETRIES:
                errors.append(f"still deferred after {deferred} retries: {result}")
                continue
            time.sleep(_RETRY_PAUSE if len(waiting) < 8 else 0)
            waiting.append((headers, body, deferred + 1))


def handle_deliveries(
    index: int,
    url: str,
    deliveries: list[tuple[dict[str, str], bytes]],
    settings: dict[str, Any],
    start: Any,
    results: Any,
) -> None:
    """Wait for every worker, hand each delivery to ``handle_webhook``, report back."""
    counter = RetryCounter()
    logger = logging.getLogger("portal_access")
    logger.addHandler(counter)
    logger.setLevel(logging.INFO)
    logging.getLogger("portal_access.webhooks").setLevel(logging.WARNING)
    errors: list[str] = []
    outcomes: Counter[str] = Counter()
    elapsed = 0.0
    try:
        clock = ManualClock(settings["now"])
        store = SqlStore(url)
        secret = settings["secret"]  # the worker verifies; the vendor is in the parent
        vendor = SandboxVendor(webhook_secret=secret, clock=clock)
        portal = PortalAccess(
            store=store,
            gateways=[SandboxGateway(vendor=vendor, webhook_secret=secret, clock=clock)],
            clock=clock,
            policy=PortalPolicy(),
            development=True,  # a test: mail in memory, links nowhere
        )
        # the host's onboarding hook: its events are kept in the outbox for delivery
        portal.subscribe(lambda _message: None, topic="onboarding.due")
        start.wait(timeout=120)
        began = time.perf_counter()
        hand_over(portal, deliveries, errors, outcomes)
        elapsed = time.perf_counter() - began
        store.close()
    except Exception:  # setting up failed: report it rather than hang the others
        start.abort()
        errors.append(traceback.format_exc())
    results.put((index, errors, dict(outcomes), counter.retries, elapsed))

"""What every flow a visitor uses without logging in shares: limits and equal answers.

"Having trouble?", self-registration, quick pay and logging in take an email or an
invoice number from someone we do not know. Each must answer the same way, *and in the
same time*, whether or not anything matched, and each is rate-limited per client (the
host passes the visitor's address) as well as per email or invoice:

- :func:`hit_limits` counts the attempt under every key before any lookup;
- :func:`answer_later` hands the real work (look up, issue a link, queue the email,
  deliver it) to the background runner, so the request itself does the same thing
  whatever the visitor typed: check the input, count the attempt, queue one job;
- flows that must answer now (quick pay, logging in) run with ``deliver=False``: the
  outbox is never read or delivered inside the visitor's request;
- quick pay reads the same row either way, but a row found costs the store a decode
  that a row missed does not (a few microseconds, enough for a classifier): its lookup
  answers :func:`no_faster_than` a floor well above what either path takes, so both
  answers leave at the same moment, give or take the scheduler's jitter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from portal_access._domain.visitor_input import ensure_client_key
from portal_access._service.context import ServiceContext, Work, run

__all__ = ["LOOKUP_FLOOR", "answer_later", "hit_limits", "no_faster_than"]

log = logging.getLogger("portal_access")
T = TypeVar("T")

#: How long an anonymous lookup takes at least, whatever it found: well above a
#: lookup's own time on SQLite (~0.1 ms) and PostgreSQL (~1 ms).
LOOKUP_FLOOR = timedelta(milliseconds=3)


def hit_limits(context: ServiceContext, flow: str, client_key: str, **keys: str) -> None:
    """Count one attempt of ``flow`` under the client's key and under each of ``keys``.

    Args:
        context: the portal's ports.
        flow: the flow's name (``"login"``, ``"trouble"``...); limits are per flow.
        client_key: the host's key for the visitor's client (its address).
        keys: what else the attempt is limited by, e.g. ``email=address.key``.

    Raises:
        ValidationError: a blank or unusable ``client_key`` (``field="client_key"``).
        RateLimitedError: one of the keys is over its limit.
    """
    client = ensure_client_key(client_key)
    now = context.clock.now()
    context.limiter.hit(f"{flow}:client:{client}", now=now)
    for kind, value in sorted(keys.items()):
        context.limiter.hit(f"{flow}:{kind}:{value}", now=now)


def answer_later(context: ServiceContext, flow: str, use_case: Callable[[Work], object]) -> None:
    """Run ``use_case`` in its own unit of work on the background runner, then deliver
    the outbox; a failure is logged (the visitor was answered already)."""

    def job() -> None:
        try:
            run(context, use_case)
        except Exception:  # the visitor has their answer; the log has ours
            log.exception("portal_access: the background part of %s failed", flow)

    context.background(job)


def no_faster_than(floor: timedelta, call: Callable[[], T]) -> T:
    """``call()``'s result (or exception), returned no sooner than ``floor`` after the
    call began: a wall-clock wait (``time.perf_counter``, never the Clock port, which
    tests stop), so a found row and a missed one answer at the same moment."""
    deadline = time.perf_counter() + floor.total_seconds()
    try:
        return call()
    finally:
        remaining = deadline - time.perf_counter()
        if remaining > 0:
            time.sleep(remaining)

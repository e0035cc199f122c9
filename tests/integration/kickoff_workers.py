"""A kickoff-form submitter process for the kickoff race test: its own store and portal
(as each web worker of a host has), the same form submitted at the same moment.

It lives outside the test module so that ``multiprocessing``'s spawn start method
imports only this small module in each child.
"""

from __future__ import annotations

import traceback
from typing import Any

from portal_access import PortalPolicy
from portal_access._portal import PortalAccess
from portal_access._service.signup import KickoffForm
from portal_access.adapters._clock import ManualClock
from portal_access.adapters._mail import MemoryMailer
from portal_access.gateways.sandbox import SandboxGateway
from portal_access.storage.sql import SqlStore
from portal_access.testing.sandbox import SandboxVendor

__all__ = ["portal_for", "submit_forms", "submit_with"]


def portal_for(store: Any, now: Any, secret: str) -> PortalAccess:
    """A portal on ``store`` whose background jobs run at once (in the caller)."""
    clock = ManualClock(now)
    vendor = SandboxVendor(webhook_secret=secret, clock=clock)
    return PortalAccess(
        store=store,
        gateways=[SandboxGateway(vendor=vendor, webhook_secret=secret, clock=clock)],
        mailer=MemoryMailer(),
        clock=clock,
        policy=PortalPolicy(),
        background=lambda job: job(),
        development=True,  # a test: links nowhere
    )


def submit_forms(
    index: int, url: str, emails: list[str], settings: dict[str, Any], start: Any, results: Any
) -> None:
    """For each email: wait for every worker, submit the same form, report the answer."""
    try:
        portal = portal_for(SqlStore(url), settings["now"], settings["secret"])
    except Exception:
        results.put((index, [traceback.format_exc()]))
        return
    submit_with(portal, index, emails, start, results)


def submit_with(
    portal: PortalAccess, index: int, emails: list[str], start: Any, results: Any
) -> None:
    """For each email: wait for every worker, submit the same form with ``portal``, then
    report every answer (the signup's repr, or the exception) as ``(index, answers)``."""
    answers: list[str] = []
    for email in emails:
        start.wait(timeout=120)
        try:
            signup = portal.submit_kickoff_form(
                "offer-1", KickoffForm(first_name="Ann", last_name="Lee", email=email)
            )
            answers.append(repr(signup))
        except Exception as exc:  # reported: the test asserts there are none
            answers.append(f"{type(exc).__name__}: {exc}")
    results.put((index, answers))

"""A web worker process for the checkout race test: its own store, gateway and portal (as
each worker of a host has), asking for the same contacts' checkout pages at the same
moment as the other workers.

It lives outside the test module so that ``multiprocessing``'s spawn start method
imports only this small module in each child.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from portal_access import PortalPolicy, SystemPortalOptions
from portal_access._portal import PortalAccess
from portal_access.adapters import ManualClock
from portal_access.ports import PaymentGateway
from portal_access.storage.sql import SqlStore

__all__ = ["PageReport", "WorkerIds", "open_pages"]

#: (worker index, [(contact id, page handed out, pages this worker's vendor closed)], errors)
PageReport = tuple[int, list[tuple[str, str, list[str]]], list[str]]


class WorkerIds:
    """Vendor ids unique to one worker (``cs_sbx_w2_0001``): each worker's sandbox is a
    vendor of its own, so two pages opened at once never share an id by chance."""

    def __init__(self, worker: int) -> None:
        self._worker, self._count = worker, 0

    def new_id(self, prefix: str) -> str:
        """``prefix`` + ``w<worker>_`` + a counter."""
        self._count += 1
        return f"{prefix}w{self._worker}_{self._count:04d}"


def _gateway(
    index: int, settings: dict[str, Any], clock: ManualClock
) -> tuple[PaymentGateway, Any]:
    """The worker's gateway, and its own sandbox vendor (Stripe: ``None``, one vendor for
    every worker, checked by the test)."""
    if settings["gateway"] == "sandbox":
        from portal_access.gateways.sandbox import SandboxGateway  # noqa: PLC0415
        from portal_access.testing.sandbox import SandboxVendor  # noqa: PLC0415

        secret = settings["secret"]
        vendor = SandboxVendor(webhook_secret=secret, clock=clock, ids=WorkerIds(index))  # type: ignore[arg-type]
        return SandboxGateway(vendor=vendor, webhook_secret=secret, clock=clock), vendor
    from portal_access.gateways.stripe import StripeGateway  # noqa: PLC0415

    return StripeGateway(api_key="sk_test_race", webhook_secret=settings["secret"], clock=clock,
                         api_base=settings["api_url"], max_network_retries=0), None  # fmt: skip


def _closed(vendor: Any) -> list[str]:
    """The pages this worker's own sandbox closed (its ``checkout.expired`` events)."""
    if vendor is None:
        return []
    events = [json.loads(body) for _headers, body in vendor.pending_deliveries()]
    return [e["data"]["object"]["id"] for e in events if e["type"] == "checkout.expired"]


def open_pages(
    index: int,
    url: str,
    contact_ids: list[str],
    settings: dict[str, Any],
    start: Any,
    results: Any,
) -> None:
    """For each contact: wait for every worker, then ask for its checkout page."""
    pages: list[tuple[str, str, list[str]]] = []
    errors: list[str] = []
    try:
        clock = ManualClock(settings["now"])
        gateway, vendor = _gateway(index, settings, clock)
        with SqlStore(url) as store:
            portal = PortalAccess(
                store=store,
                gateways=[gateway],
                clock=clock,
                policy=PortalPolicy(system=SystemPortalOptions(portal_url=settings["portal_url"])),
                development=True,  # a test: mail in memory
            )
            for contact_id in contact_ids:
                start.wait(timeout=120)
                try:
                    page = portal.start_checkout(
                        contact_id, success_url=settings["success"], cancel_url=settings["cancel"]
                    )
                except Exception:  # recorded: the test asserts there are none
                    errors.append(traceback.format_exc())
                    continue
                pages.append((contact_id, page.session_id, _closed(vendor)))
    except Exception:  # setting up failed: report it rather than hang the others
        start.abort()
        errors.append(traceback.format_exc())
    results.put((index, pages, errors))

"""``flask portal-access ...``: the outbox worker and the staff commands.

- ``deliver-outbox [--once] [--interval SECONDS]``: deliver emails and signals whose
  first delivery failed (a worker loop; ``--once`` for cron).
- ``reconcile --gateway NAME --since WHEN``: replay the gateway's events since WHEN
  through the webhook path, with a progress line, then what it repaired.
- ``void CONTACT_ID --staff NAME``: seed 000's "cancel required payment".
- ``invite CONTACT_ID --staff NAME``: mail a saved contact a portal invitation.

Staff commands run as the staff member named by ``--staff`` (recorded on the events)
with just the permission the command needs: whoever can run ``flask`` on the server
already holds every permission.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import click
from flask.cli import AppGroup

from portal_access import (
    PortalAccessError,
    ReconcileReport,
    StaffMember,
    StaffPermission,
    WebhookResult,
)
from portal_access.contrib.flask._state import app_state

__all__ = ["portal_access_cli"]


def _since(_ctx: click.Context, _param: click.Parameter, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("ISO 8601 with an offset, e.g. 2026-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no UTC offset (add Z or +00:00)")
    return moment


def _as_staff(name: str, permission: StaffPermission, act: Callable[[StaffMember], str]) -> None:
    """Run ``act`` as staff member ``name`` holding ``permission``; echo what it says."""
    try:
        member = StaffMember(id=f"cli:{name}", name=name, permissions=frozenset({permission}))
        said = act(member)
    except PortalAccessError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(said)


class _Progress:
    """One line on stderr, redrawn per event: a moving bar and the counts so far."""

    WIDTH = 24

    def __init__(self) -> None:
        self.repaired = 0

    def __call__(self, count: int, result: WebhookResult) -> None:
        self.repaired += result.applied
        filled = count % (self.WIDTH + 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        click.echo(f"\r[{bar}] {count} events, {self.repaired} repaired", nl=False, err=True)


def _report(report: ReconcileReport) -> None:
    click.echo("", err=True)
    click.echo(
        f"{report.gateway} since {report.since.isoformat()}: {report.seen} events, "
        f"{report.repaired} repaired, {report.duplicates} already processed, "
        f"{report.ignored} ignored"
    )
    for result in report.results:
        if result.applied:
            click.echo(f"  repaired {result.event_id} ({result.event_type})")


def portal_access_cli() -> AppGroup:
    """The ``portal-access`` command group (the extension adds it to ``app.cli``)."""
    group = AppGroup("portal-access", help="portal-access: outbox worker and staff commands.")

    @group.command("deliver-outbox")
    @click.option("--once", is_flag=True, help="One pass, then exit (for cron).")
    @click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
    def deliver_outbox(*, once: bool, interval: float) -> None:
        """Deliver emails and signals whose earlier delivery failed."""
        portal = app_state().portal
        while True:
            delivered = portal.deliver_outbox()
            if delivered or once:
                click.echo(f"delivered {delivered} message(s)")
            if once:
                return
            time.sleep(interval)

    @group.command()
    @click.option("--gateway", required=True, help="The gateway's name, e.g. stripe.")
    @click.option("--since", required=True, callback=_since, help="ISO 8601 with an offset.")
    def reconcile(*, gateway: str, since: datetime) -> None:
        """Replay a gateway's events since a moment (repairs missed webhooks)."""
        try:
            report = app_state().portal.reconcile(gateway, since=since, progress=_Progress())
        except PortalAccessError as exc:
            raise click.ClickException(str(exc)) from exc
        _report(report)

    @group.command()
    @click.argument("contact_id")
    @click.option("--staff", required=True, help="Who is doing this (kept on the events).")
    def void(*, contact_id: str, staff: str) -> None:
        """Cancel a contact's required payment: void the invoice, grant access."""

        def void_it(member: StaffMember) -> str:
            invoice_id = app_state().portal.cancel_required_payment(contact_id, staff=member)
            return f"voided invoice {invoice_id}; {contact_id} has access"

        _as_staff(staff, StaffPermission.CANCEL_REQUIRED_PAYMENT, void_it)

    @group.command()
    @click.argument("contact_id")
    @click.option("--staff", required=True, help="Who is doing this (kept on the events).")
    def invite(*, contact_id: str, staff: str) -> None:
        """Mail a saved contact an invitation to the portal."""

        def invite_them(member: StaffMember) -> str:
            app_state().portal.invite_contact(contact_id, staff=member)
            return f"invited {contact_id}"

        _as_staff(staff, StaffPermission.INVITE_CONTACTS, invite_them)

    return group

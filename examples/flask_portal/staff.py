"""Northwind's staff pages: offers (kickoff forms), the mail outbox, recent activity.

A real host has its own staff login and back office; this one is a password in
``STAFF_PASSWORD`` and three pages, enough to run the portal end to end.
"""

from __future__ import annotations

import hmac
import re
from collections import deque
from collections.abc import Callable
from functools import wraps

import attrs
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from portal_access import Charge, Money, Offer, Plan, PortalAccess, PortalAccessError
from portal_access.adapters import MemoryMailer
from portal_access.ports import Mailer

_LINK = re.compile(r"(https?://\S+)")


@attrs.define
class Activity:
    """What the staff pages list: the offers made here, the mail, recent events."""

    offers: dict[str, str]  # offer id -> name
    mailer: Mailer
    notes: deque[str] = attrs.field(factory=lambda: deque(maxlen=20))

    def note(self, text: str) -> None:
        """Remember an event for the staff home page."""
        self.notes.appendleft(text)


def _staff_only(view: Callable[[], ResponseReturnValue]) -> Callable[[], ResponseReturnValue]:
    @wraps(view)
    def checked() -> ResponseReturnValue:
        if not session.get("staff"):
            return redirect(url_for("staff.login"))
        return view()

    return checked


def staff_blueprint(portal: PortalAccess, activity: Activity, gateway: str) -> Blueprint:
    """The staff pages, bound to the app's portal."""
    staff = Blueprint("staff", __name__, template_folder="templates")

    @staff.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        if request.method == "POST":
            given = request.form.get("password", "").encode()
            if hmac.compare_digest(given, current_app.config["STAFF_PASSWORD"].encode()):
                session.clear()
                session["staff"] = True
                return redirect(url_for("staff.offers"), code=303)
            flash("Wrong staff password.", "error")
        return render_template("staff/login.html")

    @staff.route("/", methods=["GET", "POST"])
    @_staff_only
    def offers() -> ResponseReturnValue:
        if request.method == "POST":
            try:
                offer = _create_offer(portal, gateway)
            except (PortalAccessError, ValueError) as exc:
                flash(f"Could not save the offer: {exc}", "error")
            else:
                activity.offers[offer.id] = offer.name
                flash("Offer saved. Share its sign-up link with your clients.", "success")
            return redirect(url_for("staff.offers"), code=303)
        return render_template("staff/offers.html", offers=activity.offers, notes=activity.notes)

    @staff.get("/outbox")
    @_staff_only
    def outbox() -> ResponseReturnValue:
        sent = activity.mailer.sent if isinstance(activity.mailer, MemoryMailer) else None
        messages = [(m, _LINK.split(m.text)) for m in reversed(sent or [])]
        return render_template("staff/outbox.html", messages=messages, kept=sent is not None)

    @staff.post("/logout")
    def logout() -> ResponseReturnValue:
        session.clear()
        return redirect(url_for("staff.login"), code=303)

    return staff


def _create_offer(portal: PortalAccess, gateway: str) -> Offer:
    form = request.form
    name = form.get("name", "").strip()
    offer_id = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "offer"
    setup = form.get("setup_fee", "").strip()
    monthly = form.get("monthly", "").strip()
    plan_id = f"{offer_id}-monthly"
    return portal.create_offer(
        name,
        offer_id=offer_id,
        gateway=gateway,
        currency="USD",
        one_time=Charge(form.get("setup_name") or "Setup", Money.parse(setup, "USD"))
        if setup
        else None,
        plan=Plan(id=plan_id, name=f"{name}, monthly", amount=Money.parse(monthly, "USD"))
        if monthly
        else None,
        invite="immediately" if form.get("invite") else "later",
        account_class_id="clients",
    )

"""Single-use links die with what they were for: a changed email, a password set by any
route, a newer link of the same purpose used (docs/security.md "Links and their death").

Each scenario is an account takeover the old links allowed; each runs on every store.
"""

from __future__ import annotations

import attrs
import pytest

from portal_access import EmailAddress, InvalidTokenError, TokenAlreadyUsedError
from portal_access.repositories import unit_of_work
from tests.service.harness import (
    ADMIN,
    CANCEL,
    CLIENT,
    PASSWORD,
    SUCCESS,
    Harness,
    build,
    paid_offer,
    sign_up,
)
from tests.service.stores import store

__all__ = ["store"]

NEW_PASSWORD = "an entirely new passphrase"


def tokens(harness: Harness, address: str, path: str) -> list[str]:
    """Every token of a ``path`` link mailed to ``address``, oldest first."""
    found = []
    for message in harness.mailer.to(address):
        for word in message.text.split():
            if path in word and "token=" in word:
                found.append(word.split("token=", 1)[1].rstrip("."))
    return found


def signed_up(store, email: str = "ann@example.com") -> tuple[Harness, str]:
    harness = build(store=store)
    paid_offer(harness)
    return harness, sign_up(harness, email=email).contact_id


def registered(store) -> tuple[Harness, str]:
    harness, contact_id = signed_up(store)
    (token,) = tokens(harness, "ann@example.com", "/portal/invitation")
    harness.portal.accept_invitation(token, PASSWORD)
    return harness, contact_id


def change_email(harness: Harness, contact_id: str, email: str) -> None:
    with unit_of_work(harness.store) as uow:
        contact = uow.contacts.get(contact_id)
    harness.portal.update_contact(attrs.evolve(contact, email=EmailAddress.parse(email)))


def test_an_invitation_to_a_corrected_address_dies(store):
    """An invitation mailed to a wrong address stops working once staff correct the email."""
    harness, contact_id = signed_up(store, email="ann@wrong.example")
    (stale,) = tokens(harness, "ann@wrong.example", "/portal/invitation")
    change_email(harness, contact_id, "ann@example.com")
    with pytest.raises(InvalidTokenError):
        harness.portal.view_invitation(stale)
    with pytest.raises(InvalidTokenError):
        harness.portal.accept_invitation(stale, PASSWORD)
    harness.portal.invite_contact(contact_id, staff=ADMIN)
    (fresh,) = tokens(harness, "ann@example.com", "/portal/invitation")
    assert harness.portal.accept_invitation(fresh, PASSWORD) == contact_id


def test_a_second_invitation_dies_when_the_first_registers(store):
    """Of two invitations, the one not used cannot reset the password after registration."""
    harness, contact_id = signed_up(store)
    harness.portal.invite_contact(contact_id, staff=ADMIN)
    first, second = tokens(harness, "ann@example.com", "/portal/invitation")
    harness.portal.accept_invitation(second, PASSWORD)
    with pytest.raises(InvalidTokenError):
        harness.portal.accept_invitation(first, "the attacker's password")
    assert harness.portal.log_in("ann@example.com", PASSWORD, client_key=CLIENT)


def test_inviting_a_registered_contact_sends_no_password_link(store):
    """An invitation to a registered contact leads to log in / reset, never to a new password."""
    harness, contact_id = registered(store)
    harness.mailer.sent.clear()
    harness.portal.invite_contact(contact_id, staff=ADMIN)
    (message,) = harness.mailer.to("ann@example.com")
    assert "token=" not in message.text
    assert "Having trouble?" in message.text
    assert "https://portal.example" in message.text


def test_an_older_reset_link_dies_when_a_newer_one_is_used(store):
    """Using a reset link retires every older reset link of the contact."""
    harness, _contact_id = registered(store)
    harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
    harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
    older, newer = tokens(harness, "ann@example.com", "/portal/reset-password")
    harness.portal.set_password(newer, NEW_PASSWORD)
    with pytest.raises(InvalidTokenError):
        harness.portal.set_password(older, "the attacker's password")
    with pytest.raises(TokenAlreadyUsedError):
        harness.portal.set_password(newer, "the attacker's password")


@pytest.mark.parametrize("route", ["change_password", "temporary_password", "email_change"])
def test_a_reset_link_dies_when_the_password_or_email_changes(store, route):
    """A password set by any route, or a new email, retires every outstanding link."""
    harness, contact_id = registered(store)
    harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
    (reset,) = tokens(harness, "ann@example.com", "/portal/reset-password")
    if route == "change_password":
        harness.portal.change_password("ann@example.com", PASSWORD, NEW_PASSWORD, client_key=CLIENT)
    elif route == "temporary_password":
        harness.portal.set_temporary_password(contact_id, "Temporary-Pass-42", staff=ADMIN)
    else:
        change_email(harness, contact_id, "ann@new.example")
    with pytest.raises(InvalidTokenError):
        harness.portal.view_password_link(reset)
    with pytest.raises(InvalidTokenError):
        harness.portal.set_password(reset, "the attacker's password")


def test_a_set_password_link_dies_when_an_invitation_registers(store):
    """Portal instructions (seed 003_11ad6fb0c789d951.txt) stop working once the contact registered another way."""
    harness, contact_id = signed_up(store)
    harness.portal.send_portal_instructions(contact_id, staff=ADMIN)
    (instructions,) = tokens(harness, "ann@example.com", "/portal/set-password")
    (invitation,) = tokens(harness, "ann@example.com", "/portal/invitation")
    harness.portal.accept_invitation(invitation, PASSWORD)
    with pytest.raises(InvalidTokenError):
        harness.portal.set_password(instructions, "the attacker's password")


def lapsed(store) -> tuple[Harness, str]:
    """A registered client who paid, then whose renewal failed (re-subscribe only)."""
    harness, contact_id = registered(store)
    session = harness.portal.start_checkout(contact_id, success_url=SUCCESS, cancel_url=CANCEL)
    harness.sandbox.pay(session.session_id)
    harness.deliver()
    (subscription,) = harness.sandbox.subscription_ids(contact_id)
    harness.advance(days=31)
    harness.sandbox.renew(subscription, succeed=False)
    harness.deliver()
    return harness, contact_id


def test_using_a_link_retires_older_links_of_its_purpose_only(store):
    """Seed 000_07c53b15302458c1.txt re-subscribe links: using the newer one retires the
    older one, while the reset link mailed with it (another purpose) still works."""
    harness, contact_id = lapsed(store)
    harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
    harness.portal.having_trouble("ann@example.com", client_key=CLIENT)
    older, newer = tokens(harness, "ann@example.com", "/portal/resubscribe")
    harness.portal.resubscribe(newer, success_url=SUCCESS, cancel_url=CANCEL)
    with pytest.raises(InvalidTokenError):
        harness.portal.view_resubscribe(older)
    reset = tokens(harness, "ann@example.com", "/portal/reset-password")[-1]
    assert harness.portal.set_password(reset, NEW_PASSWORD) == contact_id
    assert harness.portal.log_in("ann@example.com", NEW_PASSWORD, client_key=CLIENT)

"""Keeping each contact's :class:`AccessState` current, in the same unit of work as the
change that affects it, and emitting what changed (access, onboarding)."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from portal_access._domain.access import AccessState, decide, onboarding_due
from portal_access._domain.audit import AuditAction
from portal_access._domain.errors import NotFoundError
from portal_access._domain.events import AccessChanged, OnboardingDue
from portal_access._domain.validation import ensure_identifier
from portal_access._service import audit_trail
from portal_access._service.context import Work

__all__ = ["change_access", "create_access", "require_access_state"]


def require_access_state(work: Work, contact_id: str) -> AccessState:
    """The contact's access state in this unit of work.

    Raises:
        NotFoundError: no such contact.
        ValidationError: ``contact_id`` is not an id.
    """
    state = work.uow.access.get(ensure_identifier(contact_id, field="contact_id"))
    if state is None:
        raise NotFoundError("contact", contact_id)
    return state


def create_access(work: Work, state: AccessState) -> AccessState:
    """Store a new contact's first state (onboarding may be due at once)."""
    state = _start_onboarding_if_due(work, state)
    return work.uow.access.save(state, expected_version=None)


def change_access(
    work: Work,
    contact_id: str,
    change: Callable[[AccessState], AccessState],
    *,
    current: AccessState | None = None,
) -> AccessState:
    """Apply ``change`` to the contact's state, save it (row-versioned), and emit
    ``AccessChanged`` (with an audit trail entry by ``work.actor``) when the decision
    moved and ``OnboardingDue`` when it became due.

    ``current`` is the state as this unit of work read it, if it did (saves reading it
    again; the row version still guards the save).

    Raises:
        NotFoundError: no such contact.
        StaleStateError: another worker changed the row first (the runner retries).
    """
    assert current is None or current.contact_id == contact_id
    before = current if current is not None else require_access_state(work, contact_id)
    after = _start_onboarding_if_due(work, change(before))
    if after == before:
        return before
    if after.version != before.version:  # a change that rebuilt the state from scratch
        after = attrs.evolve(after, version=before.version)
    saved = work.uow.access.save(after, expected_version=before.version)
    now, policy = work.context.clock.now(), work.context.policy
    old, new = decide(before, policy, now), decide(saved, policy, now)
    if (old.level, old.reason) != (new.level, new.reason):
        work.emit(
            AccessChanged(
                contact_id=contact_id,
                previous_level=old.level.value,
                level=new.level.value,
                reason=new.reason.value,
            )
        )
        audit_trail.record(
            work,
            AuditAction.ACCESS_CHANGED,
            reason=new.reason.value,
            contact_id=contact_id,
            account_id=saved.account_id,
            details={
                "previous_level": old.level.value,
                "previous_reason": old.reason.value,
                "level": new.level.value,
            },
        )
    return saved


def _start_onboarding_if_due(work: Work, state: AccessState) -> AccessState:
    if not onboarding_due(state):
        return state
    assert state.onboarding_flow is not None
    work.emit(OnboardingDue(contact_id=state.contact_id, flow=state.onboarding_flow))
    return attrs.evolve(state, onboarding_started=True)

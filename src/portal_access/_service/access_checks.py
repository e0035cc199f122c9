"""``check_access``: the hot path, run on every portal page a contact opens.

One indexed read of the contact's access state, then the pure :func:`decide`. The
decision is cached per ``(contact, state version)``: a state only changes by a write,
which bumps its version, and a decision only changes by time at its ``valid_until``, so
a cached decision is reused exactly while both hold.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from portal_access._domain.access import AccessDecision, AccessState, decide
from portal_access._domain.errors import NotFoundError
from portal_access._domain.validation import ensure_identifier
from portal_access._service.context import ServiceContext
from portal_access.repositories import read_access_state

__all__ = ["DecisionCache", "check_access"]


class DecisionCache:
    """A bounded LRU of decisions keyed by ``(contact_id, version)``.

    Args:
        size: how many contacts' decisions to keep.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[int, AccessDecision]] = OrderedDict()
        self._lock = threading.Lock()

    def decision(self, context: ServiceContext, state: AccessState) -> AccessDecision:
        """The decision for ``state`` now, from the cache when still valid."""
        entry = self._entries.get(state.contact_id)
        if entry is not None and entry[0] == state.version:
            decision = entry[1]
            if decision.valid_until is None:  # only a write changes it: no clock to read
                return decision
            now = context.clock.now()
            if now < decision.valid_until:
                return decision
        else:
            now = context.clock.now()
        decision = decide(state, context.policy, now)
        with self._lock:
            self._entries[state.contact_id] = (state.version, decision)
            self._entries.move_to_end(state.contact_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return decision


def check_access(
    context: ServiceContext, contact_id: str, cache: DecisionCache | None = None
) -> AccessDecision:
    """What the contact may see and do now.

    Raises:
        NotFoundError: no such contact.
        ValidationError: ``contact_id`` is not an id.
    """
    state = read_access_state(context.store, ensure_identifier(contact_id, field="contact_id"))
    if state is None:
        raise NotFoundError("contact", contact_id)
    if cache is None:
        return decide(state, context.policy, context.clock.now())
    return cache.decision(context, state)

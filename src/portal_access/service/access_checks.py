"""``check_access``: the hot path, run on every portal page a contact opens.

One indexed read of the contact's access state, then the pure :func:`decide`.
"""

from __future__ import annotations

from portal_access.domain.access import AccessDecision, decide
from portal_access.domain.errors import NotFoundError
from portal_access.service.context import ServiceContext

__all__ = ["check_access"]


def check_access(context: ServiceContext, contact_id: str) -> AccessDecision:
    """What the contact may see and do now.

    Raises:
        NotFoundError: no such contact.
    """
    state = context.store.read_access_state(contact_id)
    if state is None:
        raise NotFoundError("contact", contact_id)
    return decide(state, context.policy, context.clock.now())

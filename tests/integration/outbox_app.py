"""A host's portal factory for the operator command tests (``--app
tests.integration.outbox_app:build_portal``): a SQL store at ``$OUTBOX_APP_URL``,
mail appended to the file ``$OUTBOX_APP_SENT``."""

from __future__ import annotations

import os
from pathlib import Path

from portal_access import OutboxSettings, PortalAccess
from portal_access.storage.sql import SqlStore
from tests.integration.outbox_workers import FileMailer, portal_for

__all__ = ["build_portal"]


def build_portal() -> PortalAccess:
    """The portal, as a host's factory builds it in each process."""
    mailer = FileMailer(Path(os.environ["OUTBOX_APP_SENT"]))
    return portal_for(SqlStore(os.environ["OUTBOX_APP_URL"]), mailer, OutboxSettings(batch=5))

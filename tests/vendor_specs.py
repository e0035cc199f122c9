"""Where the vendors' published API descriptions are: ``../shared/vendor`` beside the
project, or ``$PORTAL_ACCESS_VENDOR_SPECS``. Tests that need them skip, with a reason,
where they are absent."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["vendor_root"]


def vendor_root() -> Path | None:
    """The folder of the vendors' descriptions, or ``None`` when it is not here."""
    configured = os.environ.get("PORTAL_ACCESS_VENDOR_SPECS")
    root = Path(__file__).resolve().parent.parent
    folder = Path(configured) if configured else root.parent / "shared" / "vendor"
    return folder if folder.is_dir() else None

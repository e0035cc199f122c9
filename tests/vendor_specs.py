"""Where the vendors' published API descriptions are, for tests that check our test
doubles and requests against them (skipped, with a reason, where they are absent)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["vendor_folder"]


def vendor_folder(probe: str = "stripe/fixtures3.json") -> Path | None:
    """The folder of the vendors' descriptions (``../shared/vendor`` beside the project,
    or ``$PORTAL_ACCESS_VENDOR_SPECS``) when it holds ``probe``, else ``None``."""
    configured = os.environ.get("PORTAL_ACCESS_VENDOR_SPECS")
    root = Path(__file__).resolve().parent.parent
    folder = Path(configured) if configured else root.parent / "shared" / "vendor"
    return folder if (folder / probe).is_file() else None

"""The public API is exactly what docs/api.md documents (as httpx's test_exported_members)."""

from __future__ import annotations

import re
from pathlib import Path

import portal_access

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_all_matches_the_documented_names():
    """docs/architecture.md: portal_access.__all__ is exactly the documented public names."""
    documented = set(re.findall(r"^- `([A-Za-z_]+)`", API_DOC.read_text(encoding="utf-8"), re.M))
    assert set(portal_access.__all__) == documented


def test_every_exported_name_exists_and_is_documented_in_code():
    """docs/architecture.md: every public name has a docstring."""
    for name in portal_access.__all__:
        obj = getattr(portal_access, name)
        if isinstance(obj, frozenset):
            continue
        assert (obj.__doc__ or "").strip(), name

"""The README's example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import portal_access as pa

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_runs():
    """README: the first Python example decides PAY_INVOICE_ONLY for an open invoice."""
    block = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None
    namespace: dict[str, object] = {}
    exec(compile(block.group(1), str(README), "exec"), namespace)
    decision = namespace["decision"]
    assert isinstance(decision, pa.AccessDecision)
    assert decision.level is pa.AccessLevel.PAY_INVOICE_ONLY

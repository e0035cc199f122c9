"""The README's example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import portal_access as pa

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_runs():
    """README: the decision example decides PAY_INVOICE_ONLY for an open invoice."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    block = next((b for b in blocks if "pa.decide(" in b), None)
    assert block is not None
    namespace: dict[str, object] = {}
    exec(compile(block, str(README), "exec"), namespace)
    decision = namespace["decision"]
    assert isinstance(decision, pa.AccessDecision)
    assert decision.level is pa.AccessLevel.PAY_INVOICE_ONLY

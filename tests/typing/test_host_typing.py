"""A host's webhook code type-checks under ``mypy --strict`` with the header objects
hosts have (issue #13, item 6), and a wrong one does not (so the check can fail)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--config-file", str(ROOT / "pyproject.toml"), str(path)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip


@pytest.mark.slow
def test_host_webhook_code_passes_mypy_strict():
    result = mypy(HERE / "host_webhooks.py")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_a_header_object_of_bytes_fails_mypy_strict(tmp_path: Path):
    wrong = tmp_path / "wrong_headers.py"
    wrong.write_text(
        "import portal_access as pa\n\n\n"
        "def view(portal: pa.PortalAccess, body: bytes) -> None:\n"
        "    portal.handle_webhook('stripe', {b'Stripe-Signature': b'x'}, body)\n"
        "    portal.handle_webhook('stripe', {'Stripe-Signature': 'x'}, 'text body')\n"
    )
    result = mypy(wrong)
    assert result.returncode == 1
    assert result.stdout.count("error:") == 2, result.stdout

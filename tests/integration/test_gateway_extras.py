"""Each gateway loads its vendor's SDK only when imported, and says how to install it."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("gateway", "sdk"), [("stripe", "stripe"), ("square", "square"), ("paypal", "paypalserversdk")]
)
def test_importing_a_gateway_without_its_sdk_names_the_extra(gateway, sdk):
    """Without the SDK the import fails saying pip install "portal-access[<gateway>]"."""
    code = f"import sys; sys.modules[{sdk!r}] = None\nimport portal_access.gateways.{gateway}"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert f'pip install "portal-access[{gateway}]"' in result.stderr

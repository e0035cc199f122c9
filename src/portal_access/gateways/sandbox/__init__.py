"""The sandbox gateway: an in-process, deterministic payment vendor and its adapter.

It is the template for every real gateway (``gateway.py``, ``webhooks.py``,
``mapping.py``); ``vendor.py``, ``simulator.py`` and ``objects.py`` play the vendor's
servers, which a real gateway reaches through the vendor's SDK instead.
"""

from portal_access.gateways.sandbox._gateway import SandboxGateway

__all__ = ["SandboxGateway"]

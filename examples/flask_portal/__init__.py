"""Northwind Facility Services' customer portal, an example host of portal-access.

``create_app`` (in :mod:`.app`) builds it; ``python -m portal_access demo --serve``
runs it on a fresh database with the sandbox gateway.
"""

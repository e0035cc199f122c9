"""What users import in *their* tests: hypothesis strategies and (later) contract suites.

Nothing here is imported by ``import portal_access``; it needs ``hypothesis``
(``pip install "portal-access[testing]"``).
"""

__all__: list[str] = []

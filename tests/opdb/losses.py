"""Op database entries: losses (see opdb/__init__.py)."""

ENTRIES: list = []

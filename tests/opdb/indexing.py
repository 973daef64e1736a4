"""Op database entries: indexing (see opdb/__init__.py)."""

ENTRIES: list = []
